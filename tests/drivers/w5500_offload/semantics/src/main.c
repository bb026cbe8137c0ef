/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The seeds' semantics on Zephyr with the W5500 offload driver: one test per row of
 * docs/SEMANTICS.md (MicroPython `network` NIC and `usocket`, Adafruit `WIZNET5K`), run on
 * the simulated chip and the standard in-memory LAN (10.77.0.0/24: DHCP and DNS at .1 and
 * .2, HTTP .10, echo .11 (TCP/UDP 7), byte sink .12:9, peer .20, nobody at .254; a remote
 * subnet 10.77.99.0/24 behind the gateway .1 with an echo host .99.10).
 *
 * Each test leaves the interface as it found it: up, DHCP bound.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/conn_mgr_monitor.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/hostname.h>
#include <zephyr/net/net_event.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/net_mgmt.h>
#include <zephyr/net/socket.h>
#include <zephyr/sys/fdtable.h>
#include <zephyr/ztest.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>
#include <w5500_offload/w5500_offload.h>
#include <w5500_offload/w5500_rs.h>

#define DHCP_DISCOVER 1
#define DHCP_REQUEST  3
#define DHCP_RELEASE  7

static K_SEM_DEFINE(l4_connected, 0, 1);
static struct net_mgmt_event_callback ipv4_cb, l4_cb;
static atomic_t n_add, n_del;
static uint8_t last_added[4], last_deleted[4];

