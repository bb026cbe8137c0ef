/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Interface layer of the W5500 offload driver against the simulated LAN (10.77.0.0/24; the
 * gateway 10.77.0.1 serves DHCP with a 60 s lease and T1 = 8 s here, and DNS, as does
 * 10.77.0.2):
 * the DHCP lifecycle and its net_mgmt events (bound, address, L4 connected, renewal at T1,
 * link loss and INIT-REBOOT), getaddrinfo() by name and numerically through the DNS offload,
 * and the hardware sockets reserved for DHCP/DNS.
 *
 * The tests run in name order (ztest sorts them) and build on each other's state: the
 * lifecycle test first, while the lease is young.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/conn_mgr_monitor.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/net_event.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/net_mgmt.h>
#include <zephyr/net/socket.h>
#include <zephyr/ztest.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>
#include <w5500_offload/w5500_rs.h>

#define DHCP_DISCOVER 1
#define DHCP_REQUEST  3

static K_SEM_DEFINE(bound, 0, 1);
static K_SEM_DEFINE(l4_connected, 0, 1);
static struct net_mgmt_event_callback ipv4_cb, l4_cb;
static atomic_t n_bound, n_add, n_del;
static uint8_t last_added[4];

static void on_ipv4(struct net_mgmt_event_callback *cb, w5_mgmt_event_t event, struct net_if *iface)
{
	ARG_UNUSED(iface);
	if (event == NET_EVENT_IPV4_DHCP_BOUND) {
		atomic_inc(&n_bound);
		k_sem_give(&bound);
	} else if (event == NET_EVENT_IPV4_ADDR_ADD) {
		atomic_inc(&n_add);
		if (cb->info != NULL && cb->info_length >= 4) {
			memcpy(last_added, cb->info, 4);
		}
	} else if (event == NET_EVENT_IPV4_ADDR_DEL) {
		atomic_inc(&n_del);
	}
}

static void on_l4(struct net_mgmt_event_callback *cb, w5_mgmt_event_t event, struct net_if *iface)
{
	ARG_UNUSED(cb);
	ARG_UNUSED(iface);
	if (event == NET_EVENT_L4_CONNECTED) {
		k_sem_give(&l4_connected);
	}
}

static void *setup(void)
{
	net_mgmt_init_event_callback(&ipv4_cb, on_ipv4,
				     NET_EVENT_IPV4_DHCP_BOUND | NET_EVENT_IPV4_ADDR_ADD |
					     NET_EVENT_IPV4_ADDR_DEL);
	net_mgmt_add_event_callback(&ipv4_cb);
	net_mgmt_init_event_callback(&l4_cb, on_l4, NET_EVENT_L4_CONNECTED);
	net_mgmt_add_event_callback(&l4_cb);
	return NULL;
}

ZTEST_SUITE(w5500_iface, NULL, setup, NULL, NULL, NULL);

static W5500RsStatus status(void)
{
	W5500RsStatus st;

	zassert_ok(w5500_rs_status(&st));
	return st;
}

/* The lease, once there is one and its events have been delivered. */
static W5500RsStatus wait_lease(void)
{
	for (int i = 0; i < 400; i++) {
		W5500RsStatus st = status();

		if (st.dhcp_bound && atomic_get(&n_bound) > 0) {
			return st;
		}
		k_msleep(50);
	}
	ztest_test_fail();
	return status();
}

