/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Public interface control of the W5500 offload driver (w5500_offload.h): static
 *        IPv4, DHCP on/off, lease, DNS servers, host name, link, retry registers, free
 *        hardware sockets. Thin: the work is in rust/w5500-zephyr/src/ctl.rs, under the
 *        driver's interface lock; address changes reach the net_if as events (worker).
 */

#include <errno.h>
#include <string.h>

#include <zephyr/device.h>
#include <zephyr/logging/log.h>
#include <zephyr/net/hostname.h>
#include <zephyr/net/net_if.h>

#include <w5500_offload/w5500_offload.h>

#include "w5500_priv.h"

LOG_MODULE_DECLARE(w5500_offload, CONFIG_W5500_OFFLOAD_LOG_LEVEL);

static struct w5500_offload_data *instance(const struct device *dev)
{
	struct w5500_offload_data *d = w5500_offload_instance;

	if (d == NULL || !d->ready || (dev != NULL && dev->data != d)) {
		return NULL;
	}
	return d;
}

static int ret(int r)
{
	return r < 0 ? -w5500_offload_errno(-r) : r;
}

void w5500_offload_ctl_iface_init(struct w5500_offload_data *d)
{
	int r;

	ARG_UNUSED(d);
	r = w5500_rs_set_retry(CONFIG_W5500_OFFLOAD_RETRY_TIME_100US,
			       CONFIG_W5500_OFFLOAD_RETRY_COUNT);
	if (r < 0) {
		LOG_WRN("RTR/RCR not set: errno %d", w5500_offload_errno(-r));
	}
#if defined(CONFIG_W5500_OFFLOAD_DHCP_HOSTNAME_ZEPHYR)
	/* Zephyr's hostname (net_hostname_init ran in net_init before the interfaces); the
	 * native Ethernet L2 appends the link address under NET_HOSTNAME_UNIQUE, and so do we.
	 */
	(void)net_hostname_set_postfix(d->mac, sizeof(d->mac));
	(void)w5500_rs_set_hostname(net_hostname_get());
#endif
}

struct net_if *w5500_offload_iface(const struct device *dev)
{
	struct w5500_offload_data *d = instance(dev);

	return d != NULL ? d->iface : NULL;
}

int w5500_offload_set_ipv4(const struct device *dev, const w5_in_addr_t *addr,
			   const w5_in_addr_t *netmask, const w5_in_addr_t *gw)
{
	W5500RsIpv4 c = { 0 };

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	if (addr != NULL) {
		memcpy(c.addr, addr, 4);
		if (netmask != NULL) {
			memcpy(c.netmask, netmask, 4);
		} else {
			memcpy(c.netmask, ((uint8_t[]){ 255, 255, 255, 0 }), 4);
		}
		if (gw != NULL) {
			memcpy(c.gateway, gw, 4);
		}
	}
	return ret(w5500_rs_set_ipv4(&c));
}

int w5500_offload_dhcp_start(const struct device *dev)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_set_dhcp(true));
}

int w5500_offload_dhcp_stop(const struct device *dev)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_set_dhcp(false));
}

int w5500_offload_get_lease(const struct device *dev, struct w5500_offload_lease *out)
{
	W5500RsLease l;
	int r;

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	if (out == NULL) {
		return -EINVAL;
	}
	r = w5500_rs_lease(&l);
	if (r < 0) {
		return ret(r);
	}
	memset(out, 0, sizeof(*out));
	memcpy(&out->addr, l.ipv4.addr, 4);
	memcpy(&out->netmask, l.ipv4.netmask, 4);
	memcpy(&out->gateway, l.ipv4.gateway, 4);
	memcpy(&out->server, l.server, 4);
	out->from_dhcp = l.from_dhcp;
	out->dhcp_enabled = l.dhcp_enabled;
	out->has_static = l.has_static;
	out->lease_s = l.lease_s;
	out->t1_s = l.t1_s;
	out->t2_s = l.t2_s;
	out->remaining_s = l.remaining_s;
	return 0;
}

int w5500_offload_set_dns_servers(const struct device *dev, const w5_in_addr_t *servers, size_t n)
{
	uint8_t list[W5500_RS_DNS_MAX][4] = { 0 };

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	if (n > 0 && servers == NULL) {
		return -EINVAL;
	}
	n = MIN(n, (size_t)W5500_RS_DNS_MAX);
	for (size_t i = 0; i < n; i++) {
		memcpy(list[i], &servers[i], 4);
	}
	return ret(w5500_rs_set_dns_servers((const uint8_t(*)[4])list, n));
}

int w5500_offload_get_dns_servers(const struct device *dev, w5_in_addr_t *servers, size_t max)
{
	W5500RsStatus st;
	int r;

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	r = w5500_rs_status(&st);
	if (r < 0) {
		return ret(r);
	}
	for (size_t i = 0; i < st.n_dns && i < max && servers != NULL; i++) {
		memcpy(&servers[i], st.dns[i], 4);
	}
	return MIN((int)st.n_dns, (int)max);
}

int w5500_offload_set_hostname(const struct device *dev, const char *tmpl)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_set_hostname(tmpl));
}

int w5500_offload_get_hostname(const struct device *dev, char *buf, size_t len)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_hostname(buf, len));
}

int w5500_offload_get_link(const struct device *dev, struct w5500_offload_link *out)
{
	bool up = false, speed_100 = false, full = false;
	int r;

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	if (out == NULL) {
		return -EINVAL;
	}
	r = w5500_rs_link(&up, &speed_100, &full);
	if (r < 0) {
		return ret(r);
	}
	out->up = up;
	out->speed_mbps = up ? (speed_100 ? 100 : 10) : 0;
	out->full_duplex = up && full;
	return 0;
}

int w5500_offload_set_retry(const struct device *dev, uint16_t time_100us, uint8_t count)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_set_retry(time_100us, count));
}

int w5500_offload_get_retry(const struct device *dev, uint16_t *time_100us, uint8_t *count)
{
	return instance(dev) == NULL ? -ENODEV : ret(w5500_rs_retry(time_100us, count));
}

int w5500_offload_free_sockets(const struct device *dev)
{
	W5500RsStatus st;
	int r;

	if (instance(dev) == NULL) {
		return -ENODEV;
	}
	r = w5500_rs_status(&st);
	return r < 0 ? ret(r) : st.free_hw_sockets;
}

bool w5500_offload_is_connected(const struct device *dev)
{
	static const uint8_t unspecified[4];
	struct w5500_offload_data *d = instance(dev);
	W5500RsLease l;

	if (d == NULL || d->iface == NULL || !net_if_is_up(d->iface) ||
	    !net_if_is_carrier_ok(d->iface) || w5500_rs_lease(&l) < 0) {
		return false;
	}
	return memcmp(l.ipv4.addr, unspecified, sizeof(unspecified)) != 0;
}
