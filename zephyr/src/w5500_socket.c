/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief BSD sockets offloaded to the W5500: the socket_op_vtable, fd reservation, poll
 *        plumbing, option decoding and errno mapping. Everything with logic is in Rust
 *        (w5500_rs_*); this file converts Zephyr types at the edge.
 *
 * Conventions (Zephyr's socket-offload contract): every op returns >= 0 or -1 with errno
 * set, except the poll ioctls (negative errno). Blocking calls release the fd lock while
 * they wait (w5500_shim_wait), so send/poll/close from other threads proceed.
 *
 * Not to be confused with Zephyr's eth_w5500.c, which drives the same chip in MACRAW mode
 * under the native IP stack: this driver uses the chip's own TCP/IP engine.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/logging/log.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/socket_offload.h>

#include "w5500_priv.h"

LOG_MODULE_DECLARE(w5500_offload, CONFIG_W5500_OFFLOAD_LOG_LEVEL);

/* sizeof(struct ip_mreq): the group address, then the interface address. */
#define W5_IP_MREQ_LEN 8

static const struct socket_op_vtable w5500_vtable;

int w5500_offload_errno(int name)
{
	switch (name) {
	case W5500_RS_ERRNO_EIO:
		return EIO;
	case W5500_RS_ERRNO_ENODEV:
		return ENODEV;
	case W5500_RS_ERRNO_EAGAIN:
		return EAGAIN;
	case W5500_RS_ERRNO_ETIMEDOUT:
		return ETIMEDOUT;
	case W5500_RS_ERRNO_ECONNREFUSED:
		return ECONNREFUSED;
	case W5500_RS_ERRNO_ECONNRESET:
		return ECONNRESET;
	case W5500_RS_ERRNO_ECONNABORTED:
		return ECONNABORTED;
	case W5500_RS_ERRNO_ENOTCONN:
		return ENOTCONN;
	case W5500_RS_ERRNO_EISCONN:
		return EISCONN;
	case W5500_RS_ERRNO_EINPROGRESS:
		return EINPROGRESS;
	case W5500_RS_ERRNO_EALREADY:
		return EALREADY;
	case W5500_RS_ERRNO_ENFILE:
		return ENFILE;
	case W5500_RS_ERRNO_EADDRINUSE:
		return EADDRINUSE;
	case W5500_RS_ERRNO_EADDRNOTAVAIL:
		return EADDRNOTAVAIL;
	case W5500_RS_ERRNO_EINVAL:
		return EINVAL;
	case W5500_RS_ERRNO_EBADF:
		return EBADF;
	case W5500_RS_ERRNO_EMSGSIZE:
		return EMSGSIZE;
	case W5500_RS_ERRNO_ENETDOWN:
		return ENETDOWN;
	case W5500_RS_ERRNO_ENETUNREACH:
		return ENETUNREACH;
	case W5500_RS_ERRNO_EHOSTUNREACH:
		return EHOSTUNREACH;
	case W5500_RS_ERRNO_EOPNOTSUPP:
		return EOPNOTSUPP;
	case W5500_RS_ERRNO_EPROTONOSUPPORT:
		return EPROTONOSUPPORT;
	case W5500_RS_ERRNO_EAFNOSUPPORT:
		return EAFNOSUPPORT;
	case W5500_RS_ERRNO_EPROTOTYPE:
		return EPROTOTYPE;
	case W5500_RS_ERRNO_ENOPROTOOPT:
		return ENOPROTOOPT;
	case W5500_RS_ERRNO_EPIPE:
		return EPIPE;
	case W5500_RS_ERRNO_EDESTADDRREQ:
		return EDESTADDRREQ;
	case W5500_RS_ERRNO_EACCES:
		return EACCES;
	case W5500_RS_ERRNO_ENOBUFS:
		return ENOBUFS;
	case W5500_RS_ERRNO_EFAULT:
		return EFAULT;
	default:
		return EIO;
	}
}

static struct w5500_sock *sock_alloc(struct w5500_offload_data *d, int32_t id, uint8_t type, int fd)
{
	struct w5500_sock *s = &d->socks[id & W5500_RS_SOCKET_INDEX_MASK];

	k_mutex_lock(&d->socks_lock, K_FOREVER);
	s->id = id;
	s->fd = fd;
	s->fd_lock = NULL;
	s->type = type;
	k_poll_signal_reset(&s->sig);
	k_mutex_unlock(&d->socks_lock);
	return s;
}

static void sock_release(struct w5500_offload_data *d, struct w5500_sock *s)
{
	k_mutex_lock(&d->socks_lock, K_FOREVER);
	s->id = -1;
	s->fd = -1;
	s->fd_lock = NULL;
	/* Wake a poll() still holding this event: it will see POLLNVAL. */
	k_poll_signal_raise(&s->sig, 0);
	k_mutex_unlock(&d->socks_lock);
}

void w5500_offload_sockets_init(struct w5500_offload_data *d)
{
	k_mutex_init(&d->socks_lock);
	for (int i = 0; i < W5500_OFFLOAD_SOCKETS; i++) {
		d->socks[i].id = -1;
		d->socks[i].fd = -1;
		d->socks[i].fd_lock = NULL;
		k_poll_signal_init(&d->socks[i].sig);
	}
}

/* --- address conversion -------------------------------------------------------------- */

/*
 * Pointers from the application are read and written with memcpy only, so a misaligned one
 * works on every architecture. A NULL pointer where memory is needed is EFAULT (as Linux
 * says; Zephyr's user-mode checks say the same), checked after the lengths (EINVAL) as Linux
 * does. docs/SEMANTICS.md, "Hostile input".
 */

/* EINVAL for a short length, EFAULT for NULL, EAFNOSUPPORT for non-IPv4. Longer lengths are
 * accepted (as Zephyr's own sockets do).
 */
static int from_sockaddr(const w5_sockaddr_t *addr, w5_socklen_t len, W5500RsSockaddr *out)
{
	w5_sockaddr_in_t in;

	if (len < sizeof(w5_sockaddr_in_t)) {
		errno = EINVAL;
		return -1;
	}
	if (addr == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(&in, addr, sizeof(in));
	if (in.sin_family != W5_AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	memcpy(out->addr, &in.sin_addr, 4);
	out->port = w5_ntohs(in.sin_port);
	return 0;
}

/* Store the address truncated to *len and set *len to its full size (POSIX). Skipped when
 * either pointer is NULL: accept() and recvfrom() then still return their socket and data
 * (Linux would fail with EFAULT after taking them).
 */
static void to_sockaddr(const W5500RsSockaddr *a, w5_sockaddr_t *addr, w5_socklen_t *len)
{
	w5_sockaddr_in_t in = { 0 };
	w5_socklen_t room;
	w5_socklen_t full = sizeof(in);

	if (addr == NULL || len == NULL) {
		return;
	}
	memcpy(&room, len, sizeof(room));
	in.sin_family = W5_AF_INET;
	in.sin_port = w5_htons(a->port);
	memcpy(&in.sin_addr, a->addr, 4);
	memcpy(addr, &in, MIN(room, full));
	memcpy(len, &full, sizeof(full));
}

static uint32_t msg_flags(int flags)
{
	uint32_t f = 0;

	if (flags & W5_MSG_PEEK) {
		f |= W5500_RS_MSG_PEEK;
	}
	if (flags & W5_MSG_DONTWAIT) {
		f |= W5500_RS_MSG_DONTWAIT;
	}
	if (flags & W5_MSG_WAITALL) {
		f |= W5500_RS_MSG_WAITALL;
	}
	if (flags & W5_MSG_TRUNC) {
		f |= W5500_RS_MSG_TRUNC;
	}
	return f;
}

/* --- socket() and accept() ---------------------------------------------------------------- */

/* IPv4 TCP and UDP only: anything else is left to other socket providers (TLS, for one,
 * registers SOCK_STREAM with its own protocols); with none, zsock_socket() reports
 * EAFNOSUPPORT. AF_UNSPEC is no family to create a socket in (Linux: EAFNOSUPPORT).
 */
static bool w5500_is_supported(int family, int type, int proto)
{
	if (family != W5_AF_INET) {
		return false;
	}
	if (type == W5_SOCK_STREAM) {
		return proto == 0 || proto == W5_IPPROTO_TCP;
	}
	if (type == W5_SOCK_DGRAM) {
		return proto == 0 || proto == W5_IPPROTO_UDP;
	}
	return false;
}

/* ENFILE (no fd or no hardware socket), EAFNOSUPPORT, EPROTONOSUPPORT, ENODEV. */
int w5500_offload_socket_create(int family, int type, int proto)
{
	struct w5500_offload_data *d = w5500_offload_instance;
	uint8_t rtype =
		type == W5_SOCK_STREAM ? W5500_RS_SOCK_TYPE_STREAM : W5500_RS_SOCK_TYPE_DATAGRAM;
	struct w5500_sock *s;
	int fd;
	int32_t id;

	if (d == NULL || !d->ready) {
		errno = ENETDOWN;
		return -1;
	}
	if (!w5500_is_supported(family, type, proto)) {
		errno = family == W5_AF_INET ? EPROTONOSUPPORT : EAFNOSUPPORT;
		return -1;
	}
	fd = w5_reserve_fd();
	if (fd < 0) {
		return -1;
	}
	id = w5500_rs_socket(rtype);
	if (id < 0) {
		w5_free_fd(fd);
		return w5500_offload_ret(id);
	}
	s = sock_alloc(d, id, rtype, fd);
	w5_finalize_fd(fd, s, &w5500_vtable.fd_vtable);
	LOG_DBG("socket %d -> id %04x", fd, (unsigned int)id);
	return fd;
}

/* EBADF, EINVAL (not listening), EAGAIN (non-blocking / SO_RCVTIMEO), ENFILE. */
static int w5500_accept(void *obj, w5_sockaddr_t *addr, w5_socklen_t *addrlen)
{
	struct w5500_offload_data *d = w5500_offload_instance;
	struct w5500_sock *ls = obj;
	W5500RsSockaddr peer;
	struct w5500_sock *s;
	int32_t id;
	int fd;

	fd = w5_reserve_fd();
	if (fd < 0) {
		return -1;
	}
	if (ls->type != W5500_RS_SOCK_TYPE_STREAM) {
		/* POSIX: the socket type does not support accepting connections. Checked before
		 * an fd is reserved, so a full fd table cannot hide it behind ENFILE.
		 */
		w5_free_fd(fd);
		errno = EOPNOTSUPP;
		return -1;
	}
	id = w5500_rs_accept(ls->id, &peer);
	if (id < 0) {
		w5_free_fd(fd);
		return w5500_offload_ret(id);
	}
	s = sock_alloc(d, id, W5500_RS_SOCK_TYPE_STREAM, fd);
	w5_finalize_fd(fd, s, &w5500_vtable.fd_vtable);
	to_sockaddr(&peer, addr, addrlen);
	return fd;
}

/* --- plain ops ---------------------------------------------------------------------------- */

#if W5_CLOSE_IS_CLOSE2
static int w5500_close2(void *obj, int fd)
#else
static int w5500_close(void *obj)
#endif
{
	struct w5500_sock *s = obj;
	int32_t id = s->id;
	int r;

#if W5_CLOSE_IS_CLOSE2
	ARG_UNUSED(fd);
#endif
	sock_release(w5500_offload_instance, s);
	r = w5500_rs_close(id);
	return w5500_offload_ret(r);
}

static int w5500_bind(void *obj, const w5_sockaddr_t *addr, w5_socklen_t addrlen)
{
	struct w5500_sock *s = obj;
	W5500RsSockaddr a;

	if (from_sockaddr(addr, addrlen, &a) < 0) {
		return -1;
	}
	return w5500_offload_ret(w5500_rs_bind(s->id, &a));
}

/* ECONNREFUSED, ETIMEDOUT (SO_SNDTIMEO or the chip's retries), EINPROGRESS, EALREADY,
 * EISCONN, ENETDOWN, ENETUNREACH.
 */
static int w5500_connect(void *obj, const w5_sockaddr_t *addr, w5_socklen_t addrlen)
{
	struct w5500_sock *s = obj;
	W5500RsSockaddr a;

	if (from_sockaddr(addr, addrlen, &a) < 0) {
		return -1;
	}
	return w5500_offload_ret(w5500_rs_connect(s->id, &a));
}

static int w5500_listen(void *obj, int backlog)
{
	struct w5500_sock *s = obj;

	return w5500_offload_ret(w5500_rs_listen(s->id, backlog));
}

static int w5500_shutdown(void *obj, int how)
{
	struct w5500_sock *s = obj;
	bool rd = how == W5_SHUT_RD || how == W5_SHUT_RDWR;
	bool wr = how == W5_SHUT_WR || how == W5_SHUT_RDWR;

	if (!rd && !wr) {
		errno = EINVAL;
		return -1;
	}
	return w5500_offload_ret(w5500_rs_shutdown(s->id, rd, wr));
}

static ssize_t ret_size(intptr_t r)
{
	if (r < 0) {
		errno = w5500_offload_errno((int)-r);
		return -1;
	}
	return (ssize_t)r;
}

/* EAGAIN, EPIPE, ENOTCONN, EMSGSIZE, EHOSTUNREACH, EDESTADDRREQ, EACCES (broadcast). */
static ssize_t w5500_sendto(void *obj, const void *buf, size_t len, int flags,
			    const w5_sockaddr_t *dest, w5_socklen_t addrlen)
{
	struct w5500_sock *s = obj;
	W5500RsSockaddr a;

	if (s->type == W5500_RS_SOCK_TYPE_STREAM) {
		/* POSIX sendto(): "If the socket is connection-mode, dest_addr shall be
		 * ignored."
		 */
		dest = NULL;
	}
	if (dest != NULL) {
		if (from_sockaddr(dest, addrlen, &a) < 0) {
			return -1;
		}
	}
	return ret_size(w5500_rs_send(s->id, buf, len, dest != NULL ? &a : NULL, msg_flags(flags)));
}

/* EAGAIN, ENOTCONN, ECONNRESET, EBADF (closed meanwhile). */
static ssize_t w5500_recvfrom(void *obj, void *buf, size_t max_len, int flags, w5_sockaddr_t *src,
			      w5_socklen_t *addrlen)
{
	struct w5500_sock *s = obj;
	W5500RsSockaddr a;
	intptr_t r;

	r = w5500_rs_recv(s->id, buf, max_len, &a, msg_flags(flags));
	if (r >= 0) {
		to_sockaddr(&a, src, addrlen);
	}
	return ret_size(r);
}

static ssize_t w5500_read(void *obj, void *buf, size_t sz)
{
	return w5500_recvfrom(obj, buf, sz, 0, NULL, NULL);
}

static ssize_t w5500_write(void *obj, const void *buf, size_t sz)
{
	return w5500_sendto(obj, buf, sz, 0, NULL, 0);
}

/* Linux's UIO_MAXIOV: more iovecs than this are EMSGSIZE. */
#define W5_IOV_MAX 1024

/* msg and its iovec array can be used: EFAULT for NULL where memory is needed, EMSGSIZE for
 * more than W5_IOV_MAX iovecs.
 */
static int msg_ok(const w5_msghdr_t *msg)
{
	if (msg == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (msg->msg_iovlen > W5_IOV_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (msg->msg_iovlen > 0 && msg->msg_iov == NULL) {
		errno = EFAULT;
		return -1;
	}
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_base == NULL && msg->msg_iov[i].iov_len > 0) {
			errno = EFAULT;
			return -1;
		}
	}
	return 0;
}

/* TCP: the iovecs in turn, as one stream (a short write stops it, and what went is
 * returned). UDP: gathered into one datagram (the chip sends one per SEND) in a bounce
 * buffer; EMSGSIZE beyond it. No iovecs: an empty send (UDP: EMSGSIZE, the chip cannot
 * send an empty datagram).
 */
static ssize_t w5500_sendmsg(void *obj, const w5_msghdr_t *msg, int flags)
{
	static K_MUTEX_DEFINE(bounce_lock);
	static uint8_t bounce[CONFIG_W5500_OFFLOAD_MSG_BUFFER_SIZE];
	struct w5500_sock *s = obj;
	size_t len = 0;
	ssize_t r;

	if (msg_ok(msg) < 0) {
		return -1;
	}
	if (msg->msg_iovlen == 0) {
		return w5500_sendto(obj, NULL, 0, flags, msg->msg_name, msg->msg_namelen);
	}
	if (msg->msg_iovlen == 1) {
		return w5500_sendto(obj, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len, flags,
				    msg->msg_name, msg->msg_namelen);
	}
	if (s->type == W5500_RS_SOCK_TYPE_STREAM) {
		for (size_t i = 0; i < msg->msg_iovlen; i++) {
			size_t want = msg->msg_iov[i].iov_len;

			if (want == 0) {
				continue;
			}
			r = w5500_sendto(obj, msg->msg_iov[i].iov_base, want, flags, NULL, 0);
			if (r < 0) {
				return len > 0 ? (ssize_t)len : -1;
			}
			if ((size_t)r > (size_t)PTRDIFF_MAX - len) {
				/* The total would not fit the return value. */
				break;
			}
			len += (size_t)r;
			if ((size_t)r < want) {
				break;
			}
		}
		return (ssize_t)len;
	}
	k_mutex_lock(&bounce_lock, K_FOREVER);
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		/* Compared without adding, so a huge iov_len cannot wrap around. */
		if (msg->msg_iov[i].iov_len > sizeof(bounce) - len) {
			k_mutex_unlock(&bounce_lock);
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(&bounce[len], msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		len += msg->msg_iov[i].iov_len;
	}
	r = w5500_sendto(obj, len > 0 ? bounce : NULL, len, flags, msg->msg_name, msg->msg_namelen);
	k_mutex_unlock(&bounce_lock);
	return r;
}

#if W5_HAS_RECVMSG
/* Receives into the first non-empty iovec only (no ancillary data). */
static ssize_t w5500_recvmsg(void *obj, w5_msghdr_t *msg, int flags)
{
	if (msg_ok(msg) < 0) {
		return -1;
	}
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len > 0) {
			return w5500_recvfrom(obj, msg->msg_iov[i].iov_base,
					      msg->msg_iov[i].iov_len, flags, msg->msg_name,
					      &msg->msg_namelen);
		}
	}
	return 0;
}
#endif

static int w5500_getname(void *obj, w5_sockaddr_t *addr, w5_socklen_t *addrlen, bool peer)
{
	struct w5500_sock *s = obj;
	W5500RsSockaddr a;
	int r;

	if (addr == NULL || addrlen == NULL) {
		errno = EFAULT;
		return -1;
	}
	r = w5500_rs_addr(s->id, peer, &a);
	if (r < 0) {
		return w5500_offload_ret(r);
	}
	to_sockaddr(&a, addr, addrlen);
	return 0;
}

static int w5500_getpeername(void *obj, w5_sockaddr_t *addr, w5_socklen_t *addrlen)
{
	return w5500_getname(obj, addr, addrlen, true);
}

static int w5500_getsockname(void *obj, w5_sockaddr_t *addr, w5_socklen_t *addrlen)
{
	return w5500_getname(obj, addr, addrlen, false);
}

/* --- socket options ------------------------------------------------------------------------ */

/*
 * Order of the checks (docs/SEMANTICS.md, "Hostile input"): the level and option name
 * (ENOPROTOOPT, as Zephyr's own sockets), then the length (EINVAL; longer than the value is
 * accepted, as Linux), then the pointer (EFAULT), then the value (EDOM).
 */

/* An int option's value. */
static int opt_int(const void *optval, w5_socklen_t optlen, int *out)
{
	if (optlen < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	if (optval == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(out, optval, sizeof(int));
	return 0;
}

/* The longest timeout the driver holds (ms in 32 bits: 49.7 days), and how SO_RCVTIMEO and
 * SO_SNDTIMEO read it back: {4294967, 295000}.
 */
#define W5_TIMEOUT_MAX_MS UINT32_MAX

/* struct zsock_timeval (libc timeval; tv_sec 64-bit with newlib/picolibc, 32-bit elsewhere)
 * -> ms, rounded up; {0, 0} is "forever", as POSIX says. A timeout longer than the driver can
 * hold is the longest it can: clamped before any multiplication, so no tv_sec wraps around.
 * EDOM for a negative tv_sec or a tv_usec outside 0..999999 (as Linux).
 */
static int opt_timeval_ms(const void *optval, w5_socklen_t optlen, uint32_t *ms)
{
	struct zsock_timeval tv;
	int64_t sec;
	int64_t usec;
	uint64_t total;

	if (optlen < sizeof(tv)) {
		errno = EINVAL;
		return -1;
	}
	if (optval == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(&tv, optval, sizeof(tv));
	sec = (int64_t)tv.tv_sec;
	usec = (int64_t)tv.tv_usec;
	if (sec < 0 || usec < 0 || usec >= 1000000) {
		errno = EDOM;
		return -1;
	}
	if ((uint64_t)sec >= W5_TIMEOUT_MAX_MS / 1000U) {
		*ms = W5_TIMEOUT_MAX_MS;
		return 0;
	}
	total = (uint64_t)sec * 1000U + ((uint64_t)usec + 999U) / 1000U;
	*ms = total > W5_TIMEOUT_MAX_MS ? W5_TIMEOUT_MAX_MS : (uint32_t)total;
	return 0;
}

/* ENOPROTOOPT for anything the chip cannot honour. */
static int w5500_setsockopt(void *obj, int level, int optname, const void *optval,
			    w5_socklen_t optlen)
{
	struct w5500_sock *s = obj;
	W5500RsOpt opt;
	uint32_t value = 0;
	int v;
	uint8_t group[4];

	if (level == W5_SOL_SOCKET) {
		switch (optname) {
		case W5_SO_REUSEADDR:
			opt = W5500_RS_OPT_REUSE_ADDR;
			break;
		case W5_SO_KEEPALIVE:
			opt = W5500_RS_OPT_KEEP_ALIVE;
			break;
		case W5_SO_BROADCAST:
			opt = W5500_RS_OPT_BROADCAST;
			break;
		case W5_SO_RCVTIMEO:
		case W5_SO_SNDTIMEO:
			if (opt_timeval_ms(optval, optlen, &value) < 0) {
				return -1;
			}
			opt = optname == W5_SO_RCVTIMEO ? W5500_RS_OPT_RCV_TIMEOUT_MS
							: W5500_RS_OPT_SND_TIMEOUT_MS;
			return w5500_offload_ret(w5500_rs_setsockopt(s->id, opt, value, NULL));
		default:
			errno = ENOPROTOOPT;
			return -1;
		}
		if (opt_int(optval, optlen, &v) < 0) {
			return -1;
		}
		return w5500_offload_ret(w5500_rs_setsockopt(s->id, opt, v != 0, NULL));
	}
	if (level == W5_IPPROTO_TCP && optname == W5_TCP_NODELAY) {
		if (opt_int(optval, optlen, &v) < 0) {
			return -1;
		}
		return w5500_offload_ret(
			w5500_rs_setsockopt(s->id, W5500_RS_OPT_NO_DELAY, v != 0, NULL));
	}
	if (level == W5_IPPROTO_IP &&
	    (optname == W5_IP_ADD_MEMBERSHIP || optname == W5_IP_DROP_MEMBERSHIP)) {
		/* struct ip_mreq (8 bytes) / ip_mreqn both begin with the group address. */
		if (optlen < W5_IP_MREQ_LEN) {
			errno = EINVAL;
			return -1;
		}
		if (optval == NULL) {
			errno = EFAULT;
			return -1;
		}
		memcpy(group, optval, 4);
		opt = optname == W5_IP_ADD_MEMBERSHIP ? W5500_RS_OPT_ADD_MEMBERSHIP
						      : W5500_RS_OPT_DROP_MEMBERSHIP;
		return w5500_offload_ret(w5500_rs_setsockopt(s->id, opt, 0, &group));
	}
	errno = ENOPROTOOPT;
	return -1;
}

/* Room for a value of `size` bytes: EFAULT for a NULL optlen, EINVAL when *optlen is
 * shorter, EFAULT for a NULL optval.
 */
static int opt_room(void *optval, w5_socklen_t *optlen, size_t size)
{
	w5_socklen_t room;

	if (optlen == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(&room, optlen, sizeof(room));
	if (room < size) {
		errno = EINVAL;
		return -1;
	}
	if (optval == NULL) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

static int put_int(void *optval, w5_socklen_t *optlen, int v)
{
	w5_socklen_t len = sizeof(int);

	if (opt_room(optval, optlen, sizeof(int)) < 0) {
		return -1;
	}
	memcpy(optval, &v, sizeof(int));
	memcpy(optlen, &len, sizeof(len));
	return 0;
}

/* An option kept in Rust, read back as an int (flags) or a timeval (timeouts, ms). */
static int get_rs_opt(struct w5500_sock *s, W5500RsOpt opt, bool timeval, void *optval,
		      w5_socklen_t *optlen)
{
	struct zsock_timeval tv = { 0 };
	w5_socklen_t len = sizeof(tv);
	uint32_t value;
	int r;

	if (opt_room(optval, optlen, timeval ? sizeof(tv) : sizeof(int)) < 0) {
		return -1;
	}
	r = w5500_rs_getsockopt(s->id, opt, &value);
	if (r < 0) {
		return w5500_offload_ret(r);
	}
	if (!timeval) {
		return put_int(optval, optlen, (int)value);
	}
	tv.tv_sec = value / 1000U;
	tv.tv_usec = (value % 1000U) * 1000U;
	memcpy(optval, &tv, sizeof(tv));
	memcpy(optlen, &len, sizeof(len));
	return 0;
}

static int w5500_getsockopt(void *obj, int level, int optname, void *optval, w5_socklen_t *optlen)
{
	struct w5500_sock *s = obj;
	int r;

	if (level == W5_IPPROTO_TCP && optname == W5_TCP_NODELAY) {
		return get_rs_opt(s, W5500_RS_OPT_NO_DELAY, false, optval, optlen);
	}
	if (level != W5_SOL_SOCKET) {
		/* Includes the write-only IP_ADD/DROP_MEMBERSHIP (as on Linux). */
		errno = ENOPROTOOPT;
		return -1;
	}
	switch (optname) {
	case W5_SO_ERROR:
		if (opt_room(optval, optlen, sizeof(int)) < 0) {
			return -1;
		}
		r = w5500_rs_take_error(s->id);
		if (r < 0) {
			return w5500_offload_ret(r);
		}
		return put_int(optval, optlen, r == 0 ? 0 : w5500_offload_errno(r));
	case W5_SO_TYPE:
		return put_int(optval, optlen,
			       s->type == W5500_RS_SOCK_TYPE_STREAM ? W5_SOCK_STREAM
								    : W5_SOCK_DGRAM);
	case W5_SO_PROTOCOL:
		return put_int(optval, optlen,
			       s->type == W5500_RS_SOCK_TYPE_STREAM ? W5_IPPROTO_TCP
								    : W5_IPPROTO_UDP);
	case W5_SO_DOMAIN:
		return put_int(optval, optlen, W5_AF_INET);
	case W5_SO_REUSEADDR:
		return get_rs_opt(s, W5500_RS_OPT_REUSE_ADDR, false, optval, optlen);
	case W5_SO_KEEPALIVE:
		return get_rs_opt(s, W5500_RS_OPT_KEEP_ALIVE, false, optval, optlen);
	case W5_SO_BROADCAST:
		return get_rs_opt(s, W5500_RS_OPT_BROADCAST, false, optval, optlen);
	case W5_SO_RCVTIMEO:
		return get_rs_opt(s, W5500_RS_OPT_RCV_TIMEOUT_MS, true, optval, optlen);
	case W5_SO_SNDTIMEO:
		return get_rs_opt(s, W5500_RS_OPT_SND_TIMEOUT_MS, true, optval, optlen);
	default:
		errno = ENOPROTOOPT;
		return -1;
	}
}

/* --- ioctl: fcntl, FIONBIO, FIONREAD, poll ------------------------------------------------ */

static short revents(int bits, short events)
{
	short r = 0;

	if ((bits & W5500_RS_POLLIN) && (events & ZSOCK_POLLIN)) {
		r |= ZSOCK_POLLIN;
	}
	if ((bits & W5500_RS_POLLOUT) && (events & ZSOCK_POLLOUT)) {
		r |= ZSOCK_POLLOUT;
	}
	/* Errors and hang-ups are reported whatever was asked (POSIX). */
	if (bits & W5500_RS_POLLERR) {
		r |= ZSOCK_POLLERR;
	}
	if (bits & W5500_RS_POLLHUP) {
		r |= ZSOCK_POLLHUP;
	}
	return r;
}

/* Adds exactly one event per pfd. -ENOMEM when the array is full, -EALREADY when ready. */
static int poll_prepare(struct w5500_sock *s, struct zsock_pollfd *pfd, struct k_poll_event **pev,
			struct k_poll_event *pev_end)
{
	int bits;

	if (*pev == pev_end) {
		return -ENOMEM;
	}
	k_poll_signal_reset(&s->sig);
	k_poll_event_init(*pev, K_POLL_TYPE_SIGNAL, K_POLL_MODE_NOTIFY_ONLY, &s->sig);
	(*pev)++;
	bits = w5500_rs_readiness(s->id);
	if (bits < 0 || revents(bits, pfd->events) != 0) {
		return -EALREADY;
	}
	return 0;
}

/* Consumes the one event prepare added; -EAGAIN when woken but nothing is ready yet. */
static int poll_update(struct w5500_sock *s, struct zsock_pollfd *pfd, struct k_poll_event **pev)
{
	int bits;

	(*pev)++;
	/* Reset before looking, so an event after the look raises it again. */
	k_poll_signal_reset(&s->sig);
	bits = w5500_rs_readiness(s->id);
	if (bits < 0) {
		pfd->revents = ZSOCK_POLLNVAL;
		return 0;
	}
	pfd->revents = revents(bits, pfd->events);
	return pfd->revents != 0 ? 0 : -EAGAIN;
}

static int set_nonblocking(struct w5500_sock *s, bool on)
{
	return w5500_offload_ret(w5500_rs_setsockopt(s->id, W5500_RS_OPT_NON_BLOCKING, on, NULL));
}

static int w5500_ioctl(void *obj, unsigned int request, va_list args)
{
	struct w5500_sock *s = obj;
	W5500RsBlocking b;
	int r;

	switch (request) {
	case ZFD_IOCTL_SET_LOCK:
		s->fd_lock = va_arg(args, struct k_mutex *);
		return 0;
	case ZFD_IOCTL_POLL_PREPARE: {
		struct zsock_pollfd *pfd = va_arg(args, struct zsock_pollfd *);
		struct k_poll_event **pev = va_arg(args, struct k_poll_event **);
		struct k_poll_event *pev_end = va_arg(args, struct k_poll_event *);

		return poll_prepare(s, pfd, pev, pev_end);
	}
	case ZFD_IOCTL_POLL_UPDATE: {
		struct zsock_pollfd *pfd = va_arg(args, struct zsock_pollfd *);
		struct k_poll_event **pev = va_arg(args, struct k_poll_event **);

		return poll_update(s, pfd, pev);
	}
	case W5_F_GETFL:
		r = w5500_rs_blocking(s->id, &b);
		if (r < 0) {
			return w5500_offload_ret(r);
		}
		return b.nonblocking ? W5_O_NONBLOCK : 0;
	case W5_F_SETFL:
		return set_nonblocking(s, (va_arg(args, int) & W5_O_NONBLOCK) != 0);
	case ZFD_IOCTL_FIONBIO: {
#if W5_FIONBIO_HAS_ARG
		int *argp = va_arg(args, int *);
		int on;

		if (argp == NULL) {
			errno = EFAULT;
			return -1;
		}
		memcpy(&on, argp, sizeof(on));
		return set_nonblocking(s, on != 0);
#else
		return set_nonblocking(s, true);
#endif
	}
	case ZFD_IOCTL_FIONREAD: {
		int *avail = va_arg(args, int *);

		if (avail == NULL) {
			/* Zephyr passes the application's pointer through unchecked. */
			errno = EFAULT;
			return -1;
		}
		r = w5500_rs_bytes_available(s->id);
		if (r < 0) {
			return w5500_offload_ret(r);
		}
		memcpy(avail, &r, sizeof(r));
		return 0;
	}
	default:
		/* Includes ZFD_IOCTL_POLL_OFFLOAD: prepare never returns -EXDEV. */
		errno = EOPNOTSUPP;
		return -1;
	}
}

static const struct socket_op_vtable w5500_vtable = {
	.fd_vtable = {
		.read = w5500_read,
		.write = w5500_write,
#if W5_CLOSE_IS_CLOSE2
		.close2 = w5500_close2,
#else
		.close = w5500_close,
#endif
		.ioctl = w5500_ioctl,
	},
	.shutdown = w5500_shutdown,
	.bind = w5500_bind,
	.connect = w5500_connect,
	.listen = w5500_listen,
	.accept = w5500_accept,
	.sendto = w5500_sendto,
	.recvfrom = w5500_recvfrom,
	.getsockopt = w5500_getsockopt,
	.setsockopt = w5500_setsockopt,
	.sendmsg = w5500_sendmsg,
#if W5_HAS_RECVMSG
	.recvmsg = w5500_recvmsg,
#endif
	.getpeername = w5500_getpeername,
	.getsockname = w5500_getsockname,
};

NET_SOCKET_OFFLOAD_REGISTER(w5500_offload, CONFIG_NET_SOCKETS_OFFLOAD_PRIORITY, W5_AF_UNSPEC,
			    w5500_is_supported, w5500_offload_socket_create);
