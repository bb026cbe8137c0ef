/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Helpers of the hostile-input suite (hostile.h).
 */

#include "hostile.h"

#include <zephyr/net/net_if.h>

/* The lowest descriptor free when the suite started. */
static int first_fd = -1;

void addr_of(w5_sockaddr_in_t *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = W5_AF_INET;
	a->sin_port = w5_htons(port);
	zassert_equal(zsock_inet_pton(W5_AF_INET, ip, &a->sin_addr), 1, "%s", ip);
}

int tcp_socket(void)
{
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, W5_IPPROTO_TCP);

	zassert_true(fd >= 0, "socket(TCP): errno %d", errno);
	return fd;
}

int udp_socket(void)
{
	int fd = zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, W5_IPPROTO_UDP);

	zassert_true(fd >= 0, "socket(UDP): errno %d", errno);
	return fd;
}

void set_timeout(int fd, int opt, int ms)
{
	struct zsock_timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	zassert_ok(zsock_setsockopt(fd, W5_SOL_SOCKET, opt, &tv, sizeof(tv)));
}

int udp_bound(uint16_t port, int ms)
{
	w5_sockaddr_in_t a;
	int fd = udp_socket();

	addr_of(&a, "0.0.0.0", port);
	zassert_ok(zsock_bind(fd, (w5_sockaddr_t *)&a, sizeof(a)), "bind: %d", errno);
	set_timeout(fd, W5_SO_RCVTIMEO, ms);
	return fd;
}

int tcp_connected(const char *ip, uint16_t port, int ms)
{
	w5_sockaddr_in_t a;
	int fd = tcp_socket();

	set_timeout(fd, W5_SO_RCVTIMEO, ms);
	set_timeout(fd, W5_SO_SNDTIMEO, ms);
	addr_of(&a, ip, port);
	zassert_ok(zsock_connect(fd, (w5_sockaddr_t *)&a, sizeof(a)), "connect %s:%u: %d", ip, port,
		   errno);
	return fd;
}

int stale_fd(void)
{
	int fd = udp_socket();

	zassert_ok(zsock_close(fd));
	return fd;
}

int io_ctl(int fd, unsigned long request, ...)
{
	va_list ap;
	int r;

	va_start(ap, request);
	r = zsock_ioctl(fd, request, ap);
	va_end(ap);
	return r;
}

size_t recv_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 10000 && got < n; i++) {
		ssize_t r = zsock_recv(fd, (uint8_t *)buf + got, n - got, 0);

		if (r <= 0) {
			break;
		}
		got += (size_t)r;
	}
	return got;
}

short wait_for(int fd, short events, int ms)
{
	struct zsock_pollfd p = { .fd = fd, .events = events };

	if (zsock_poll(&p, 1, ms) != 1) {
		return 0;
	}
	return p.revents;
}

const struct fd_op_vtable *fd_vtable(int fd, void **obj, struct k_mutex **lock)
{
	const struct fd_op_vtable *vt = NULL;

	*obj = w5_get_fd_obj_and_vtable(fd, &vt, lock);
	zassert_not_null(*obj, "fd %d", fd);
	return vt;
}

/* The link comes up some time after reset; the static address is programmed at once. */
void *hostile_setup(void)
{
	struct net_if *iface = net_if_get_default();

	for (int i = 0; i < 500; i++) {
		if (iface != NULL && net_if_is_up(iface) && net_if_is_carrier_ok(iface)) {
			break;
		}
		k_msleep(10);
	}
	zassert_true(iface != NULL && net_if_is_carrier_ok(iface), "interface never came up");
	if (first_fd < 0) {
		first_fd = udp_socket();
		zassert_ok(zsock_close(first_fd));
	}
	return NULL;
}

void hostile_after(void *fixture)
{
	ARG_UNUSED(fixture);
	if (first_fd < 0) {
		return;
	}
	/* Everything from the suite's first descriptor up was opened by a test. */
	for (int fd = first_fd; fd < first_fd + 64; fd++) {
		(void)zsock_close(fd);
	}
	for (int i = 0; i < 300 && w5500_offload_free_sockets(NULL) != USER_SOCKETS; i++) {
		k_msleep(10);
	}
}

void hostile_all_back(void)
{
	int free_hw = -1;
	int fd;

	/* A TCP close finishes in the background (FIN exchange, at most the 2 s linger). */
	for (int i = 0; i < 300; i++) {
		free_hw = w5500_offload_free_sockets(NULL);
		if (free_hw == USER_SOCKETS) {
			break;
		}
		k_msleep(10);
	}
	zassert_equal(free_hw, USER_SOCKETS, "hardware sockets free: %d of %d", free_hw,
		      USER_SOCKETS);
	fd = udp_socket();
	zassert_equal(fd, first_fd, "a descriptor was left behind (got %d, first %d)", fd,
		      first_fd);
	zassert_ok(zsock_close(fd));
}
