/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * BSD socket API of the W5500 offload driver against the simulated chip on the in-memory
 * LAN (10.77.0.0/24: echo host .11 on TCP/UDP 7, "peer" .20 driven by the test, nobody at
 * .254). The chip has the static address 10.77.0.50.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/socket.h>
#include <zephyr/ztest.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>
#include <w5500_offload/w5500_rs.h>

#define ECHO_IP   "10.77.0.11"
#define NOBODY_IP "10.77.0.254"
#define CHIP_IP   "10.77.0.50"

int w5500_offload_errno(int name);

static void addr_of(w5_sockaddr_in_t *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = W5_AF_INET;
	a->sin_port = w5_htons(port);
	zassert_equal(zsock_inet_pton(W5_AF_INET, ip, &a->sin_addr), 1);
}

static void set_timeout(int fd, int opt, int ms)
{
	struct zsock_timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	zassert_ok(zsock_setsockopt(fd, W5_SOL_SOCKET, opt, &tv, sizeof(tv)));
}

static int tcp_connect(const char *ip, uint16_t port)
{
	w5_sockaddr_in_t a;
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, W5_IPPROTO_TCP);

	zassert_true(fd >= 0, "socket: %d", errno);
	addr_of(&a, ip, port);
	zassert_ok(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), "connect: %d", errno);
	return fd;
}

/* The link comes up some time after reset; the address follows. */
static void *suite_setup(void)
{
	struct net_if *iface = net_if_get_default();

	for (int i = 0; i < 500; i++) {
		if (iface != NULL && net_if_is_up(iface) && net_if_is_carrier_ok(iface)
#if W5_HAS_IPV4_BOOKKEEPING
		    && net_if_ipv4_get_global_addr(iface, NET_ADDR_PREFERRED) != NULL
#endif
		) {
			return NULL;
		}
		k_msleep(10);
	}
	zassert_unreachable("interface never came up with an address");
	return NULL;
}

ZTEST_SUITE(w5500_sockets, NULL, suite_setup, NULL, NULL, NULL);

ZTEST(w5500_sockets, test_tcp_echo_blocking)
{
	char buf[32] = { 0 };
	int fd = tcp_connect(ECHO_IP, 7);
	ssize_t n;

	zassert_equal(zsock_send(fd, "hello w5500", 11, 0), 11);
	set_timeout(fd, W5_SO_RCVTIMEO, 3000);
	n = zsock_recv(fd, buf, sizeof(buf), 0);
	zassert_true(n > 0, "recv %d errno %d", (int)n, errno);
	zassert_mem_equal(buf, "hello w5500", n);
	zassert_ok(zsock_close(fd));
}

ZTEST(w5500_sockets, test_udp_echo)
{
	w5_sockaddr_in_t to, from;
	w5_socklen_t flen = sizeof(from);
	char buf[16];
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	ssize_t n;

	zassert_true(fd >= 0);
	addr_of(&to, ECHO_IP, 7);
	set_timeout(fd, W5_SO_RCVTIMEO, 3000);
	zassert_equal(zsock_sendto(fd, "ping", 4, 0, (w5_sockaddr_t *)&to, sizeof(to)), 4);
	n = zsock_recvfrom(fd, buf, sizeof(buf), 0, (w5_sockaddr_t *)&from, &flen);
	zassert_equal(n, 4, "recvfrom %d errno %d", (int)n, errno);
	zassert_mem_equal(buf, "ping", 4);
	zassert_equal(from.sin_port, w5_htons(7));
	zassert_ok(zsock_close(fd));
}

