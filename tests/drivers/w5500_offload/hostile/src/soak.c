/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * A bounded soak at the simulator's default heap: groups of open/close, connect/echo/close
 * (back to back, so most socket() calls find only sockets lingering in their background
 * close and take one over), UDP echo and DNS lookups through the chip. After each group
 * every hardware socket and descriptor has come back (hostile_all_back). Each exchange's
 * bytes are checked.
 */

#include <stdio.h>

#include <zephyr/net/dns_resolve.h>

#include "hostile.h"

#define GROUPS 3

ZTEST(hostile_soak, test_open_close)
{
	w5_sockaddr_in_t a;

	for (int g = 0; g < GROUPS; g++) {
		for (int i = 0; i < 100; i++) {
			int fd = (i % 2 == 0) ? tcp_socket() : udp_socket();

			if (i % 4 == 1) {
				addr_of(&a, "0.0.0.0", 0);
				zassert_ok(zsock_bind(fd, (w5_sockaddr_t *)&a, sizeof(a)));
			}
			zassert_ok(zsock_close(fd), "group %d cycle %d", g, i);
		}
		hostile_all_back();
	}
}

ZTEST(hostile_soak, test_connect_echo_close)
{
	uint8_t out[64], in[64];

	for (int g = 0; g < GROUPS; g++) {
		for (int i = 0; i < 40; i++) {
			int t = tcp_connected(ECHO_IP, 7, 3000);

			for (size_t k = 0; k < sizeof(out); k++) {
				out[k] = (uint8_t)(g * 40 + i + k);
			}
			zassert_equal(zsock_send(t, out, sizeof(out), 0), sizeof(out));
			zassert_equal(recv_all(t, in, sizeof(in)), sizeof(in), "group %d cycle %d",
				      g, i);
			zassert_mem_equal(in, out, sizeof(in));
			zassert_ok(zsock_close(t));
		}
		hostile_all_back();
	}
}

ZTEST(hostile_soak, test_udp_echo)
{
	w5_sockaddr_in_t echo;
	uint8_t out[200], in[256];

	addr_of(&echo, ECHO_IP, 7);
	for (int g = 0; g < GROUPS; g++) {
		int u = udp_bound(0, 3000);

		for (int i = 0; i < 50; i++) {
			size_t n = 1 + (size_t)((g * 50 + i) % sizeof(out));

			memset(out, g * 50 + i, n);
			zassert_equal(
				zsock_sendto(u, out, n, 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
				(ssize_t)n);
			zassert_equal(zsock_recv(u, in, sizeof(in), 0), (ssize_t)n);
			zassert_mem_equal(in, out, n);
		}
		zassert_ok(zsock_close(u));
		hostile_all_back();
	}
}

static void expect_addr(const char *name, const char *ip)
{
	struct zsock_addrinfo hints = { .ai_family = W5_AF_INET, .ai_socktype = W5_SOCK_STREAM };
	struct zsock_addrinfo *res = NULL;
	w5_sockaddr_in_t want;
	int r = zsock_getaddrinfo(name, "80", &hints, &res);

	zassert_equal(r, 0, "%s: %d", name, r);
	zassert_not_null(res);
	addr_of(&want, ip, 80);
	zassert_mem_equal(&((w5_sockaddr_in_t *)res->ai_addr)->sin_addr, &want.sin_addr, 4, "%s",
			  name);
	zsock_freeaddrinfo(res);
}

ZTEST(hostile_soak, test_dns)
{
	char name[32];

	for (int g = 0; g < GROUPS; g++) {
		for (int i = 0; i < 5; i++) {
			struct zsock_addrinfo *res = NULL;

			expect_addr("echo.sim.lan", ECHO_IP);
			expect_addr("alias.sim.lan", "10.77.0.10");
			expect_addr("10.77.0.20", PEER_IP);
			/* A new name every time: a real query, answered NXDOMAIN. */
			snprintf(name, sizeof(name), "n%d-%d.sim.lan", g, i);
			zassert_equal(zsock_getaddrinfo(name, NULL, NULL, &res), DNS_EAI_NONAME,
				      "%s", name);
			zassert_is_null(res);
		}
		hostile_all_back();
	}
}

ZTEST_SUITE(hostile_soak, NULL, hostile_setup, NULL, hostile_after, NULL);
