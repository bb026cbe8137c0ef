/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: exhaustion and recovery. Hardware sockets (8 on the chip, CONFIG_W5500_OFFLOAD_
 * RESERVED_SOCKETS kept for DHCP/DNS): the next socket() is ENFILE (docs/SEMANTICS.md row
 * 42), and closing gives each back. The fd table: socket() and accept() are ENFILE (POSIX)
 * without taking a hardware socket, and a connection waiting for accept() is not lost. A
 * listener that takes every free hardware socket gives them back when closed.
 */

#include "hostile.h"

#define PORT 5500

ZTEST(hostile_exhaustion, test_hardware_sockets_run_out_and_come_back)
{
	int fds[USER_SOCKETS];
	char buf[4];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < USER_SOCKETS; i++) {
			fds[i] = (i % 2 == 0) ? tcp_connected(ECHO_IP, 7, 3000) : udp_bound(0, 100);
		}
		zassert_equal(w5500_offload_free_sockets(NULL), 0);
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0), ENFILE);
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0), ENFILE);
		/* One UDP socket closed: one socket() succeeds, the next is ENFILE again. */
		zassert_ok(zsock_close(fds[1]));
		fds[1] = udp_bound(0, 100);
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0), ENFILE);
		/* The held connections still work. */
		for (int i = 0; i < USER_SOCKETS; i += 2) {
			zassert_equal(zsock_send(fds[i], "ok", 2, 0), 2);
			zassert_equal(recv_all(fds[i], buf, 2), 2, "round %d socket %d", round, i);
		}
		for (int i = 0; i < USER_SOCKETS; i++) {
			zassert_ok(zsock_close(fds[i]));
		}
		hostile_all_back();
	}
}

/* Fill the fd table with reserved (never finalized) descriptors; returns how many. */
static int fill_fd_table(int *fds, int max)
{
	int n = 0;

	while (n < max) {
		int fd = w5_reserve_fd();

		if (fd < 0) {
			zassert_equal(errno, ENFILE);
			break;
		}
		fds[n++] = fd;
	}
	zassert_true(n < max, "the fd table did not run out");
	return n;
}

/* A full fd table: socket() and accept() are ENFILE and take no hardware socket; the
 * connection waiting for accept() stays, and is accepted, with its data, once an fd is
 * free.
 */
ZTEST(hostile_exhaustion, test_fd_table_runs_out_and_nothing_is_lost)
{
	static int reserved[256];
	w5_sockaddr_in_t a;
	char buf[8];
	int l = tcp_socket();
	int n, h, c, free_hw;

	addr_of(&a, "0.0.0.0", PORT);
	zassert_ok(zsock_bind(l, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(l, 1));
	set_timeout(l, W5_SO_RCVTIMEO, 3000);
	h = w5500_emul_peer_connect(CHIP_IP, PORT);
	zassert_true(h >= 0);
	zassert_ok(w5500_emul_peer_send(h, "queued", 6));
	zassert_true(wait_for(l, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	free_hw = w5500_offload_free_sockets(NULL);
	n = fill_fd_table(reserved, ARRAY_SIZE(reserved));
	zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0), ENFILE);
	zassert_errno(zsock_accept(l, NULL, NULL), ENFILE);
	zassert_equal(w5500_offload_free_sockets(NULL), free_hw, "no hardware socket taken");
	w5_free_fd(reserved[--n]);
	c = zsock_accept(l, NULL, NULL);
	zassert_true(c >= 0, "accept once an fd is free: %d", errno);
	set_timeout(c, W5_SO_RCVTIMEO, 3000);
	zassert_equal(recv_all(c, buf, 6), 6);
	zassert_mem_equal(buf, "queued", 6);
	while (n > 0) {
		w5_free_fd(reserved[--n]);
	}
	zassert_ok(zsock_close(c));
	zassert_ok(zsock_close(l));
	hostile_all_back();
}

/* A listener with a backlog above the free hardware sockets takes them all (socket() is
 * then ENFILE), accepts, and gives every one back when closed.
 */
ZTEST(hostile_exhaustion, test_listener_takes_every_free_socket_and_gives_them_back)
{
	w5_sockaddr_in_t a;
	int l = tcp_socket();
	int c;

	addr_of(&a, "0.0.0.0", PORT + 1);
	zassert_ok(zsock_bind(l, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(l, 100));
	zassert_equal(w5500_offload_free_sockets(NULL), 0);
	zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0), ENFILE);
	set_timeout(l, W5_SO_RCVTIMEO, 3000);
	zassert_true(w5500_emul_peer_connect(CHIP_IP, PORT + 1) >= 0);
	c = zsock_accept(l, NULL, NULL);
	zassert_true(c >= 0, "accept: %d", errno);
	zassert_ok(zsock_close(c));
	zassert_ok(zsock_close(l));
	hostile_all_back();
}

ZTEST_SUITE(hostile_exhaustion, NULL, hostile_setup, NULL, hostile_after, NULL);