static void on_ipv4(struct net_mgmt_event_callback *cb, w5_mgmt_event_t event, struct net_if *iface)
{
	ARG_UNUSED(iface);
	if (event == NET_EVENT_IPV4_ADDR_ADD) {
		if (cb->info != NULL && cb->info_length >= 4) {
			memcpy(last_added, cb->info, 4);
		}
		atomic_inc(&n_add);
	} else if (event == NET_EVENT_IPV4_ADDR_DEL) {
		if (cb->info != NULL && cb->info_length >= 4) {
			memcpy(last_deleted, cb->info, 4);
		}
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

static struct net_if *iface(void)
{
	struct net_if *i = w5500_offload_iface(NULL);

	zassert_not_null(i);
	return i;
}

static struct w5500_offload_lease lease(void)
{
	struct w5500_offload_lease l;

	zassert_ok(w5500_offload_get_lease(NULL, &l));
	return l;
}

static bool is_zero(const w5_in_addr_t *a)
{
	static const uint8_t z[4];

	return memcmp(a, z, 4) == 0;
}

/* The address on the chip now. */
static w5_in_addr_t chip_addr(void)
{
	return lease().addr;
}

static bool no_addr(void)
{
	w5_in_addr_t a = chip_addr();

	return is_zero(&a);
}

/* zassert_str_equal is newer than Zephyr 3.4. */
#define assert_str(a, b, ...) zassert_equal(strcmp((a), (b)), 0, "\"%s\" != \"%s\"", (a), (b))

static void ip(w5_in_addr_t *a, const char *s)
{
	zassert_equal(zsock_inet_pton(W5_AF_INET, s, a), 1, "%s", s);
}

static void assert_ip(const w5_in_addr_t *a, const char *s)
{
	w5_in_addr_t b;

	ip(&b, s);
	zassert_mem_equal(a, &b, 4, "not %s", s);
}

/* isconnected() with a DHCP lease, and the address event delivered. */
static struct w5500_offload_lease wait_dhcp(void)
{
	for (int i = 0; i < 600; i++) {
		struct w5500_offload_lease l = lease();

		if (l.from_dhcp && w5500_offload_is_connected(NULL) &&
		    memcmp(last_added, &l.addr, 4) == 0) {
			return l;
		}
		k_msleep(50);
	}
	zassert_unreachable("no DHCP lease in 30 s");
	return lease();
}

static void addr_of(w5_sockaddr_in_t *a, const char *s, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = W5_AF_INET;
	a->sin_port = w5_htons(port);
	ip(&a->sin_addr, s);
}

static int tcp_connect_rc(const char *s, uint16_t port, int *err)
{
	w5_sockaddr_in_t a;
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	int r;

	zassert_true(fd >= 0, "socket: %d", errno);
	addr_of(&a, s, port);
	r = zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a));
	*err = r < 0 ? errno : 0;
	if (r < 0) {
		zsock_close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect(const char *s, uint16_t port)
{
	int err;
	int fd = tcp_connect_rc(s, port, &err);

	zassert_true(fd >= 0, "connect %s:%u: errno %d", s, port, err);
	return fd;
}

static void set_rcvtimeo(int fd, int ms)
{
	struct zsock_timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	zassert_ok(zsock_setsockopt(fd, W5_SOL_SOCKET, W5_SO_RCVTIMEO, &tv, sizeof(tv)));
}

/* Receive exactly n bytes (bounded by SO_RCVTIMEO). */
static void recv_all(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	set_rcvtimeo(fd, 5000);
	for (int i = 0; i < 1000 && got < n; i++) {
		ssize_t r = zsock_recv(fd, buf + got, n - got, 0);

		zassert_true(r > 0, "recv: %d errno %d", (int)r, errno);
		got += r;
	}
	zassert_equal(got, n);
}

/* A TCP echo round trip proves the chip's address and routing are in use. */
static void echo_ok(const char *host)
{
	uint8_t out[4] = "ping", in[4];
	int fd = tcp_connect(host, 7);

	zassert_equal(zsock_send(fd, out, 4, 0), 4);
	recv_all(fd, in, 4);
	zassert_mem_equal(in, out, 4);
	zassert_ok(zsock_close(fd));
}

static void *setup(void)
{
	net_mgmt_init_event_callback(&ipv4_cb, on_ipv4,
				     NET_EVENT_IPV4_ADDR_ADD | NET_EVENT_IPV4_ADDR_DEL);
	net_mgmt_add_event_callback(&ipv4_cb);
	net_mgmt_init_event_callback(&l4_cb, on_l4, NET_EVENT_L4_CONNECTED);
	net_mgmt_add_event_callback(&l4_cb);
	return NULL;
}

static void before(void *f)
{
	ARG_UNUSED(f);
	(void)wait_dhcp();
}

/* Put back what a failed test may have left changed, so that one failure stays one. */
static void after(void *f)
{
	struct w5500_offload_lease l = lease();

	ARG_UNUSED(f);
	w5500_emul_set_link(true);
	if (!net_if_is_admin_up(iface())) {
		(void)net_if_up(iface());
	}
	if (l.has_static) {
		(void)w5500_offload_set_ipv4(NULL, NULL, NULL, NULL);
	}
	if (!l.dhcp_enabled) {
		(void)w5500_offload_dhcp_start(NULL);
	}
	(void)w5500_offload_set_dns_servers(NULL, NULL, 0);
	(void)w5500_offload_set_retry(NULL, CONFIG_W5500_OFFLOAD_RETRY_TIME_100US,
				      CONFIG_W5500_OFFLOAD_RETRY_COUNT);
}

ZTEST_SUITE(w5500_semantics, NULL, setup, before, after, NULL);

/* ---- network NIC --------------------------------------------------------------------- */

/* network: config('mac'); Adafruit mac_address: the devicetree MAC as the link address. */
ZTEST(w5500_semantics, test_nic_config_mac_is_link_addr)
{
	struct net_linkaddr *ll = net_if_get_link_addr(iface());

	zassert_equal(ll->len, 6);
	zassert_equal(ll->type, NET_LINK_ETHERNET);
	zassert_mem_equal(ll->addr, ((uint8_t[]){ 0x02, 0x08, 0xdc, 0x00, 0x00, 0x01 }), 6);
}

/* network: active() query, isconnected(), ipconfig('addr4'/'gw4'/'has_dhcp4'), ifconfig();
 * Adafruit ifconfig, ip_address; conn_mgr L4 connected.
 */
ZTEST(w5500_semantics, test_nic_isconnected_ipconfig_ifconfig)
{
	struct w5500_offload_lease l = wait_dhcp();
	w5_in_addr_t dns[2];
	uint8_t a[4];

	zassert_true(net_if_is_admin_up(iface()), "active() is False");
	zassert_true(net_if_is_up(iface()));
	zassert_true(net_if_is_carrier_ok(iface()));
	zassert_true(w5500_offload_is_connected(NULL));
	zassert_true(l.from_dhcp && l.dhcp_enabled && !l.has_static, "has_dhcp4");
	memcpy(a, &l.addr, 4);
	zassert_true(a[0] == 10 && a[1] == 77 && a[2] == 0 && a[3] >= 100 && a[3] <= 199,
		     "addr4 .%u", a[3]);
	assert_ip(&l.netmask, "255.255.255.0");
	assert_ip(&l.gateway, "10.77.0.1");
	assert_ip(&l.server, "10.77.0.1");
	zassert_equal(l.lease_s, CONFIG_W5500_OFFLOAD_EMUL_DHCP_LEASE_S);
	zassert_true(l.t1_s > 0 && l.t1_s < l.t2_s && l.t2_s < l.lease_s);
	zassert_true(l.remaining_s > 0 && l.remaining_s <= l.lease_s);
	/* ifconfig() 4-tuple: the DNS server from the lease. */
	zassert_equal(w5500_offload_get_dns_servers(NULL, dns, 2), 2);
	assert_ip(&dns[0], "10.77.0.1");
	assert_ip(&dns[1], "10.77.0.2");
	/* The address reached the interface's events (info: the address). */
	zassert_mem_equal(last_added, a, 4);
#if W5_HAS_IPV4_BOOKKEEPING
	zassert_not_null(net_if_ipv4_get_global_addr(iface(), NET_ADDR_PREFERRED));
#endif
	conn_mgr_mon_resend_status();
	zassert_ok(k_sem_take(&l4_connected, K_SECONDS(5)), "no NET_EVENT_L4_CONNECTED");
}

/* network.hostname(): Zephyr's hostname in DHCP option 12; a new name (Adafruit's "{}"
 * template) applies at the next connection (down/up), not at once.
 */
ZTEST(w5500_semantics, test_nic_hostname_option12)
{
	char name[W5500_RS_HOSTNAME_MAX + 1], seen[80];
	char expect[32];

	snprintf(expect, sizeof(expect), "mpy0208dc000001");
	assert_str(net_hostname_get(), expect);
	zassert_equal(w5500_offload_get_hostname(NULL, name, sizeof(name)), strlen(expect));
	assert_str(name, expect);
	zassert_equal(w5500_rs_emul_dhcp_hostname((uint8_t *)seen, sizeof(seen)), strlen(expect));
	assert_str(seen, expect, "server saw option 12 \"%s\"", seen);

	zassert_ok(w5500_offload_set_hostname(NULL, "board-{}.sim.lan"));
	zassert_equal(w5500_offload_get_hostname(NULL, name, sizeof(name)), 12);
	assert_str(name, "board-000001");
	k_msleep(200);
	(void)w5500_rs_emul_dhcp_hostname((uint8_t *)seen, sizeof(seen));
	assert_str(seen, expect, "a changed name must wait for the next connection");

	zassert_ok(net_if_down(iface()));
	zassert_ok(net_if_up(iface()));
	(void)wait_dhcp();
	(void)w5500_rs_emul_dhcp_hostname((uint8_t *)seen, sizeof(seen));
	assert_str(seen, "board-000001");
	/* Too small a buffer. */
	zassert_equal(w5500_offload_get_hostname(NULL, name, 5), -EMSGSIZE);
	zassert_ok(w5500_offload_set_hostname(NULL, net_hostname_get()));
}

/* network: active(False) / active(True): the enable hook takes the chip down (sockets
 * closed, DHCPRELEASE, PHY powered down) and up (PHY on, DHCP again).
 */
ZTEST(w5500_semantics, test_nic_active_false_true)
{
	struct w5500_offload_link link;
	uint8_t buf[4];
	int releases = w5500_emul_dhcp_received(DHCP_RELEASE);
	int fd = tcp_connect("10.77.0.11", 7);
	int err, fd2;

	zassert_ok(net_if_down(iface()));
	zassert_equal(net_if_down(iface()), -EALREADY);
	zassert_false(net_if_is_admin_up(iface()), "active() is True after down");
	zassert_false(net_if_is_up(iface()));
	zassert_false(w5500_offload_is_connected(NULL));
	zassert_ok(w5500_offload_get_link(NULL, &link));
	zassert_false(link.up, "PHY still up after net_if_down");
	zassert_true(no_addr(), "address kept while down");
	zassert_equal(w5500_emul_dhcp_received(DHCP_RELEASE), releases + 1, "no DHCPRELEASE");
	/* The open connection was ended by the driver: no data, an error or EOF. */
	set_rcvtimeo(fd, 500);
	zassert_true(zsock_recv(fd, buf, sizeof(buf), 0) <= 0);
	zassert_ok(zsock_close(fd));
	fd2 = tcp_connect_rc("10.77.0.11", 7, &err);
	zassert_equal(fd2, -1, "connect while down");
	zassert_equal(err, ENETDOWN, "errno %d", err);

	zassert_ok(net_if_up(iface()));
	zassert_true(net_if_is_admin_up(iface()));
	(void)wait_dhcp();
	zassert_ok(w5500_offload_get_link(NULL, &link));
	zassert_true(link.up);
	echo_ok("10.77.0.11");
}

/* network: status() (link); Adafruit link_status: PHY link, speed, duplex; carrier on the
 * net_if follows the cable; the lease is kept across a short loss.
 */
ZTEST(w5500_semantics, test_nic_status_link_speed_duplex)
{
	struct w5500_offload_link link;
	struct w5500_offload_lease before_loss = lease();

	zassert_ok(w5500_offload_get_link(NULL, &link));
	zassert_true(link.up);
	zassert_equal(link.speed_mbps, 100);
	zassert_true(link.full_duplex);
	zassert_true(net_if_flag_is_set(iface(), NET_IF_LOWER_UP));

	w5500_emul_set_link(false);
	for (int i = 0; i < 200 && net_if_is_carrier_ok(iface()); i++) {
		k_msleep(20);
	}
	zassert_false(net_if_is_carrier_ok(iface()));
	zassert_false(net_if_is_up(iface()), "operationally up without carrier");
	zassert_true(net_if_is_admin_up(iface()));
	zassert_false(w5500_offload_is_connected(NULL));
	zassert_ok(w5500_offload_get_link(NULL, &link));
	zassert_false(link.up);
	zassert_equal(link.speed_mbps, 0);
	{
		w5_in_addr_t now = chip_addr();

		zassert_mem_equal(&now, &before_loss.addr, 4, "address lost with the link");
	}

	w5500_emul_set_link(true);
	(void)wait_dhcp();
	zassert_true(net_if_is_up(iface()));
}

/* network: ipconfig(addr4=..., gw4=...): programmed into the chip, DHCP stops; removing it
 * starts DHCP again. The gateway decides what is reachable off the subnet.
 */
ZTEST(w5500_semantics, test_nic_static_addr4_gw4_stops_dhcp)
{
	struct w5500_offload_lease l = wait_dhcp();
	w5_in_addr_t addr, mask, gw;
	w5_sockaddr_in_t local;
	w5_socklen_t len = sizeof(local);
	int dels = atomic_get(&n_del);
	int msgs, fd, err;

	ip(&addr, "10.77.0.60");
	ip(&mask, "255.255.255.0");
	ip(&gw, "10.77.0.1");
	zassert_ok(w5500_offload_set_ipv4(NULL, &addr, &mask, &gw));
	for (int i = 0; i < 100 && memcmp(last_added, &addr, 4) != 0; i++) {
		k_msleep(20);
	}
	zassert_mem_equal(last_added, &addr, 4, "no NET_EVENT_IPV4_ADDR_ADD for 10.77.0.60");
	zassert_true(atomic_get(&n_del) > dels, "the leased address was not removed");
	zassert_mem_equal(last_deleted, &l.addr, 4);
	l = lease();
	assert_ip(&l.addr, "10.77.0.60");
	assert_ip(&l.gateway, "10.77.0.1");
	zassert_true(l.has_static && !l.from_dhcp && l.dhcp_enabled);
	zassert_equal(l.lease_s, 0);
	zassert_true(w5500_offload_is_connected(NULL));

	/* The chip uses it: the echo host answers 10.77.0.60, and the local address says so. */
	fd = tcp_connect("10.77.0.11", 7);
	zassert_ok(zsock_getsockname(fd, (w5_sockaddr_t *)&local, &len));
	assert_ip(&local.sin_addr, "10.77.0.60");
	zassert_ok(zsock_close(fd));
	/* gw4: the remote subnet is reached through the gateway... */
	echo_ok("10.77.99.10");
	/* ...and not without one (quick retries so that ARP gives up fast). */
	zassert_ok(w5500_offload_set_retry(NULL, 100, 1));
	zassert_ok(w5500_offload_set_ipv4(NULL, &addr, &mask, NULL));
	k_msleep(100);
	l = lease();
	assert_ip(&l.gateway, "0.0.0.0");
	fd = tcp_connect_rc("10.77.99.10", 7, &err);
	zassert_equal(fd, -1, "reached another subnet without a gateway");
	zassert_true(err == EHOSTUNREACH || err == ETIMEDOUT, "errno %d", err);
	echo_ok("10.77.0.11");
	zassert_ok(w5500_offload_set_retry(NULL, CONFIG_W5500_OFFLOAD_RETRY_TIME_100US,
					   CONFIG_W5500_OFFLOAD_RETRY_COUNT));

	/* DHCP is quiet while the static address is set. */
	msgs = w5500_emul_dhcp_received(DHCP_DISCOVER) + w5500_emul_dhcp_received(DHCP_REQUEST);
	k_msleep(1500);
	zassert_equal(w5500_emul_dhcp_received(DHCP_DISCOVER) +
			      w5500_emul_dhcp_received(DHCP_REQUEST),
		      msgs, "DHCP ran with a static address");

	/* Removing it restarts DHCP. */
	zassert_ok(w5500_offload_set_ipv4(NULL, NULL, NULL, NULL));
	l = wait_dhcp();
	zassert_false(l.has_static);
	zassert_true(w5500_emul_dhcp_received(DHCP_DISCOVER) +
			     w5500_emul_dhcp_received(DHCP_REQUEST) >
		     msgs);
	/* Addresses the chip cannot use are refused. */
	ip(&addr, "224.0.0.1");
	zassert_equal(w5500_offload_set_ipv4(NULL, &addr, NULL, NULL), -EINVAL);
}

/* network: ipconfig(dhcp4=False/True). */
ZTEST(w5500_semantics, test_nic_dhcp4_off_on)
{
	int msgs;

	zassert_ok(w5500_offload_dhcp_stop(NULL));
	for (int i = 0; i < 100 && !no_addr(); i++) {
		k_msleep(20);
	}
	zassert_true(no_addr(), "address kept with DHCP off (no static configured)");
	zassert_false(lease().dhcp_enabled);
	zassert_false(w5500_offload_is_connected(NULL));
	msgs = w5500_emul_dhcp_received(DHCP_DISCOVER) + w5500_emul_dhcp_received(DHCP_REQUEST);
	k_msleep(1000);
	zassert_equal(w5500_emul_dhcp_received(DHCP_DISCOVER) +
			      w5500_emul_dhcp_received(DHCP_REQUEST),
		      msgs);

	zassert_ok(w5500_offload_dhcp_start(NULL));
	zassert_true(lease().dhcp_enabled);
	(void)wait_dhcp();
}

/* network.ipconfig(dns=...); Adafruit ifconfig's DNS: from DHCP, and settable at run time. */
ZTEST(w5500_semantics, test_nic_dns_servers)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_STREAM };
	struct zsock_addrinfo *res = NULL;
	w5_in_addr_t addr, mask, gw, dns[2];

	/* A static address drops DHCP's servers: none configured, names fail. */
	ip(&addr, "10.77.0.60");
	ip(&mask, "255.255.255.0");
	ip(&gw, "10.77.0.1");
	zassert_ok(w5500_offload_set_ipv4(NULL, &addr, &mask, &gw));
	zassert_equal(w5500_offload_get_dns_servers(NULL, dns, 2), 0);
	zassert_not_equal(zsock_getaddrinfo("peer.sim.lan", "80", &hints, &res), 0);

	ip(&dns[0], "10.77.0.2");
	zassert_ok(w5500_offload_set_dns_servers(NULL, dns, 1));
	memset(dns, 0, sizeof(dns));
	zassert_equal(w5500_offload_get_dns_servers(NULL, dns, 2), 1);
	assert_ip(&dns[0], "10.77.0.2");
	zassert_ok(zsock_getaddrinfo("peer.sim.lan", "80", &hints, &res));
	assert_ip(&((w5_sockaddr_in_t *)res->ai_addr)->sin_addr, "10.77.0.20");
	zsock_freeaddrinfo(res);

	zassert_ok(w5500_offload_set_dns_servers(NULL, NULL, 0));
	zassert_equal(w5500_offload_get_dns_servers(NULL, dns, 2), 0);
	zassert_ok(w5500_offload_set_ipv4(NULL, NULL, NULL, NULL));
	(void)wait_dhcp();
	for (int i = 0; i < 50 && w5500_offload_get_dns_servers(NULL, dns, 2) != 2; i++) {
		k_msleep(20);
	}
	zassert_equal(w5500_offload_get_dns_servers(NULL, dns, 2), 2, "DHCP's servers back");
}

