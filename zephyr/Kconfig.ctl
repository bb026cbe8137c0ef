# SPDX-License-Identifier: Apache-2.0
# Interface control (zephyr/src/w5500_ctl.c, include/w5500_offload/w5500_offload.h).

config W5500_OFFLOAD_RETRY_TIME_100US
	int "Retransmission time (RTR, units of 100 us)"
	default 2000
	range 1 65535
	help
	  The chip's retry time register RTR (Adafruit's rtr): the first
	  retransmission timeout of TCP segments and ARP requests, doubled on
	  each retry. 2000 (200 ms) is the chip's reset value. Changeable at run
	  time with w5500_offload_set_retry().

config W5500_OFFLOAD_RETRY_COUNT
	int "Retransmission count (RCR)"
	default 8
	range 0 255
	help
	  The chip's retry count register RCR (Adafruit's rcr): retransmissions
	  before a TCP connect or send fails with ETIMEDOUT (ARP: EHOSTUNREACH).
	  8 is the chip's reset value (about 31.8 s with RTR 200 ms for TCP).

config W5500_OFFLOAD_DHCP_HOSTNAME_ZEPHYR
	bool "DHCP host name from Zephyr's hostname"
	default y if NET_HOSTNAME_ENABLE
	depends on NET_HOSTNAME_ENABLE && W5500_OFFLOAD_DHCP
	help
	  Send Zephyr's hostname (net_hostname_get(), CONFIG_NET_HOSTNAME, with
	  the MAC appended in hex under CONFIG_NET_HOSTNAME_UNIQUE) in DHCP
	  option 12 instead of W5500_OFFLOAD_DHCP_HOSTNAME. "{}" in it is
	  replaced by the last three MAC bytes, as in the template.