/* RFC 2131 §3.1 DISCOVER/OFFER/REQUEST/ACK, §3.2 INIT-REBOOT, §4.4.5 renewal at T1. */
ZTEST(w5500_iface, test_1_dhcp_lifecycle)
{
	struct net_if *iface = net_if_get_default();
	W5500RsStatus st = wait_lease();
	uint8_t addr[4];
	int requests, discovers, adds;

	/* Bound: the lease from the pool 10.77.0.100-199 on the chip, mask and router from the
	 * server, both DNS servers in the resolver.
	 */
	memcpy(addr, st.ipv4.addr, 4);
	zassert_equal(addr[0], 10);
	zassert_equal(addr[1], 77);
	zassert_equal(addr[2], 0);
	zassert_true(addr[3] >= 100 && addr[3] <= 199, "leased .%u", addr[3]);
	zassert_mem_equal(st.ipv4.netmask, ((uint8_t[]){ 255, 255, 255, 0 }), 4);
	zassert_mem_equal(st.ipv4.gateway, ((uint8_t[]){ 10, 77, 0, 1 }), 4);
	zassert_equal(st.lease_s, 60);
	zassert_equal(st.n_dns, 2);
	zassert_mem_equal(st.dns[0], ((uint8_t[]){ 10, 77, 0, 1 }), 4);
	zassert_mem_equal(st.dns[1], ((uint8_t[]){ 10, 77, 0, 2 }), 4);
	zassert_true(atomic_get(&n_bound) >= 1, "no NET_EVENT_IPV4_DHCP_BOUND");
	zassert_true(atomic_get(&n_add) >= 1, "no NET_EVENT_IPV4_ADDR_ADD");
	zassert_mem_equal(last_added, addr, 4, "ADDR_ADD info is not the lease");
#if W5_HAS_IPV4_BOOKKEEPING
	{
		w5_in_addr_t *a = net_if_ipv4_get_global_addr(iface, NET_ADDR_PREFERRED);

		zassert_not_null(a, "lease not on the net_if");
		zassert_mem_equal(a, addr, 4);
	}
#endif
	zassert_true(net_if_is_carrier_ok(iface));
#if defined(CONFIG_NET_CONNECTION_MANAGER)
	/* conn_mgr: interface up + IPv4 address = L4 connected. */
	conn_mgr_mon_resend_status();
	zassert_ok(k_sem_take(&l4_connected, K_SECONDS(5)), "no NET_EVENT_L4_CONNECTED");
#endif

	/* Renewal at T1 (8 s): a unicast REQUEST, no DISCOVER, the same
	 * address, NET_EVENT_IPV4_DHCP_BOUND again (as Zephyr's own client raises it).
	 */
	requests = w5500_emul_dhcp_received(DHCP_REQUEST);
	discovers = w5500_emul_dhcp_received(DHCP_DISCOVER);
	adds = atomic_get(&n_add);
	k_sem_reset(&bound);
	zassert_ok(k_sem_take(&bound, K_SECONDS(15)), "lease not renewed");
	st = status();
	zassert_true(st.dhcp_renewals >= 1);
	zassert_mem_equal(st.ipv4.addr, addr, 4);
	zassert_true(w5500_emul_dhcp_received(DHCP_REQUEST) > requests);
	zassert_equal(w5500_emul_dhcp_received(DHCP_DISCOVER), discovers);
	zassert_equal(atomic_get(&n_add), adds, "renewal re-added the address");

	/* Link loss: carrier off, the address and lease are kept (no ADDR_DEL). */
	w5500_emul_set_link(false);
	for (int i = 0; i < 100 && net_if_is_carrier_ok(iface); i++) {
		k_msleep(20);
	}
	zassert_false(net_if_is_carrier_ok(iface), "carrier still on without a cable");
	k_msleep(500);
	zassert_mem_equal(status().ipv4.addr, addr, 4);
	zassert_equal(atomic_get(&n_del), 0);

	/* Link back: carrier on, the lease re-confirmed by INIT-REBOOT (a REQUEST for the same
	 * address, no DISCOVER), NET_EVENT_IPV4_DHCP_BOUND again.
	 */
	requests = w5500_emul_dhcp_received(DHCP_REQUEST);
	k_sem_reset(&bound);
	w5500_emul_set_link(true);
	zassert_ok(k_sem_take(&bound, K_SECONDS(10)), "lease not re-confirmed after link return");
	zassert_true(net_if_is_carrier_ok(iface));
	zassert_mem_equal(status().ipv4.addr, addr, 4);
	zassert_true(w5500_emul_dhcp_received(DHCP_REQUEST) > requests);
	zassert_equal(w5500_emul_dhcp_received(DHCP_DISCOVER), discovers);
	zassert_equal(atomic_get(&n_del), 0);
}

static void first_addr(const struct zsock_addrinfo *res, uint8_t out[4])
{
	const w5_sockaddr_in_t *in = (const w5_sockaddr_in_t *)res->ai_addr;

	zassert_equal(res->ai_family, W5_AF_INET);
	zassert_equal(res->ai_addrlen, sizeof(w5_sockaddr_in_t));
	memcpy(out, &in->sin_addr, 4);
}

/* RFC 1035 through the chip with the servers from the lease: an A record, a CNAME chain
 * (alias -> www -> http, RFC 1034 §3.6.2), three A records, NXDOMAIN -> DNS_EAI_NONAME.
 */