/* network.ipconfig(prefer=6), AF_INET6: the chip is IPv4 only. Text conversion works for
 * both families (Zephyr's, not the driver's); an IPv6 socket does not exist.
 */
ZTEST(w5500_semantics, test_nic_prefer_ipv4_only)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET6 };
	struct zsock_addrinfo *res = NULL;
	uint8_t a6[16];
	char text[48];
	int fd;

	zassert_equal(zsock_getaddrinfo("http.sim.lan", "80", &hints, &res), DNS_EAI_FAMILY);
	hints.ai_family = W5_AF_UNSPEC;
	zassert_ok(zsock_getaddrinfo("multi.sim.lan", "80", &hints, &res));
	for (struct zsock_addrinfo *r = res; r != NULL; r = r->ai_next) {
		zassert_equal(r->ai_family, W5_AF_INET);
	}
	zsock_freeaddrinfo(res);

	zassert_equal(zsock_inet_pton(W5_AF_INET6, "2001:db8::1", a6), 1);
	zassert_equal(a6[0], 0x20);
	zassert_equal(a6[1], 0x01);
	zassert_equal(a6[15], 0x01);
	zassert_not_null(zsock_inet_ntop(W5_AF_INET6, a6, text, sizeof(text)));
	assert_str(text, "2001:db8::1");

	fd = zsock_socket(W5_AF_INET6, W5_SOCK_STREAM, 0);
	zassert_equal(fd, -1);
	zassert_equal(errno, EAFNOSUPPORT, "errno %d", errno);
}

