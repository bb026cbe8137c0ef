/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Shared helpers of the hostile-input suite. The chip is the simulated W5500 on the standard
 * in-memory LAN (10.77.0.0/24): the chip at 10.77.0.50, echo host .11 (TCP/UDP 7), DNS at .1,
 * the test-driven "peer" .20, nobody at .254.
 *
 * Every case asserts the errno POSIX or Zephyr documents, or the documented difference in
 * docs/SEMANTICS.md ("Hostile input"); every test ends with hostile_all_back(): every
 * hardware socket free again and no file descriptor left behind.
 */

#ifndef W5500_HOSTILE_H_
#define W5500_HOSTILE_H_

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/socket.h>
#include <zephyr/sys/fdtable.h>
#include <zephyr/ztest.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>
#include <w5500_offload/w5500_offload.h>

#define ECHO_IP   "10.77.0.11"
#define PEER_IP   "10.77.0.20"
#define CHIP_IP   "10.77.0.50"
#define NOBODY_IP "10.77.0.254"

/** Hardware sockets the application gets (the rest are kept for DHCP/DNS). */
#define USER_SOCKETS (8 - CONFIG_W5500_OFFLOAD_RESERVED_SOCKETS)

/** The IPv4 TCP MSS on Ethernet and the largest UDP payload the chip sends (no
 *  fragmentation, docs/SEMANTICS.md row 37).
 */
#define TCP_MSS 1460
#define UDP_MAX 1472

/** `expr` fails with -1 and errno `e`. */
#define zassert_errno(expr, e)                                                                     \
	do {                                                                                       \
		errno = 0;                                                                         \
		long _r = (long)(expr);                                                            \
		int _e = errno;                                                                    \
		zassert_equal(_r, -1, "%s returned %ld (errno %d)", #expr, _r, _e);                \
		zassert_equal(_e, (e), "%s: errno %d, expected %d (%s)", #expr, _e, (e), #e);      \
	} while (0)

/** The setup every suite shares: the interface is up with its address. */
void *hostile_setup(void);

/** After each test: close whatever a failed test left open, so that one failure does not
 *  fail the tests after it (the leak check itself is hostile_all_back, in the test).
 */
void hostile_after(void *fixture);

/** Every hardware socket free again (background closes given their 2 s linger) and the
 *  lowest fd the suite started with free again.
 */
void hostile_all_back(void);

void addr_of(w5_sockaddr_in_t *a, const char *ip, uint16_t port);
int tcp_socket(void);
int udp_socket(void);
/** A UDP socket bound to `port` (0: ephemeral) with SO_RCVTIMEO `ms`. */
int udp_bound(uint16_t port, int ms);
/** A TCP socket connected to ip:port with SO_RCVTIMEO/SO_SNDTIMEO `ms`. */
int tcp_connected(const char *ip, uint16_t port, int ms);
void set_timeout(int fd, int opt, int ms);
/** The descriptor of a socket that has been closed (EBADF for everything). */
int stale_fd(void);
/** zsock_ioctl with variadic arguments. */
int io_ctl(int fd, unsigned long request, ...);
/** Receive exactly n bytes (bounded by the socket's SO_RCVTIMEO); returns what came. */
size_t recv_all(int fd, void *buf, size_t n);
/** Wait (bounded) until fd polls with one of `events`; returns revents. */
short wait_for(int fd, short events, int ms);
/** The fd vtable behind `fd`, for what POSIX read()/write() call. */
const struct fd_op_vtable *fd_vtable(int fd, void **obj, struct k_mutex **lock);

#endif /* W5500_HOSTILE_H_ */
