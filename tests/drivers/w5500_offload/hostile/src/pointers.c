/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: NULL and misaligned pointers where Zephyr passes the application's pointer to the
 * driver unchecked (addresses, address lengths, data buffers, msghdr and its iovecs, ioctl
 * arguments; options are in options.c). The documented rule (docs/SEMANTICS.md, "Hostile
 * input"): a NULL pointer where memory is needed is EFAULT (as Linux; Zephyr's user-mode
 * checks say the same), a length check comes first (EINVAL), an out-pointer that is
 * optional in POSIX (accept's and recvfrom's address) may be NULL; misaligned pointers work
 * (the driver copies with memcpy). Nothing here may fault.
 */

#include "hostile.h"

#define PORT 5200

/* Storage for misaligned objects: raw + 1 is misaligned for every type wider than a byte. */
static uint8_t raw[256] __aligned(8);

ZTEST(hostile_pointers, test_null_address_is_efault_and_short_length_einval)
{
	w5_sockaddr_in_t a;
	w5_socklen_t len = sizeof(a);
	int t = tcp_socket();
	int u = udp_socket();

	zassert_errno(zsock_bind(u, NULL, sizeof(a)), EFAULT);
	zassert_errno(zsock_bind(u, NULL, 0), EINVAL);
	zassert_errno(zsock_connect(t, NULL, sizeof(a)), EFAULT);
	zassert_errno(zsock_connect(t, NULL, 0), EINVAL);
	zassert_errno(zsock_connect(u, NULL, sizeof(a)), EFAULT);
	/* sendto() with no address: the address length is not looked at (POSIX), and an
	 * unconnected UDP socket has nobody to send to.
	 */
	zassert_errno(zsock_sendto(u, "x", 1, 0, NULL, sizeof(a)), EDESTADDRREQ);
	zassert_errno(zsock_getsockname(u, NULL, &len), EFAULT);
	zassert_errno(zsock_getsockname(u, (w5_sockaddr_t *)&a, NULL), EFAULT);
	zassert_errno(zsock_getpeername(t, NULL, &len), EFAULT);
	zassert_errno(zsock_getpeername(t, (w5_sockaddr_t *)&a, NULL), EFAULT);
	/* The sockets are intact. */
	addr_of(&a, ECHO_IP, 7);
	zassert_ok(zsock_connect(t, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* accept() and recvfrom() take NULL for the address, or for its length: the connection and
 * the data are still delivered, the address is not stored (Linux would fail with EFAULT
 * after taking them; the driver loses nothing).
 */
ZTEST(hostile_pointers, test_optional_address_out_pointers_may_be_null)
{
	w5_sockaddr_in_t a;
	w5_socklen_t len = 77;
	char buf[8];
	int l = tcp_socket();
	int c1, c2, u;

	addr_of(&a, "0.0.0.0", PORT);
	zassert_ok(zsock_bind(l, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(l, 2));
	set_timeout(l, W5_SO_RCVTIMEO, 3000);
	zassert_true(w5500_emul_peer_connect(CHIP_IP, PORT) >= 0);
	zassert_true(w5500_emul_peer_connect(CHIP_IP, PORT) >= 0);
	c1 = zsock_accept(l, (w5_sockaddr_t *)&a, NULL);
	zassert_true(c1 >= 0, "accept(addr, NULL): %d", errno);
	c2 = zsock_accept(l, NULL, &len);
	zassert_true(c2 >= 0, "accept(NULL, len): %d", errno);
	zassert_equal(len, 77, "length untouched without an address");

	u = udp_bound(0, 3000);
	addr_of(&a, ECHO_IP, 7);
	zassert_equal(zsock_sendto(u, "ab", 2, 0, (w5_sockaddr_t *)&a, sizeof(a)), 2);
	zassert_equal(zsock_recvfrom(u, buf, sizeof(buf), 0, (w5_sockaddr_t *)&a, NULL), 2);
	zassert_equal(zsock_sendto(u, "cd", 2, 0, (w5_sockaddr_t *)&a, sizeof(a)), 2);
	zassert_equal(zsock_recvfrom(u, buf, sizeof(buf), 0, NULL, &len), 2);
	zassert_mem_equal(buf, "cd", 2);
	zassert_equal(len, 77);
	zassert_ok(zsock_close(c1));
	zassert_ok(zsock_close(c2));
	zassert_ok(zsock_close(l));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* A NULL data buffer with a length is EFAULT on every data path (send, sendto, recv,
 * recvfrom, and the fd vtable's read/write that POSIX read()/write() call); with length 0
 * it is an empty call. Before, send(NULL, 10) returned 0 and recv(NULL, 10) looked like
 * end of stream.
 */
ZTEST(hostile_pointers, test_null_buffer_with_a_length_is_efault)
{
	const struct fd_op_vtable *vt;
	struct k_mutex *lock;
	w5_sockaddr_in_t echo;
	void *obj;
	char buf[4];
	int t = tcp_connected(ECHO_IP, 7, 1000);
	int u = udp_bound(0, 1000);
	ssize_t r;

	addr_of(&echo, ECHO_IP, 7);
	zassert_errno(zsock_send(t, NULL, 10, 0), EFAULT);
	zassert_errno(zsock_recv(t, NULL, 10, 0), EFAULT);
	zassert_equal(zsock_send(t, NULL, 0, 0), 0);
	zassert_equal(zsock_recv(t, NULL, 0, 0), 0);
	zassert_errno(zsock_sendto(u, NULL, 10, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), EFAULT);
	zassert_errno(zsock_recvfrom(u, NULL, 10, 0, NULL, NULL), EFAULT);
	vt = fd_vtable(t, &obj, &lock);
	k_mutex_lock(lock, K_FOREVER);
	errno = 0;
	r = vt->write(obj, NULL, 10);
	zassert_true(r == -1 && errno == EFAULT, "write(NULL, 10): %d errno %d", (int)r, errno);
	errno = 0;
	r = vt->read(obj, NULL, 10);
	zassert_true(r == -1 && errno == EFAULT, "read(NULL, 10): %d errno %d", (int)r, errno);
	k_mutex_unlock(lock);
	/* Still a working connection. */
	zassert_equal(zsock_send(t, "ok", 2, 0), 2);
	zassert_equal(recv_all(t, buf, 2), 2);
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* sendmsg(): NULL msghdr, NULL iovec array with a count, NULL iov_base with a length are
 * EFAULT; more than 1024 iovecs (Linux's UIO_MAXIOV) EMSGSIZE; nothing is read through
 * them.
 */
ZTEST(hostile_pointers, test_msghdr_null_pieces_are_efault)
{
	w5_iovec_t iov[2] = { { .iov_base = "ab", .iov_len = 2 },
			      { .iov_base = NULL, .iov_len = 5 } };
	w5_msghdr_t msg = { 0 };
	w5_sockaddr_in_t echo;
	int u = udp_bound(0, 1000);
	int t = tcp_connected(ECHO_IP, 7, 1000);

	addr_of(&echo, ECHO_IP, 7);
	msg.msg_name = &echo;
	msg.msg_namelen = sizeof(echo);
	zassert_errno(zsock_sendmsg(u, NULL, 0), EFAULT);
	msg.msg_iov = NULL;
	msg.msg_iovlen = 2;
	zassert_errno(zsock_sendmsg(u, &msg, 0), EFAULT);
	zassert_errno(zsock_sendmsg(t, &msg, 0), EFAULT);
	msg.msg_iov = iov;
	zassert_errno(zsock_sendmsg(u, &msg, 0), EFAULT);
	zassert_errno(zsock_sendmsg(t, &msg, 0), EFAULT);
	msg.msg_iovlen = 1025;
	zassert_errno(zsock_sendmsg(u, &msg, 0), EMSGSIZE);
#if W5_HAS_RECVMSG
	/* recvmsg() (Zephyr 3.6+) checks the same way. */
	zassert_errno(zsock_recvmsg(u, NULL, 0), EFAULT);
	msg.msg_iov = NULL;
	msg.msg_iovlen = 2;
	zassert_errno(zsock_recvmsg(u, &msg, 0), EFAULT);
	msg.msg_iov = iov;
#endif
	/* A NULL iov_base with length 0 is an empty piece. */
	iov[1].iov_len = 0;
	msg.msg_iovlen = 2;
	zassert_equal(zsock_sendmsg(u, &msg, 0), 2);
	zassert_equal(zsock_sendmsg(t, &msg, 0), 2);
	zassert_ok(zsock_close(u));
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* ioctl(FIONREAD, NULL) is EFAULT (it crashed the image before: a write through NULL);
 * FIONBIO's int * likewise where Zephyr passes one (4.0+; 3.4 passes none and sets
 * O_NONBLOCK).
 */
ZTEST(hostile_pointers, test_ioctl_null_argument_is_efault)
{
	int u = udp_bound(0, 100);
	int n = -1;

	zassert_errno(io_ctl(u, ZFD_IOCTL_FIONREAD, NULL), EFAULT);
	zassert_ok(io_ctl(u, ZFD_IOCTL_FIONREAD, &n));
	zassert_equal(n, 0);
#if W5_FIONBIO_HAS_ARG
	zassert_errno(io_ctl(u, ZFD_IOCTL_FIONBIO, NULL), EFAULT);
	zassert_equal(zsock_fcntl(u, W5_F_GETFL, 0) & W5_O_NONBLOCK, 0);
	n = 1;
	zassert_ok(io_ctl(u, ZFD_IOCTL_FIONBIO, &n));
#else
	zassert_ok(io_ctl(u, ZFD_IOCTL_FIONBIO));
#endif
	zassert_equal(zsock_fcntl(u, W5_F_GETFL, 0) & W5_O_NONBLOCK, W5_O_NONBLOCK);
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* Misaligned addresses, lengths, option values and ioctl arguments work on every path that
 * reads or writes them (on Cortex-M3 too: the driver copies with memcpy).
 */
ZTEST(hostile_pointers, test_misaligned_pointers_work)
{
	w5_sockaddr_in_t a, got;
	w5_sockaddr_t *ma = (w5_sockaddr_t *)(raw + 1);
	/* Apart from each other: socklen_t is 8 bytes on some 64-bit releases. */
	w5_socklen_t *mlen = (w5_socklen_t *)(raw + 65);
	int *mint = (int *)(raw + 81);
	struct zsock_timeval tv = { .tv_sec = 1, .tv_usec = 250000 };
	struct zsock_timeval *mtv = (struct zsock_timeval *)(raw + 97);
	w5_socklen_t len;
	int v;
	char buf[8];
	int u = udp_socket();
	int l = tcp_socket();
	int c;

	/* bind, sendto, recvfrom with misaligned address and length. */
	addr_of(&a, "0.0.0.0", PORT + 1);
	memcpy(ma, &a, sizeof(a));
	zassert_ok(zsock_bind(u, ma, sizeof(a)));
	memcpy(mtv, &tv, sizeof(tv));
	zassert_ok(zsock_setsockopt(u, W5_SOL_SOCKET, W5_SO_RCVTIMEO, mtv, sizeof(tv)));
	addr_of(&a, ECHO_IP, 7);
	memcpy(ma, &a, sizeof(a));
	zassert_equal(zsock_sendto(u, "mis", 3, 0, ma, sizeof(a)), 3);
	memset(raw, 0, sizeof(raw));
	len = sizeof(a);
	memcpy(mlen, &len, sizeof(len));
	zassert_equal(zsock_recvfrom(u, buf, sizeof(buf), 0, ma, mlen), 3);
	memcpy(&got, ma, sizeof(got));
	memcpy(&len, mlen, sizeof(len));
	zassert_equal(len, sizeof(got));
	zassert_equal(got.sin_port, w5_htons(7));
	/* getsockname into misaligned storage. */
	len = sizeof(a);
	memcpy(mlen, &len, sizeof(len));
	zassert_ok(zsock_getsockname(u, ma, mlen));
	memcpy(&got, ma, sizeof(got));
	zassert_equal(got.sin_port, w5_htons(PORT + 1));
	/* Options: misaligned value and length, both directions. */
	v = 1;
	memcpy(mint, &v, sizeof(v));
	zassert_ok(zsock_setsockopt(u, W5_SOL_SOCKET, W5_SO_BROADCAST, mint, sizeof(int)));
	memset(mint, 0, sizeof(int));
	len = sizeof(int);
	memcpy(mlen, &len, sizeof(len));
	zassert_ok(zsock_getsockopt(u, W5_SOL_SOCKET, W5_SO_BROADCAST, mint, mlen));
	memcpy(&v, mint, sizeof(v));
	zassert_equal(v, 1);
	len = sizeof(tv);
	memcpy(mlen, &len, sizeof(len));
	memset(mtv, 0, sizeof(tv));
	zassert_ok(zsock_getsockopt(u, W5_SOL_SOCKET, W5_SO_RCVTIMEO, mtv, mlen));
	memcpy(&tv, mtv, sizeof(tv));
	zassert_true(tv.tv_sec == 1 && tv.tv_usec == 250000);
	/* FIONREAD into a misaligned int: the echo of 2 bytes waits. */
	zassert_equal(zsock_sendto(u, "ab", 2, 0, (w5_sockaddr_t *)&a, sizeof(a)), 2);
	zassert_true(wait_for(u, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	zassert_ok(io_ctl(u, ZFD_IOCTL_FIONREAD, mint));
	memcpy(&v, mint, sizeof(v));
	zassert_equal(v, 2);
	/* accept() and connect() with misaligned addresses. */
	addr_of(&a, "0.0.0.0", PORT + 2);
	memcpy(ma, &a, sizeof(a));
	zassert_ok(zsock_bind(l, ma, sizeof(a)));
	zassert_ok(zsock_listen(l, 1));
	set_timeout(l, W5_SO_RCVTIMEO, 3000);
	zassert_true(w5500_emul_peer_connect(CHIP_IP, PORT + 2) >= 0);
	len = sizeof(a);
	memcpy(mlen, &len, sizeof(len));
	c = zsock_accept(l, ma, mlen);
	zassert_true(c >= 0, "accept: %d", errno);
	memcpy(&got, ma, sizeof(got));
	addr_of(&a, PEER_IP, 0);
	zassert_mem_equal(&got.sin_addr, &a.sin_addr, 4, "the peer is 10.77.0.20");
	zassert_ok(zsock_close(c));
	zassert_ok(zsock_close(l));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

ZTEST_SUITE(hostile_pointers, NULL, hostile_setup, NULL, hostile_after, NULL);