/* ---- usocket ------------------------------------------------------------------------- */

/* usocket.socket(af=AF_INET, type=SOCK_STREAM, proto=0): the type picks the protocol. */
ZTEST(w5500_semantics, test_sock_defaults)
{
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	int v = 0;
	w5_socklen_t len = sizeof(v);

	zassert_true(fd >= 0);
	zassert_ok(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_TYPE, &v, &len));
	zassert_equal(v, W5_SOCK_STREAM);
	zassert_ok(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_PROTOCOL, &v, &len));
	zassert_equal(v, W5_IPPROTO_TCP);
	zassert_ok(zsock_close(fd));
	fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	zassert_true(fd >= 0);
	zassert_ok(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_PROTOCOL, &v, &len));
	zassert_equal(v, W5_IPPROTO_UDP);
	zassert_ok(zsock_close(fd));
}

/* usocket.getaddrinfo(host, port)[0][-1] for numeric hosts and names, then connect();
 * errors are a separate, negative namespace (DNS_EAI_*).
 */
ZTEST(w5500_semantics, test_sock_getaddrinfo_connect)
{
	struct zsock_addrinfo *res = NULL;
	w5_sockaddr_in_t *in;
	int fd;

	zassert_ok(zsock_getaddrinfo("10.77.0.11", "7", NULL, &res));
	zassert_equal(res->ai_family, W5_AF_INET);
	in = (w5_sockaddr_in_t *)res->ai_addr;
	assert_ip(&in->sin_addr, "10.77.0.11");
	zassert_equal(w5_ntohs(in->sin_port), 7);
	fd = zsock_socket(res->ai_family, W5_SOCK_STREAM, 0);
	zassert_ok(zsock_connect(fd, res->ai_addr, res->ai_addrlen));
	zassert_ok(zsock_close(fd));
	zsock_freeaddrinfo(res);

	zassert_ok(zsock_getaddrinfo("http.sim.lan", "80", NULL, &res));
	assert_ip(&((w5_sockaddr_in_t *)res->ai_addr)->sin_addr, "10.77.0.10");
	zsock_freeaddrinfo(res);
	res = NULL;
	zassert_true(zsock_getaddrinfo("nosuch.sim.lan", "80", NULL, &res) < 0);
}

