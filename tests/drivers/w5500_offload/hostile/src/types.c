/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: wrong socket types, families and protocols, and operations of the other type or in
 * the wrong state. socket() of anything but IPv4 TCP/UDP is EAFNOSUPPORT: Zephyr's rule when
 * no socket provider takes (family, type, protocol), before the driver is asked (Linux would
 * say EPROTONOSUPPORT or ESOCKTNOSUPPORT for some; docs/SEMANTICS.md, "Hostile input").
 * Operations: POSIX's errno for each (EOPNOTSUPP, EINVAL, EISCONN, ENOTCONN).
 */

#include "hostile.h"

#define PORT 5400

ZTEST(hostile_types, test_socket_of_unsupported_family_type_protocol)
{
	const int family[] = { W5_AF_INET6,     W5_AF_UNSPEC, 3, 17 /* AF_PACKET */,
			       29 /* AF_CAN */, 12345,        -1 };
	const int type[] = { 0,  3 /* SOCK_RAW */,      4, 5 /* SOCK_SEQPACKET */, 99,
			     -1, W5_SOCK_STREAM | 0x800 /* SOCK_NONBLOCK */ };
	const int stream_proto[] = { W5_IPPROTO_UDP, 1 /* ICMP */, 255, 258 /* TLS 1.2 */, -1 };
	const int dgram_proto[] = { W5_IPPROTO_TCP, 1, 255, 273 /* DTLS 1.2 */, -1 };
	int fd;

	for (size_t i = 0; i < ARRAY_SIZE(family); i++) {
		zassert_errno(zsock_socket(family[i], W5_SOCK_STREAM, 0), EAFNOSUPPORT);
		zassert_errno(zsock_socket(family[i], W5_SOCK_DGRAM, 0), EAFNOSUPPORT);
	}
	for (size_t i = 0; i < ARRAY_SIZE(type); i++) {
		zassert_errno(zsock_socket(W5_AF_INET, type[i], 0), EAFNOSUPPORT);
	}
	for (size_t i = 0; i < ARRAY_SIZE(stream_proto); i++) {
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_STREAM, stream_proto[i]),
			      EAFNOSUPPORT);
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, dgram_proto[i]),
			      EAFNOSUPPORT);
	}
	/* What is supported: protocol 0 picks it from the type. */
	fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
	zassert_true(fd >= 0);
	zassert_ok(zsock_close(fd));
	fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0);
	zassert_true(fd >= 0);
	zassert_ok(zsock_close(fd));
	hostile_all_back();
}

/* An address of another family (sa_family AF_INET6, AF_UNSPEC, made up) in bind, connect
 * and sendto is EAFNOSUPPORT (POSIX), with a length that would fit it; on a TCP socket
 * sendto()'s address is ignored (POSIX: connection-mode). AF_UNSPEC does not dissolve a UDP
 * association here (Linux would).
 */
ZTEST(hostile_types, test_addresses_of_other_families)
{
	const int fam[] = { W5_AF_INET6, W5_AF_UNSPEC, 12345 };
	static uint8_t buf[128] __aligned(8);
	w5_sockaddr_in_t a;
	int u = udp_socket();
	int n = tcp_socket();
	int t = tcp_connected(ECHO_IP, 7, 1000);
	char in[2];

	for (size_t i = 0; i < ARRAY_SIZE(fam); i++) {
		memset(buf, 0, sizeof(buf));
		addr_of(&a, ECHO_IP, 7);
		memcpy(buf, &a, sizeof(a));
		((w5_sockaddr_t *)buf)->sa_family = fam[i];
		zassert_errno(zsock_bind(u, (w5_sockaddr_t *)buf, 28), EAFNOSUPPORT);
		zassert_errno(zsock_connect(u, (w5_sockaddr_t *)buf, 28), EAFNOSUPPORT);
		zassert_errno(zsock_sendto(u, "x", 1, 0, (w5_sockaddr_t *)buf, 28), EAFNOSUPPORT);
		zassert_errno(zsock_connect(n, (w5_sockaddr_t *)buf, 28), EAFNOSUPPORT);
		zassert_equal(zsock_sendto(t, "y", 1, 0, (w5_sockaddr_t *)buf, 28), 1);
		zassert_equal(recv_all(t, in, 1), 1);
	}
	zassert_ok(zsock_close(u));
	zassert_ok(zsock_close(n));
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* UDP has no connections: listen() and accept() are EOPNOTSUPP (POSIX; accept() was EINVAL
 * before), shutdown() of an unconnected one ENOTCONN (as Linux).
 */
ZTEST(hostile_types, test_stream_operations_on_udp)
{
	w5_sockaddr_in_t a;
	int u = udp_socket();

	zassert_errno(zsock_listen(u, 1), EOPNOTSUPP);
	zassert_errno(zsock_accept(u, NULL, NULL), EOPNOTSUPP);
	zassert_errno(zsock_shutdown(u, W5_SHUT_RDWR), ENOTCONN);
	addr_of(&a, "0.0.0.0", PORT);
	zassert_ok(zsock_bind(u, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_errno(zsock_listen(u, 1), EOPNOTSUPP);
	zassert_errno(zsock_accept(u, NULL, NULL), EOPNOTSUPP);
	addr_of(&a, ECHO_IP, 7);
	zassert_ok(zsock_connect(u, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_shutdown(u, W5_SHUT_RD));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* TCP in the wrong state (POSIX): bind twice EINVAL; send/recv/getpeername before connect
 * ENOTCONN; accept without listen EINVAL; connect on a listening socket EOPNOTSUPP; listen
 * and connect on a connected one EINVAL and EISCONN.
 */
ZTEST(hostile_types, test_tcp_operations_in_the_wrong_state)
{
	w5_sockaddr_in_t a;
	w5_socklen_t len = sizeof(a);
	char buf[4];
	int t = tcp_socket();
	int l = tcp_socket();
	int c = tcp_connected(ECHO_IP, 7, 1000);

	zassert_errno(zsock_send(t, "x", 1, 0), ENOTCONN);
	zassert_errno(zsock_recv(t, buf, sizeof(buf), 0), ENOTCONN);
	zassert_errno(zsock_getpeername(t, (w5_sockaddr_t *)&a, &len), ENOTCONN);
	zassert_errno(zsock_accept(t, NULL, NULL), EINVAL);
	addr_of(&a, "0.0.0.0", PORT + 1);
	zassert_ok(zsock_bind(t, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_errno(zsock_bind(t, (w5_sockaddr_t *)&a, sizeof(a)), EINVAL);
	addr_of(&a, "0.0.0.0", PORT + 2);
	zassert_ok(zsock_bind(l, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(l, 1));
	addr_of(&a, ECHO_IP, 7);
	zassert_errno(zsock_connect(l, (w5_sockaddr_t *)&a, sizeof(a)), EOPNOTSUPP);
	zassert_errno(zsock_listen(c, 1), EINVAL);
	zassert_errno(zsock_connect(c, (w5_sockaddr_t *)&a, sizeof(a)), EISCONN);
	zassert_errno(zsock_accept(c, NULL, NULL), EINVAL);
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(l));
	zassert_ok(zsock_close(c));
	hostile_all_back();
}

ZTEST_SUITE(hostile_types, NULL, hostile_setup, NULL, hostile_after, NULL);
