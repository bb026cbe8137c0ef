/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: invalid descriptors, on every entry point of the socket vtable (and close, fcntl,
 * ioctl, poll). POSIX: EBADF; poll(): POLLNVAL for a non-negative invalid fd, and a negative
 * fd is ignored (revents 0). Zephyr's fd table answers before the driver for a descriptor it
 * does not know; a descriptor just closed (and one closed from another thread while the call
 * was waiting) reaches the driver's own checks.
 */

#include "hostile.h"

static void every_entry_point_is_ebadf(int fd)
{
	w5_sockaddr_in_t a;
	w5_socklen_t alen = sizeof(a);
	w5_iovec_t iov = { .iov_base = "x", .iov_len = 1 };
	w5_msghdr_t msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[8];
	int v = 1;
	w5_socklen_t vlen = sizeof(v);

	addr_of(&a, ECHO_IP, 7);
	zassert_errno(zsock_bind(fd, (w5_sockaddr_t *)&a, sizeof(a)), EBADF);
	zassert_errno(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), EBADF);
	zassert_errno(zsock_listen(fd, 1), EBADF);
	zassert_errno(zsock_accept(fd, (w5_sockaddr_t *)&a, &alen), EBADF);
	zassert_errno(zsock_send(fd, "x", 1, 0), EBADF);
	zassert_errno(zsock_sendto(fd, "x", 1, 0, (w5_sockaddr_t *)&a, sizeof(a)), EBADF);
	zassert_errno(zsock_sendmsg(fd, &msg, 0), EBADF);
#if W5_HAS_RECVMSG
	zassert_errno(zsock_recvmsg(fd, &msg, ZSOCK_MSG_DONTWAIT), EBADF);
#endif
	zassert_errno(zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EBADF);
	zassert_errno(zsock_recvfrom(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT, (w5_sockaddr_t *)&a,
				     &alen),
		      EBADF);
	zassert_errno(zsock_setsockopt(fd, W5_SOL_SOCKET, W5_SO_REUSEADDR, &v, sizeof(v)), EBADF);
	zassert_errno(zsock_getsockopt(fd, W5_SOL_SOCKET, W5_SO_TYPE, &v, &vlen), EBADF);
	zassert_errno(zsock_getsockname(fd, (w5_sockaddr_t *)&a, &alen), EBADF);
	zassert_errno(zsock_getpeername(fd, (w5_sockaddr_t *)&a, &alen), EBADF);
	zassert_errno(zsock_shutdown(fd, W5_SHUT_RDWR), EBADF);
	zassert_errno(zsock_fcntl(fd, W5_F_GETFL, 0), EBADF);
	zassert_errno(zsock_fcntl(fd, W5_F_SETFL, W5_O_NONBLOCK), EBADF);
	zassert_errno(io_ctl(fd, ZFD_IOCTL_FIONREAD, &v), EBADF);
	zassert_errno(io_ctl(fd, ZFD_IOCTL_FIONBIO, &v), EBADF);
	zassert_errno(zsock_close(fd), EBADF);
}

/* Descriptors Zephyr's fd table does not know: negative, beyond the table, far beyond. */
ZTEST(hostile_descriptors, test_unknown_descriptors_are_ebadf_everywhere)
{
	const int bad[] = { -1, -100, INT32_MIN, 1000, INT32_MAX };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		every_entry_point_is_ebadf(bad[i]);
	}
	hostile_all_back();
}

/* A descriptor whose socket was closed: TCP and UDP, fresh, bound, connected, listening. */
ZTEST(hostile_descriptors, test_closed_descriptors_are_ebadf_everywhere)
{
	w5_sockaddr_in_t a;
	int fds[5];

	fds[0] = tcp_socket();
	fds[1] = udp_bound(0, 100);
	fds[2] = tcp_connected(ECHO_IP, 7, 1000);
	fds[3] = tcp_socket();
	addr_of(&a, "0.0.0.0", 5100);
	zassert_ok(zsock_bind(fds[3], (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(fds[3], 2));
	fds[4] = udp_socket();
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		zassert_ok(zsock_close(fds[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		every_entry_point_is_ebadf(fds[i]);
	}
	hostile_all_back();
}

/* poll(): POLLNVAL for invalid descriptors next to a valid one, which is still reported;
 * a negative fd is ignored (POSIX).
 */
ZTEST(hostile_descriptors, test_poll_reports_pollnval_and_ignores_negative)
{
	struct zsock_pollfd p[4];
	int good = udp_bound(0, 100);

	p[0] = (struct zsock_pollfd){ .fd = stale_fd(), .events = ZSOCK_POLLIN };
	p[1] = (struct zsock_pollfd){ .fd = 1000, .events = ZSOCK_POLLIN };
	p[2] = (struct zsock_pollfd){ .fd = -1, .events = ZSOCK_POLLIN };
	p[3] = (struct zsock_pollfd){ .fd = good, .events = ZSOCK_POLLOUT };
	zassert_equal(zsock_poll(p, ARRAY_SIZE(p), 0), 3);
	zassert_equal(p[0].revents, ZSOCK_POLLNVAL);
	zassert_equal(p[1].revents, ZSOCK_POLLNVAL);
	zassert_equal(p[2].revents, 0);
	zassert_equal(p[3].revents, ZSOCK_POLLOUT);
	zassert_ok(zsock_close(good));
	hostile_all_back();
}

static int closer_fd;
static void closer(struct k_work *w)
{
	ARG_UNUSED(w);
	(void)zsock_close(closer_fd);
}
static K_WORK_DELAYABLE_DEFINE(closer_work, closer);

/* A descriptor closed from another thread while a call waits on it: the call returns EBADF
 * (the driver wakes it) for recv and accept without a timeout, and for a connect to a host
 * that never answers (which would otherwise end with EHOSTUNREACH after the ARP timeout).
 */
ZTEST(hostile_descriptors, test_close_from_another_thread_wakes_waiters_with_ebadf)
{
	w5_sockaddr_in_t a;
	char buf[4];

	closer_fd = udp_bound(0, 0);
	k_work_schedule(&closer_work, K_MSEC(100));
	zassert_errno(zsock_recv(closer_fd, buf, sizeof(buf), 0), EBADF);

	closer_fd = tcp_socket();
	addr_of(&a, "0.0.0.0", 5101);
	zassert_ok(zsock_bind(closer_fd, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_listen(closer_fd, 1));
	k_work_schedule(&closer_work, K_MSEC(100));
	zassert_errno(zsock_accept(closer_fd, NULL, NULL), EBADF);

	/* Nobody answers ARP for .254: connect would wait for the chip's timeout. */
	closer_fd = tcp_socket();
	addr_of(&a, NOBODY_IP, 80);
	k_work_schedule(&closer_work, K_MSEC(100));
	zassert_errno(zsock_connect(closer_fd, (w5_sockaddr_t *)&a, sizeof(a)), EBADF);
	hostile_all_back();
}

ZTEST_SUITE(hostile_descriptors, NULL, hostile_setup, NULL, hostile_after, NULL);