/* usocket.inet_pton/inet_ntop (AF_INET). */
ZTEST(w5500_semantics, test_sock_inet_pton_ntop)
{
	uint8_t a[4];
	char text[16];

	zassert_equal(zsock_inet_pton(W5_AF_INET, "1.2.3.4", a), 1);
	zassert_mem_equal(a, ((uint8_t[]){ 1, 2, 3, 4 }), 4);
	zassert_not_null(
		zsock_inet_ntop(W5_AF_INET, ((uint8_t[]){ 127, 0, 0, 1 }), text, sizeof(text)));
	assert_str(text, "127.0.0.1");
	/* Text that is not an address is refused. (Zephyr 3.4's net_addr_pton() checks only
	 * the characters: a short form such as "1.2.3" is not refused there; not tested.)
	 */
	zassert_equal(zsock_inet_pton(W5_AF_INET, "1.2.x.4", a), 0);
}

/* usocket bind (not twice), listen(backlog) with 0, negative and over-large values, accept
 * (conn, address); Adafruit remote_ip/remote_port (getpeername).
 */
ZTEST(w5500_semantics, test_sock_bind_listen_backlog_accept)
{
	struct w5500_offload_lease l = lease();
	static const int backlogs[] = { 0, -5, 1000 };
	char chip[16];

	zassert_not_null(zsock_inet_ntop(W5_AF_INET, &l.addr, chip, sizeof(chip)));
	for (size_t k = 0; k < ARRAY_SIZE(backlogs); k++) {
		w5_sockaddr_in_t any, peer, name;
		w5_socklen_t plen = sizeof(peer), nlen = sizeof(name);
		uint16_t port = 5001 + k;
		uint8_t buf[8];
		int fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
		int c, h;

		addr_of(&any, "0.0.0.0", port);
		zassert_ok(zsock_bind(fd, (w5_sockaddr_t *)&any, sizeof(any)));
		zassert_equal(zsock_bind(fd, (w5_sockaddr_t *)&any, sizeof(any)), -1,
			      "bound twice");
		zassert_equal(errno, EINVAL);
		zassert_ok(zsock_listen(fd, backlogs[k]), "listen(%d)", backlogs[k]);
		h = w5500_emul_peer_connect(chip, port);
		zassert_true(h >= 0, "peer connect");
		c = zsock_accept(fd, (w5_sockaddr_t *)&peer, &plen);
		zassert_true(c >= 0, "accept with backlog %d: errno %d", backlogs[k], errno);
		assert_ip(&peer.sin_addr, "10.77.0.20");
		zassert_ok(zsock_getpeername(c, (w5_sockaddr_t *)&name, &nlen));
		zassert_mem_equal(&name.sin_addr, &peer.sin_addr, 4);
		zassert_equal(name.sin_port, peer.sin_port);
		zassert_ok(w5500_emul_peer_send(h, "hello", 5));
		recv_all(c, buf, 5);
		zassert_mem_equal(buf, "hello", 5);
		zassert_ok(zsock_close(c));
		zassert_ok(zsock_close(fd));
		(void)w5500_emul_peer_close(h);
	}
}

