/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Public API of the W5500 offload driver: interface control that Zephyr's own net_if
 *        calls cannot give on an offloaded interface (see docs/SEMANTICS.md).
 *
 * Zephyr's calls do most of it: net_if_up()/net_if_down() (admin state: the chip's sockets
 * are closed and the PHY powered down, or powered up and DHCP restarted), net_if_is_up(),
 * net_if_is_carrier_ok() (PHY link), net_if_get_link_addr() (the MAC), the net_mgmt events
 * NET_EVENT_IPV4_ADDR_ADD/DEL, NET_EVENT_IPV4_DHCP_BOUND and NET_EVENT_L4_CONNECTED, and
 * net_hostname_get() (sent as DHCP option 12 with CONFIG_W5500_OFFLOAD_DHCP_HOSTNAME_ZEPHYR).
 * What they cannot do on this interface, these functions do:
 * - net_if_ipv4_addr_add()/rm(), net_if_ipv4_set_gw(), net_if_ipv4_set_netmask*() are
 *   compiled only with the native IPv4 stack in Zephyr 3.4 (CONFIG_NET_NATIVE=n removes
 *   them), and where they exist they are bookkeeping only: nothing tells an offloaded
 *   interface's driver that an application added an address. Use w5500_offload_set_ipv4().
 * - net_dhcpv4_start()/stop() drive Zephyr's native client (CONFIG_NET_DHCPV4 needs the
 *   native IPv4 stack); the chip's DHCP client is the driver's: w5500_offload_dhcp_start()/
 *   w5500_offload_dhcp_stop().
 * - dns_resolve_reconfigure() configures Zephyr's resolver, which getaddrinfo() does not use
 *   when the driver's DNS offload is registered: w5500_offload_set_dns_servers().
 * - No Zephyr API reads PHY speed/duplex of an offloaded interface, nor the chip's
 *   retransmission registers (RTR/RCR) or free hardware sockets.
 *
 * `dev` is the wiznet,w5500-offload device (DEVICE_DT_GET(DT_NODELABEL(...))), or NULL for
 * the one instance of the image. Every function returns 0 (or a count) on success, or a
 * negative errno: -ENODEV when the device is not this driver's or did not initialise.
 */

#ifndef W5500_OFFLOAD_W5500_OFFLOAD_H_
#define W5500_OFFLOAD_W5500_OFFLOAD_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/device.h>
#include <zephyr/net/net_if.h>

#include <w5500_offload/compat.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Hardware sockets of the chip (Adafruit's max_sockets). */
#define W5500_OFFLOAD_HW_SOCKETS 8

/** Largest UDP payload the chip sends or receives in one datagram: it does not fragment
 *  (1500-byte MTU - 20 IPv4 - 8 UDP).
 */
#define W5500_OFFLOAD_UDP_MAX 1472

/** The IPv4 configuration and how it was obtained (MicroPython ipconfig('addr4'),
 *  ipconfig('gw4'), ipconfig('has_dhcp4'); Adafruit ifconfig, maintain_dhcp_lease).
 */
struct w5500_offload_lease {
	/** Address, netmask, gateway on the chip (all zero: none). */
	w5_in_addr_t addr;
	w5_in_addr_t netmask;
	w5_in_addr_t gateway;
	/** DHCP server that granted the lease (zero: none). */
	w5_in_addr_t server;
	/** The address came from DHCP (else static, or none). */
	bool from_dhcp;
	/** DHCP is enabled (runs while up and no static address is set). */
	bool dhcp_enabled;
	/** A static address is set (it stops DHCP). */
	bool has_static;
	/** Lease, T1, T2 and the time left, in seconds (0 without a lease). */
	uint32_t lease_s;
	uint32_t t1_s;
	uint32_t t2_s;
	uint32_t remaining_s;
};

/** PHY link (MicroPython status(), Adafruit link_status). */
struct w5500_offload_link {
	/** PHYCFGR.LNK: a cable and a link partner. */
	bool up;
	/** 10 or 100 (0 while down). */
	uint16_t speed_mbps;
	/** PHYCFGR.DPX. */
	bool full_duplex;
};

/** The network interface of the device (NULL: none). */
struct net_if *w5500_offload_iface(const struct device *dev);

/**
 * Set a static IPv4 configuration: programmed into the chip at once and DHCP stops (its
 * address is removed first, without a RELEASE). @p addr NULL (or 0.0.0.0) removes the static
 * configuration; DHCP then starts again if it is enabled. @p netmask NULL: 255.255.255.0;
 * @p gw NULL: none. -EINVAL for a multicast, broadcast or loopback address.
 */
int w5500_offload_set_ipv4(const struct device *dev, const w5_in_addr_t *addr,
			   const w5_in_addr_t *netmask, const w5_in_addr_t *gw);

/** Enable DHCP: replaces a static address, starts once the link is up. Does not wait for a
 *  lease (wait for NET_EVENT_IPV4_DHCP_BOUND or NET_EVENT_IPV4_ADDR_ADD).
 */
int w5500_offload_dhcp_start(const struct device *dev);

/** Disable DHCP (no RELEASE, as net_dhcpv4_stop()); the configured static address (Kconfig
 *  W5500_OFFLOAD_STATIC_IPV4_*), if any, takes over.
 */
int w5500_offload_dhcp_stop(const struct device *dev);

/** The IPv4 configuration and lease. */
int w5500_offload_get_lease(const struct device *dev, struct w5500_offload_lease *out);

/** Replace the DNS servers asked after the ones DHCP gives (at most 2 are kept; @p n 0
 *  clears them). Takes effect for the next getaddrinfo().
 */
int w5500_offload_set_dns_servers(const struct device *dev, const w5_in_addr_t *servers, size_t n);

/** The DNS servers in use (DHCP's first, then the configured ones): how many were written
 *  to @p servers (at most @p max).
 */
int w5500_offload_get_dns_servers(const struct device *dev, w5_in_addr_t *servers, size_t max);

/** Set the DHCP host name (option 12) from a template: "{}" becomes the last three MAC
 *  bytes in upper-case hex. Applied when DHCP next starts (set it before net_if_up(), or
 *  take the interface down and up). NULL or "": no option 12.
 */
int w5500_offload_set_hostname(const struct device *dev, const char *tmpl);

/** The host name DHCP sends, NUL-terminated: its length, or -EMSGSIZE. */
int w5500_offload_get_hostname(const struct device *dev, char *buf, size_t len);

/** PHY link state, speed and duplex. */
int w5500_offload_get_link(const struct device *dev, struct w5500_offload_link *out);

/** Retransmission timing (RTR in 100 us units, RCR retries; Adafruit rtr/rcr). A TCP peer
 *  that stops answering fails the call with ETIMEDOUT after the chip's retries.
 */
int w5500_offload_set_retry(const struct device *dev, uint16_t time_100us, uint8_t count);
int w5500_offload_get_retry(const struct device *dev, uint16_t *time_100us, uint8_t *count);

/** Hardware sockets an application can still open (8 minus those in use minus those
 *  reserved for DHCP/DNS).
 */
int w5500_offload_free_sockets(const struct device *dev);

/** MicroPython isconnected(): admin up, carrier (PHY link) and an IPv4 address. */
bool w5500_offload_is_connected(const struct device *dev);

#ifdef __cplusplus
}
#endif

#endif /* W5500_OFFLOAD_W5500_OFFLOAD_H_ */