ZTEST(w5500_sockets, test_nonblocking_recv_is_eagain)
{
	char buf[4];
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	int flags;

	zassert_true(fd >= 0);
	flags = zsock_fcntl(fd, W5_F_GETFL, 0);
	zassert_equal(flags & W5_O_NONBLOCK, 0);
	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, flags | W5_O_NONBLOCK));
	zassert_equal(zsock_fcntl(fd, W5_F_GETFL, 0) & W5_O_NONBLOCK, W5_O_NONBLOCK);
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), -1);
	zassert_equal(errno, EAGAIN);
	zassert_ok(zsock_fcntl(fd, W5_F_SETFL, 0));
	/* MSG_DONTWAIT on a blocking socket. */
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), -1);
	zassert_equal(errno, EAGAIN);
	zassert_ok(zsock_close(fd));
}

ZTEST(w5500_sockets, test_rcvtimeo_expires)
{
	w5_sockaddr_in_t a;
	char buf[4];
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	int64_t start;

	zassert_true(fd >= 0);
	addr_of(&a, "0.0.0.0", 4000);
	zassert_ok(zsock_bind(fd, (w5_sockaddr_t *)&a, sizeof(a)));
	set_timeout(fd, W5_SO_RCVTIMEO, 200);
	start = k_uptime_get();
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), -1);
	zassert_equal(errno, EAGAIN);
	zassert_true(k_uptime_get() - start >= 200, "returned after %d ms",
		     (int)(k_uptime_get() - start));
	zassert_ok(zsock_close(fd));
}

ZTEST(w5500_sockets, test_poll_in_out_and_timeout)
{
	struct zsock_pollfd pfd;
	char buf[8];
	int fd = tcp_connect(ECHO_IP, 7);

	pfd.fd = fd;
	pfd.events = ZSOCK_POLLOUT;
	zassert_equal(zsock_poll(&pfd, 1, 1000), 1);
	zassert_true(pfd.revents & ZSOCK_POLLOUT);

	pfd.events = ZSOCK_POLLIN;
	zassert_equal(zsock_poll(&pfd, 1, 100), 0, "nothing to read yet");

	zassert_equal(zsock_send(fd, "abc", 3, 0), 3);
	zassert_equal(zsock_poll(&pfd, 1, 3000), 1);
	zassert_true(pfd.revents & ZSOCK_POLLIN);
	zassert_equal(zsock_recv(fd, buf, sizeof(buf), 0), 3);
	zassert_ok(zsock_close(fd));
}