/* usocket send(): may be a short write (non-blocking); sendall()/write(): loop until all is
 * sent.
 */
ZTEST(w5500_semantics, test_sock_send_short_write_sendall)
{
	static uint8_t data[16384];
	int fd = tcp_connect("10.77.0.12", 9);
	size_t sent = 0;
	ssize_t n;
	int fl;

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	fl = zsock_fcntl(fd, W5_F_GETFL, 0);
	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, fl | W5_O_NONBLOCK));
	n = zsock_send(fd, data, sizeof(data), 0);
	zassert_true(n > 0 && n < (ssize_t)sizeof(data), "not a short write: %d", (int)n);
	sent = n;
	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, fl & ~W5_O_NONBLOCK));
	for (int i = 0; i < 1000 && sent < sizeof(data); i++) {
		n = zsock_send(fd, data + sent, sizeof(data) - sent, 0);
		zassert_true(n > 0, "send: errno %d", errno);
		sent += n;
	}
	zassert_equal(sent, sizeof(data));
	zassert_ok(zsock_close(fd));
}

/* fd op vtable read/write (what read()/write() on the fd call, MicroPython's stream
 * read/write); recv(bufsize) returns at most bufsize.
 */
ZTEST(w5500_semantics, test_sock_recv_bufsize_read_write_fd)
{
	const struct fd_op_vtable *vt;
	struct k_mutex *lock;
	uint8_t out[100], in[100];
	size_t got;
	ssize_t n;
	void *obj;
	int fd = tcp_connect("10.77.0.11", 7);

	for (size_t i = 0; i < sizeof(out); i++) {
		out[i] = (uint8_t)(i * 7);
	}
	zassert_equal(zsock_send(fd, out, sizeof(out), 0), sizeof(out));
	set_rcvtimeo(fd, 5000);
	n = zsock_recv(fd, in, 10, 0);
	zassert_true(n > 0 && n <= 10, "recv(10) gave %d", (int)n);
	got = n;
	obj = z_get_fd_obj_and_vtable(fd, &vt, &lock);
	zassert_not_null(obj);
	for (int i = 0; i < 100 && got < sizeof(in); i++) {
		k_mutex_lock(lock, K_FOREVER);
		n = vt->read(obj, in + got, sizeof(in) - got);
		k_mutex_unlock(lock);
		zassert_true(n > 0, "read: errno %d", errno);
		got += n;
	}
	zassert_mem_equal(in, out, sizeof(out));
	k_mutex_lock(lock, K_FOREVER);
	n = vt->write(obj, out, 20);
	k_mutex_unlock(lock);
	zassert_equal(n, 20);
	recv_all(fd, in, 20);
	zassert_mem_equal(in, out, 20);
	zassert_ok(zsock_close(fd));
}

