# SPDX-License-Identifier: Apache-2.0
#
# Configure-time checks of an image with the driver: options that Kconfig accepts but that
# do not work with offloaded sockets stop here with what to do instead, not as a compile
# error deep inside Zephyr or a silent 30 s wait at boot.

include_guard(GLOBAL)

# Zephyr 3.x, offload-only image (CONFIG_NET_NATIVE=n): these native-stack options are not
# hidden by their dependencies there but do not compile or link without the native stack
# (seen on 3.4.99, "Kconfig holes"). On 4.x their dependencies are not checked here.
# (CONFIG_NET_TCP=y with its default CONFIG_NET_TCP_ISN_RFC6528=y builds on 3.4.99 when the
# mbedtls module is present; without it Kconfig itself stops, before this file runs.)
if(NOT CONFIG_NET_NATIVE AND KERNEL_VERSION_MAJOR LESS 4)
  set(w5500_hole_NET_DHCPV4 "Zephyr's DHCPv4 client is part of the native IPv4 stack. The \
driver has its own DHCP client on the chip: set CONFIG_NET_DHCPV4=n and keep \
CONFIG_W5500_OFFLOAD_DHCP=y.")
  set(w5500_hole_NET_SHELL "Zephyr's net shell reads the native stack's state. Set \
CONFIG_NET_SHELL=n; the driver's shell commands 'w5500 status' and 'w5500 sockets' \
(CONFIG_SHELL=y, CONFIG_W5500_OFFLOAD_SHELL) show the interface and the sockets.")
  set(w5500_hole_NET_L2_ETHERNET "Zephyr's Ethernet L2 needs the native stack's packet code \
(it fails to link without it). Set CONFIG_NET_L2_ETHERNET=n, which also keeps the board's own \
Ethernet driver off; the offloaded interface does not use it.")
  foreach(opt NET_DHCPV4 NET_SHELL NET_L2_ETHERNET)
    if(CONFIG_${opt})
      message(FATAL_ERROR "w5500-offload: CONFIG_${opt}=y does not build on Zephyr \
${KERNEL_VERSION_STRING} with CONFIG_NET_NATIVE=n (offload-only image): \
${w5500_hole_${opt}}")
    endif()
  endforeach()
endif()

# net_config (CONFIG_NET_CONFIG_SETTINGS / NET_CONFIG_AUTO_INIT) learns of an IPv4 address
# only from the native stack's own setup and DHCP code (subsys/net/lib/config/init.c, 3.4 and
# 4.x): with CONFIG_NET_NATIVE=n it waits CONFIG_NET_CONFIG_INIT_TIMEOUT for nothing.
if(CONFIG_NET_CONFIG_NEED_IPV4 AND NOT CONFIG_NET_NATIVE)
  message(WARNING "w5500-offload: CONFIG_NET_CONFIG_NEED_IPV4=y with CONFIG_NET_NATIVE=n: \
net_config never hears of the address the driver sets and delays boot by \
CONFIG_NET_CONFIG_INIT_TIMEOUT (${CONFIG_NET_CONFIG_INIT_TIMEOUT} s), then reports a timeout. \
Set CONFIG_NET_CONFIG_NEED_IPV4=n and wait for NET_EVENT_L4_CONNECTED \
(CONFIG_NET_CONNECTION_MANAGER) or NET_EVENT_IPV4_ADDR_ADD instead (README).")
endif()