ZTEST(w5500_sockets, test_accept_backlog_two_peers)
{
	w5_sockaddr_in_t a, peer;
	w5_socklen_t plen = sizeof(peer);
	char buf[16];
	int lfd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	int c1, c2, h1, h2;

	zassert_true(lfd >= 0);
	addr_of(&a, "0.0.0.0", 5000);
	zassert_ok(zsock_bind(lfd, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(lfd, 2));
	h1 = w5500_emul_peer_connect(CHIP_IP, 5000);
	h2 = w5500_emul_peer_connect(CHIP_IP, 5000);
	zassert_true(h1 >= 0 && h2 >= 0);
	set_timeout(lfd, W5_SO_RCVTIMEO, 3000);
	c1 = zsock_accept(lfd, (w5_sockaddr_t *)&peer, &plen);
	zassert_true(c1 >= 0, "accept 1: %d", errno);
	c2 = zsock_accept(lfd, NULL, NULL);
	zassert_true(c2 >= 0, "accept 2: %d", errno);
	zassert_equal(peer.sin_family, W5_AF_INET);

	/* Which peer each accepted socket belongs to depends on handshake timing: tell them
	 * apart by what they send.
	 */
	zassert_ok(w5500_emul_peer_send(h1, "one", 3));
	zassert_ok(w5500_emul_peer_send(h2, "two", 3));
	set_timeout(c1, W5_SO_RCVTIMEO, 3000);
	set_timeout(c2, W5_SO_RCVTIMEO, 3000);
	zassert_equal(zsock_recv(c1, buf, 3, ZSOCK_MSG_WAITALL), 3);
	zassert_equal(zsock_recv(c2, buf + 3, 3, ZSOCK_MSG_WAITALL), 3);
	zassert_true((memcmp(buf, "one", 3) == 0 && memcmp(buf + 3, "two", 3) == 0) ||
			     (memcmp(buf, "two", 3) == 0 && memcmp(buf + 3, "one", 3) == 0),
		     "each connection carries its own peer's bytes");
	h2 = memcmp(buf + 3, "two", 3) == 0 ? h2 : h1;
	zassert_equal(zsock_send(c2, "ack", 3, 0), 3);
	for (int i = 0; i < 100 && w5500_emul_peer_received(h2, buf, sizeof(buf)) < 3; i++) {
		k_msleep(10);
	}
	zassert_equal(w5500_emul_peer_received(h2, buf, sizeof(buf)), 3);
	zassert_mem_equal(buf, "ack", 3);
	zassert_ok(zsock_close(c1));
	zassert_ok(zsock_close(c2));
	zassert_ok(zsock_close(lfd));
}

static int blocked_fd;
static int blocked_ret;
static int blocked_errno;
static K_SEM_DEFINE(blocked_done, 0, 1);

static void blocked_recv(void *a, void *b, void *c)
{
	char buf[4];

	blocked_ret = zsock_recv(blocked_fd, buf, sizeof(buf), 0);
	blocked_errno = errno;
	k_sem_give(&blocked_done);
}

static K_THREAD_STACK_DEFINE(blocked_stack, 16384);
static struct k_thread blocked_thread;

/* A recv() blocked without timeout must not keep the fd lock: close() from another thread
 * proceeds and wakes it with EBADF.
 */
ZTEST(w5500_sockets, test_close_from_another_thread)
{
	w5_sockaddr_in_t a;

	blocked_fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	zassert_true(blocked_fd >= 0);
	addr_of(&a, "0.0.0.0", 4001);
	zassert_ok(zsock_bind(blocked_fd, (w5_sockaddr_t *)&a, sizeof(a)));
	k_thread_create(&blocked_thread, blocked_stack, K_THREAD_STACK_SIZEOF(blocked_stack),
			blocked_recv, NULL, NULL, NULL, K_PRIO_PREEMPT(1), 0, K_NO_WAIT);
	k_msleep(100);
	zassert_ok(zsock_close(blocked_fd));
	zassert_ok(k_sem_take(&blocked_done, K_SECONDS(2)), "recv did not return after close");
	zassert_equal(blocked_ret, -1);
	zassert_equal(blocked_errno, EBADF);
	k_thread_join(&blocked_thread, K_SECONDS(1));
}

ZTEST(w5500_sockets, test_errno_values)
{
	w5_sockaddr_in_t a;
	int fd, v = 1;
	char c;

	/* Connection refused: the echo host has nothing on port 81 (RST). */
	fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	addr_of(&a, ECHO_IP, 81);
	zassert_equal(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), -1);
	zassert_equal(errno, ECONNREFUSED, "errno %d", errno);
	zassert_ok(zsock_close(fd));

	/* Nobody answers ARP: bounded by SO_SNDTIMEO or the chip's ARP timeout. */
	fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	set_timeout(fd, W5_SO_SNDTIMEO, 500);
	addr_of(&a, NOBODY_IP, 80);
	zassert_equal(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), -1);
	zassert_true(errno == ETIMEDOUT || errno == EHOSTUNREACH, "errno %d", errno);
	zassert_ok(zsock_close(fd));

	/* Not connected. */
	fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	zassert_equal(zsock_send(fd, "x", 1, 0), -1);
	zassert_equal(errno, ENOTCONN, "errno %d", errno);
	/* Unknown option. */
	zassert_equal(zsock_setsockopt(fd, W5_SOL_SOCKET, 0x7777, &v, sizeof(v)), -1);
	zassert_equal(errno, ENOPROTOOPT);
	zassert_ok(zsock_close(fd));
	/* Closed descriptor. */
	zassert_equal(zsock_recv(fd, &c, 1, 0), -1);
	zassert_equal(errno, EBADF);
	/* IPv6 is not offloaded, and nothing else provides it here. */
	zassert_equal(zsock_socket(W5_AF_INET6, W5_SOCK_STREAM, 0), -1);
	zassert_equal(errno, EAFNOSUPPORT, "errno %d", errno);
}