/* usocket sendto/recvfrom (bytes, address); the chip does not fragment: 1472 bytes is the
 * largest datagram.
 */
ZTEST(w5500_semantics, test_sock_udp_sendto_recvfrom_1472)
{
	static uint8_t big[1473], back[1500];
	w5_sockaddr_in_t echo, from;
	w5_socklen_t flen = sizeof(from);
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	ssize_t n;

	addr_of(&echo, "10.77.0.11", 7);
	set_rcvtimeo(fd, 3000);
	zassert_equal(zsock_sendto(fd, "ping", 4, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), 4);
	n = zsock_recvfrom(fd, back, sizeof(back), 0, (w5_sockaddr_t *)&from, &flen);
	zassert_equal(n, 4);
	zassert_mem_equal(back, "ping", 4);
	assert_ip(&from.sin_addr, "10.77.0.11");
	zassert_equal(w5_ntohs(from.sin_port), 7);

	memset(big, 0x5a, sizeof(big));
	zassert_equal(zsock_sendto(fd, big, W5500_OFFLOAD_UDP_MAX, 0, (w5_sockaddr_t *)&echo,
				   sizeof(echo)),
		      W5500_OFFLOAD_UDP_MAX);
	n = zsock_recvfrom(fd, back, sizeof(back), 0, NULL, NULL);
	zassert_equal(n, W5500_OFFLOAD_UDP_MAX);
	zassert_equal(zsock_sendto(fd, big, sizeof(big), 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
		      -1);
	zassert_equal(errno, EMSGSIZE, "errno %d", errno);
	zassert_ok(zsock_close(fd));
}

/* usocket setsockopt(level, optname, value) with an int; unknown options refused. */
ZTEST(w5500_semantics, test_sock_setsockopt)
{
	int tcp = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	int udp = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	int one = 1;

	zassert_ok(zsock_setsockopt(tcp, W5_SOL_SOCKET, W5_SO_REUSEADDR, &one, sizeof(one)));
	zassert_ok(zsock_setsockopt(tcp, W5_SOL_SOCKET, W5_SO_KEEPALIVE, &one, sizeof(one)));
	zassert_ok(zsock_setsockopt(tcp, W5_IPPROTO_TCP, W5_TCP_NODELAY, &one, sizeof(one)));
	zassert_ok(zsock_setsockopt(udp, W5_SOL_SOCKET, W5_SO_BROADCAST, &one, sizeof(one)));
	zassert_equal(zsock_setsockopt(tcp, W5_SOL_SOCKET, 9999, &one, sizeof(one)), -1);
	zassert_equal(errno, ENOPROTOOPT, "errno %d", errno);
	zassert_ok(zsock_close(tcp));
	zassert_ok(zsock_close(udp));
}

/* usocket settimeout(x) -> SO_RCVTIMEO: EAGAIN after x; settimeout(0) / setblocking(False)
 * -> O_NONBLOCK: EAGAIN at once; setblocking(True) / settimeout(None) -> waits.
 */
ZTEST(w5500_semantics, test_sock_timeout_model)
{
	w5_sockaddr_in_t echo;
	uint8_t buf[8];
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	int64_t t0, dt;
	int fl;

	addr_of(&echo, "10.77.0.11", 7);
	zassert_equal(zsock_connect(fd, (w5_sockaddr_t *)&echo, sizeof(echo)), 0);
	set_rcvtimeo(fd, 200);
	t0 = k_uptime_get();
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), -1);
	dt = k_uptime_get() - t0;
	zassert_equal(errno, EAGAIN, "errno %d", errno);
	zassert_true(dt >= 190 && dt < 1500, "timeout after %d ms", (int)dt);

	fl = zsock_fcntl(fd, W5_F_GETFL, 0);
	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, fl | W5_O_NONBLOCK));
	zassert_true(zsock_fcntl(fd, W5_F_GETFL, 0) & W5_O_NONBLOCK);
	t0 = k_uptime_get();
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), -1);
	zassert_equal(errno, EAGAIN);
	zassert_true(k_uptime_get() - t0 < 100, "non-blocking recv waited");

	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, fl & ~W5_O_NONBLOCK));
	set_rcvtimeo(fd, 0); /* {0, 0}: no timeout */
	zassert_equal(zsock_send(fd, "abc", 3, 0), 3);
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), 3, "blocking recv");
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), W5_MSG_DONTWAIT), -1);
	zassert_equal(errno, EAGAIN);
	zassert_ok(zsock_close(fd));
}