ZTEST(w5500_iface, test_2_getaddrinfo_names)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_STREAM };
	struct zsock_addrinfo *res = NULL;
	const w5_sockaddr_in_t *in;
	uint8_t a[4];
	int n = 0;

	(void)wait_lease();
	zassert_ok(zsock_getaddrinfo("http.sim.lan", "80", &hints, &res));
	first_addr(res, a);
	in = (const w5_sockaddr_in_t *)res->ai_addr;
	zassert_mem_equal(a, ((uint8_t[]){ 10, 77, 0, 10 }), 4);
	zassert_equal(w5_ntohs(in->sin_port), 80);
	zassert_equal(res->ai_socktype, W5_SOCK_STREAM);
	zassert_equal(res->ai_protocol, W5_IPPROTO_TCP);
	zassert_is_null(res->ai_next);
	zsock_freeaddrinfo(res);

	zassert_ok(zsock_getaddrinfo("alias.sim.lan", "80", &hints, &res));
	first_addr(res, a);
	zassert_mem_equal(a, ((uint8_t[]){ 10, 77, 0, 10 }), 4);
	zsock_freeaddrinfo(res);

	zassert_ok(zsock_getaddrinfo("multi.sim.lan", NULL, &hints, &res));
	for (struct zsock_addrinfo *r = res; r != NULL; r = r->ai_next) {
		first_addr(r, a);
		zassert_equal(a[2], 0);
		zassert_true(a[3] >= 10 && a[3] <= 12, "multi: .%u", a[3]);
		n++;
	}
	zassert_equal(n, 3, "multi.sim.lan has 3 A records, got %d", n);
	zsock_freeaddrinfo(res);

	res = NULL;
	zassert_equal(zsock_getaddrinfo("nosuch.sim.lan", "80", &hints, &res), DNS_EAI_NONAME);
	zassert_is_null(res);
}

/* RFC 3493 §6.1: numeric hosts and services without traffic, the hint rules. */
ZTEST(w5500_iface, test_3_getaddrinfo_numeric_and_hints)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_DGRAM };
	struct zsock_addrinfo *res = NULL;
	uint8_t a[4];

	zassert_ok(zsock_getaddrinfo("10.77.0.11", "7", &hints, &res));
	first_addr(res, a);
	zassert_mem_equal(a, ((uint8_t[]){ 10, 77, 0, 11 }), 4);
	zassert_equal(res->ai_socktype, W5_SOCK_DGRAM);
	zassert_equal(res->ai_protocol, W5_IPPROTO_UDP);
	zsock_freeaddrinfo(res);

	hints.ai_flags = W5_AI_NUMERICSERV;
	zassert_equal(zsock_getaddrinfo("10.77.0.11", "echo", &hints, &res), DNS_EAI_NONAME);
	hints.ai_flags = W5_AI_NUMERICHOST;
	zassert_equal(zsock_getaddrinfo("http.sim.lan", "80", &hints, &res), DNS_EAI_NONAME);
	hints.ai_flags = 0;
	hints.ai_family = W5_AF_INET6;
	zassert_equal(zsock_getaddrinfo("http.sim.lan", "80", &hints, &res), DNS_EAI_FAMILY);
}

/* Kconfig W5500_OFFLOAD_RESERVED_SOCKETS=2: applications get 6 hardware sockets (ENFILE
 * after), and a name lookup still works with all 6 in use (it takes a reserved one).
 */
ZTEST(w5500_iface, test_4_reserved_sockets_keep_dns_working)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_STREAM };
	struct zsock_addrinfo *res = NULL;
	int fds[8];
	int n = 0;
	uint8_t a[4];

	(void)wait_lease();
	zassert_equal(status().reserved_sockets, 2);
	for (; n < 8; n++) {
		fds[n] = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, W5_IPPROTO_UDP);
		if (fds[n] < 0) {
			zassert_equal(errno, ENFILE, "errno %d", errno);
			break;
		}
	}
	zassert_equal(n, 6, "applications got %d sockets", n);
	/* Not asked before, so not cached: a real query. */
	zassert_ok(zsock_getaddrinfo("bulk.sim.lan", "19", &hints, &res));
	first_addr(res, a);
	zassert_mem_equal(a, ((uint8_t[]){ 10, 77, 0, 12 }), 4);
	zsock_freeaddrinfo(res);
	for (int i = 0; i < n; i++) {
		zassert_ok(zsock_close(fds[i]));
	}
}