ZTEST(w5500_sockets, test_so_error_and_so_type)
{
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	int v = -1;
	w5_socklen_t len = sizeof(v);

	zassert_ok(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_TYPE, &v, &len));
	zassert_equal(v, W5_SOCK_DGRAM);
	zassert_ok(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_ERROR, &v, &len));
	zassert_equal(v, 0);
	zassert_ok(zsock_close(fd));
}

/* Every errno name Rust can return maps to a distinct errno number (one switch in C). */
ZTEST(w5500_sockets, test_errno_name_mapping)
{
	for (int a = W5500_RS_ERRNO_EIO; a <= W5500_RS_ERRNO_ENOBUFS; a++) {
		zassert_true(w5500_offload_errno(a) > 0);
		for (int b = a + 1; b <= W5500_RS_ERRNO_ENOBUFS; b++) {
			zassert_not_equal(w5500_offload_errno(a), w5500_offload_errno(b),
					  "names %d and %d", a, b);
		}
	}
	zassert_equal(w5500_offload_errno(W5500_RS_ERRNO_ECONNREFUSED), ECONNREFUSED);
	zassert_equal(w5500_offload_errno(W5500_RS_ERRNO_EAGAIN), EAGAIN);
}

ZTEST(w5500_sockets, test_getaddrinfo_numeric)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_DGRAM };
	struct zsock_addrinfo *res = NULL;
	w5_sockaddr_in_t *in;

	zassert_ok(zsock_getaddrinfo(ECHO_IP, "7", &hints, &res));
	zassert_not_null(res);
	zassert_equal(res->ai_family, W5_AF_INET);
	zassert_equal(res->ai_socktype, W5_SOCK_DGRAM);
	in = (w5_sockaddr_in_t *)res->ai_addr;
	zassert_equal(in->sin_port, w5_htons(7));
	zassert_is_null(res->ai_next);
	zsock_freeaddrinfo(res);
	/* A few well-known service names are known without /etc/services ("echo" is 7);
	 * others are not.
	 */
	zassert_ok(zsock_getaddrinfo(ECHO_IP, "echo", &hints, &res));
	zassert_equal(w5_ntohs(((w5_sockaddr_in_t *)res->ai_addr)->sin_port), 7);
	zsock_freeaddrinfo(res);
	zassert_equal(zsock_getaddrinfo(ECHO_IP, "no-such-service", NULL, &res), DNS_EAI_SERVICE);
	hints.ai_family = W5_AF_INET6;
	zassert_equal(zsock_getaddrinfo(ECHO_IP, "7", &hints, &res), DNS_EAI_FAMILY);
}

/* Link loss: carrier follows the PHY; sockets report ENETDOWN while the cable is out. */
ZTEST(w5500_sockets, test_link_loss_and_return)
{
	struct net_if *iface = net_if_get_default();
	int fd, i;
	w5_sockaddr_in_t a;

	w5500_emul_set_link(false);
	for (i = 0; i < 200 && net_if_is_carrier_ok(iface); i++) {
		k_msleep(10);
	}
	zassert_false(net_if_is_carrier_ok(iface), "carrier still on");
	fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	addr_of(&a, ECHO_IP, 7);
	zassert_equal(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), -1);
	zassert_equal(errno, ENETDOWN, "errno %d", errno);
	zassert_ok(zsock_close(fd));
	w5500_emul_set_link(true);
	for (i = 0; i < 300 && !net_if_is_carrier_ok(iface); i++) {
		k_msleep(10);
	}
	zassert_true(net_if_is_carrier_ok(iface), "carrier did not return");
	zassert_ok(zsock_close(tcp_connect(ECHO_IP, 7)));
}