/* usocket close(): all future operations fail. */
ZTEST(w5500_semantics, test_sock_close_then_ops_fail)
{
	int fd = tcp_connect("10.77.0.11", 7);

	zassert_ok(zsock_close(fd));
	zassert_equal(zsock_send(fd, "x", 1, 0), -1);
	zassert_equal(errno, EBADF);
	zassert_equal(zsock_close(fd), -1);
	zassert_equal(errno, EBADF);
}

/* ---- Adafruit chip-level facts ------------------------------------------------------- */

/* max_sockets / get_socket(): 8 hardware sockets, those kept for DHCP/DNS not given out,
 * ENFILE when none is left.
 */
ZTEST(w5500_semantics, test_chip_remaining_sockets)
{
	int free0 = w5500_offload_free_sockets(NULL);
	int fds[W5500_OFFLOAD_HW_SOCKETS + 1];
	int n = 0;

	zassert_equal(free0, W5500_OFFLOAD_HW_SOCKETS - CONFIG_W5500_OFFLOAD_RESERVED_SOCKETS);
	for (; n < (int)ARRAY_SIZE(fds); n++) {
		fds[n] = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
		if (fds[n] < 0) {
			zassert_equal(errno, ENFILE, "errno %d", errno);
			break;
		}
		zassert_equal(w5500_offload_free_sockets(NULL), free0 - n - 1);
	}
	zassert_equal(n, free0);
	for (int i = 0; i < n; i++) {
		zassert_ok(zsock_close(fds[i]));
	}
	zassert_equal(w5500_offload_free_sockets(NULL), free0);
}

/* Connect to an address nobody answers with RTR rtr (100 us units) and RCR rcr, and check
 * on the simulated chip's own clock what the registers decide (DS p.38 ARPTO: the ARP request
 * is sent, then retransmitted every RTR until RCR retransmissions went unanswered): rcr + 1
 * requests, rtr * 100 us apart. Wall-clock durations are not asserted: on a loaded machine
 * QEMU's clock runs on while the guest waits for a CPU.
 */
static void check_arp_schedule(uint16_t rtr, uint8_t rcr)
{
	uint64_t at[8];
	int err, n;

	zassert_ok(w5500_offload_set_retry(NULL, rtr, rcr));
	w5500_emul_trace_start();
	zassert_equal(tcp_connect_rc("10.77.0.254", 80, &err), -1);
	zassert_true(err == EHOSTUNREACH || err == ETIMEDOUT, "errno %d", err);
	n = w5500_emul_arp_requests("10.77.0.254", at, ARRAY_SIZE(at));
	zassert_equal(n, rcr + 1, "RTR %u RCR %u: %d ARP requests", rtr, rcr, n);
	for (int i = 1; i < n && i < ARRAY_SIZE(at); i++) {
		zassert_equal(at[i] - at[i - 1], (uint64_t)rtr * 100U,
			      "RTR %u: request %d %u us after the previous one", rtr, i,
			      (unsigned int)(at[i] - at[i - 1]));
	}
}

/* rtr / rcr: Kconfig reaches RTR/RCR; they decide how long an unanswered peer takes. */
ZTEST(w5500_semantics, test_chip_retry_time_count)
{
	uint16_t t;
	uint8_t c;

	zassert_ok(w5500_offload_get_retry(NULL, &t, &c));
	zassert_equal(t, CONFIG_W5500_OFFLOAD_RETRY_TIME_100US);
	zassert_equal(c, CONFIG_W5500_OFFLOAD_RETRY_COUNT);
	zassert_equal(w5500_offload_set_retry(NULL, 0, 1), -EINVAL);

	zassert_ok(w5500_offload_set_retry(NULL, 100, 1));
	zassert_ok(w5500_offload_get_retry(NULL, &t, &c));
	zassert_true(t == 100 && c == 1);

	check_arp_schedule(100, 1);  /* 10 ms, 2 requests */
	check_arp_schedule(1000, 2); /* 100 ms, 3 requests */
	zassert_ok(w5500_offload_set_retry(NULL, CONFIG_W5500_OFFLOAD_RETRY_TIME_100US,
					   CONFIG_W5500_OFFLOAD_RETRY_COUNT));
}
