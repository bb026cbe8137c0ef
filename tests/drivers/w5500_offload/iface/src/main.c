/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Interface layer of the W5500 offload driver against the simulated LAN: DHCP lifecycle and
 * events, getaddrinfo() by name. These need w5500-iface (DHCP and DNS clients), which plugs
 * into rust/w5500-zephyr at the TODO(iface) marks; until then the scenario is marked
 * `skip` in testcase.yaml.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/net_event.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/net_mgmt.h>
#include <zephyr/net/socket.h>
#include <zephyr/ztest.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>

static K_SEM_DEFINE(bound, 0, 1);
static struct net_mgmt_event_callback cb;

static void on_event(struct net_mgmt_event_callback *c, uint32_t event, struct net_if *iface)
{
	if (event == NET_EVENT_IPV4_DHCP_BOUND) {
		k_sem_give(&bound);
	}
}

static void *setup(void)
{
	net_mgmt_init_event_callback(&cb, on_event, NET_EVENT_IPV4_DHCP_BOUND);
	net_mgmt_add_event_callback(&cb);
	return NULL;
}

ZTEST_SUITE(w5500_iface, NULL, setup, NULL, NULL, NULL);

/* RFC 2131: DISCOVER/OFFER/REQUEST/ACK against the LAN's server; the lease (pool
 * 10.77.0.100-199) is on the interface and NET_EVENT_IPV4_DHCP_BOUND is raised. */
ZTEST(w5500_iface, test_dhcp_bound_event_and_address)
{
	zassert_ok(k_sem_take(&bound, K_SECONDS(20)), "no NET_EVENT_IPV4_DHCP_BOUND");
#if W5_HAS_IPV4_BOOKKEEPING
	struct net_if_addr *a =
		net_if_ipv4_get_global_addr(net_if_get_default(), NET_ADDR_PREFERRED);
	uint8_t *b;

	zassert_not_null(a);
	b = (uint8_t *)&a->address.in_addr;
	zassert_equal(b[0], 10);
	zassert_equal(b[2], 0);
	zassert_true(b[3] >= 100 && b[3] <= 199);
#endif
}

/* Link loss keeps the lease; link return re-confirms it (RFC 2131 §3.2 INIT-REBOOT). */
ZTEST(w5500_iface, test_dhcp_link_loss_and_reboot)
{
	w5500_emul_set_link(false);
	k_msleep(500);
	w5500_emul_set_link(true);
	zassert_ok(k_sem_take(&bound, K_SECONDS(20)), "lease not re-confirmed after link return");
}

/* Names through the DNS offload: A record, CNAME chain, NXDOMAIN. */
ZTEST(w5500_iface, test_getaddrinfo_names)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_STREAM };
	struct zsock_addrinfo *res = NULL;
	w5_sockaddr_in_t *in;

	zassert_ok(zsock_getaddrinfo("http.sim.lan", "80", &hints, &res));
	in = (w5_sockaddr_in_t *)res->ai_addr;
	zassert_mem_equal(&in->sin_addr, ((uint8_t[]){ 10, 77, 0, 10 }), 4);
	zsock_freeaddrinfo(res);
	zassert_ok(zsock_getaddrinfo("alias.sim.lan", "80", &hints, &res));
	in = (w5_sockaddr_in_t *)res->ai_addr;
	zassert_mem_equal(&in->sin_addr, ((uint8_t[]){ 10, 77, 0, 10 }), 4);
	zsock_freeaddrinfo(res);
	zassert_equal(zsock_getaddrinfo("nope.sim.lan", "80", &hints, &res), DNS_EAI_NONAME);
}
