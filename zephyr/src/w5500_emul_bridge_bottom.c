/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Host side ("bottom") of the bridge SPI emulator: a w5500-sim bridge client over a Unix
 *        stream socket (protocol version 1, rust/w5500-sim, module bridge).
 *
 * Built with the host's C library: in the native simulator's runner on native_sim (and every
 * native board of current Zephyr), inside the executable on native_posix. It includes no
 * Zephyr header. See w5500_emul_bridge_bottom.h for the interface and its guarantees.
 *
 * Wire format (big-endian): request = op:u8 len:u32 payload, reply = status:u8 len:u32
 * payload, one reply per request, in order.
 */

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* poll, clock_gettime, nanosleep, struct sockaddr_un */
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "w5500_emul_bridge_bottom.h"

enum {
	OP_HELLO = 0x01,
	OP_BYE = 0x02,
	OP_SELECT = 0x10,
	OP_TRANSFER = 0x11,
	OP_DESELECT = 0x12,
	OP_GET_TIME = 0x40,
	OP_ADVANCE = 0x41,
};

#define HDR_LEN         5U
#define HELLO_REPLY_LEN 11U
#define RETRY_MS        50U
#define MSG_KEEP        160U    /* bytes of a bridge error message kept */
#define MAX_TIMEOUT_MS  600000U /* longer timeouts are clamped (poll takes an int) */

struct w5500_bridge {
	int fd; /* -1 while down */
	uint32_t timeout_ms;
	int clock;
	uint32_t spi_hz;
	uint8_t *out; /* request bytes of one exchange */
	size_t out_cap;
	uint8_t *in; /* TRANSFER reply payload */
	size_t in_cap;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char err[320];
};

/* One expected reply of an exchange. */
struct expect {
	uint8_t op;
	uint8_t *dst; /* where an OK payload goes (NULL when none is expected) */
	size_t len;   /* exact length of an OK payload */
};

static const char *op_name(uint8_t op)
{
	switch (op) {
	case OP_HELLO:
		return "HELLO";
	case OP_BYE:
		return "BYE";
	case OP_SELECT:
		return "SELECT";
	case OP_TRANSFER:
		return "TRANSFER";
	case OP_DESELECT:
		return "DESELECT";
	case OP_GET_TIME:
		return "GET_TIME";
	case OP_ADVANCE:
		return "ADVANCE";
	default:
		return "?";
	}
}

static const char *status_name(uint8_t st)
{
	static const char *const names[] = { "OK",          "BAD_REQUEST", "BAD_STATE",
					     "UNSUPPORTED", "TOO_LARGE",   "VERSION" };

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown status";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000U, .tv_nsec = (long)(ms % 1000U) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

static void set_err(struct w5500_bridge *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
}

static void drop_conn(struct w5500_bridge *b)
{
	if (b->fd >= 0) {
		(void)close(b->fd);
		b->fd = -1;
	}
}

/* Record the failure, close the connection (its stream position is unknown), return code. */
static int fail(struct w5500_bridge *b, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	drop_conn(b);
	return code;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap) {
		return 0;
	}
	p = realloc(*buf, need);
	if (p == NULL) {
		return -1;
	}
	*buf = p;
	*cap = need;
	return 0;
}

/* Append one request header to b->out at *off (capacity checked by the caller). */
static void put_hdr(struct w5500_bridge *b, size_t *off, uint8_t op, uint32_t len)
{
	b->out[*off] = op;
	put_be32(&b->out[*off + 1], len);
	*off += HDR_LEN;
}

/*
 * Send b->out[0..out_len) and receive one reply per entry of ex, in order, all within the
 * timeout. Writing and reading interleave (poll), so a large frame cannot deadlock against
 * the bridge's replies. Any failure closes the connection.
 */
static int exchange(struct w5500_bridge *b, size_t out_len, const struct expect *ex, size_t n)
{
	const uint64_t deadline = now_ms() + b->timeout_ms;
	size_t sent = 0, ri = 0, hdr_got = 0, pay_got = 0;
	uint8_t hdr[HDR_LEN];
	uint8_t st = 0;
	uint32_t pay_len = 0;
	char msg[MSG_KEEP + 1];
	size_t msg_len = 0;

	while (ri < n) {
		struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
		uint64_t now = now_ms();
		int r;

		if (now >= deadline) {
			return fail(b, W5500_BRIDGE_E_TIMEOUT,
				    "no reply to %s within %u ms (is the bridge stuck, or serving "
				    "another client? it serves one at a time)",
				    op_name(ex[ri].op), (unsigned int)b->timeout_ms);
		}
		if (sent < out_len) {
			pfd.events |= POLLOUT;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			return fail(b, W5500_BRIDGE_E_CLOSED, "poll: %s", strerror(errno));
		}
		if (r == 0) {
			continue;
		}
		if ((pfd.revents & POLLOUT) && sent < out_len) {
			ssize_t w = send(b->fd, b->out + sent, out_len - sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				return fail(b, W5500_BRIDGE_E_CLOSED,
					    "the bridge closed the connection (sending %s)",
					    op_name(ex[ri].op));
			}
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				return fail(b, W5500_BRIDGE_E_CLOSED, "sending %s: %s",
					    op_name(ex[ri].op), strerror(errno));
			}
			if (w > 0) {
				sent += (size_t)w;
			}
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			continue;
		}
		/* Read what the current reply still lacks: header, then payload. */
		{
			uint8_t sink[256];
			uint8_t *dst;
			size_t want;
			ssize_t got;

			if (hdr_got < HDR_LEN) {
				dst = hdr + hdr_got;
				want = HDR_LEN - hdr_got;
			} else if (st == 0) {
				dst = ex[ri].dst + pay_got;
				want = pay_len - pay_got;
			} else {
				dst = sink;
				want = pay_len - pay_got;
				if (want > sizeof(sink)) {
					want = sizeof(sink);
				}
			}
			got = recv(b->fd, dst, want, MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno == ECONNRESET)) {
				return fail(b, W5500_BRIDGE_E_CLOSED,
					    "the bridge closed the connection (waiting for the "
					    "reply to %s)",
					    op_name(ex[ri].op));
			}
			if (got < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
					continue;
				}
				return fail(b, W5500_BRIDGE_E_CLOSED,
					    "receiving the reply to %s: %s", op_name(ex[ri].op),
					    strerror(errno));
			}
			if (hdr_got < HDR_LEN) {
				hdr_got += (size_t)got;
				if (hdr_got < HDR_LEN) {
					continue;
				}
				st = hdr[0];
				pay_len = get_be32(&hdr[1]);
				pay_got = 0;
				msg_len = 0;
				if (pay_len > W5500_BRIDGE_MAX_FRAME) {
					return fail(b, W5500_BRIDGE_E_PROTOCOL,
						    "reply to %s announces %u bytes (above the "
						    "protocol's 1 MiB)",
						    op_name(ex[ri].op), (unsigned int)pay_len);
				}
				if (st == 0 && pay_len != ex[ri].len) {
					return fail(b, W5500_BRIDGE_E_PROTOCOL,
						    "reply to %s has %u bytes, expected %u",
						    op_name(ex[ri].op), (unsigned int)pay_len,
						    (unsigned int)ex[ri].len);
				}
			} else {
				if (st != 0 && msg_len < MSG_KEEP) {
					size_t k = (size_t)got;

					if (k > MSG_KEEP - msg_len) {
						k = MSG_KEEP - msg_len;
					}
					memcpy(msg + msg_len, sink, k);
					msg_len += k;
				}
				pay_got += (size_t)got;
			}
			if (pay_got < pay_len) {
				continue;
			}
			if (st != 0) {
				msg[msg_len] = '\0';
				return fail(b, W5500_BRIDGE_E_REFUSED,
					    "%s refused: status %u (%s): %s", op_name(ex[ri].op),
					    (unsigned int)st, status_name(st),
					    msg_len > 0 ? msg : "(no message)");
			}
			ri++;
			hdr_got = 0;
		}
	}
	return W5500_BRIDGE_OK;
}

struct w5500_bridge *w5500_bridge_new(void)
{
	struct w5500_bridge *b = calloc(1, sizeof(*b));

	if (b != NULL) {
		b->fd = -1;
		b->timeout_ms = 1000;
	}
	return b;
}

void w5500_bridge_free(struct w5500_bridge *b)
{
	if (b == NULL) {
		return;
	}
	w5500_bridge_close(b);
	free(b->out);
	free(b->in);
	free(b);
}

static int hello(struct w5500_bridge *b)
{
	uint8_t reply[HELLO_REPLY_LEN];
	struct expect ex = { .op = OP_HELLO, .dst = reply, .len = sizeof(reply) };
	size_t off = 0;
	int r;

	if (grow(&b->out, &b->out_cap, 64) != 0) {
		return fail(b, W5500_BRIDGE_E_NOMEM, "out of memory");
	}
	put_hdr(b, &off, OP_HELLO, 6);
	memcpy(&b->out[off], "W5SB\x00\x01", 6);
	off += 6;
	r = exchange(b, off, &ex, 1);
	if (r != W5500_BRIDGE_OK) {
		return r;
	}
	if (memcmp(reply, "W5SB", 4) != 0) {
		return fail(b, W5500_BRIDGE_E_PROTOCOL,
			    "unix:%s is not a w5500-sim bridge (HELLO reply without W5SB)",
			    b->path);
	}
	if (reply[4] != 0 || reply[5] != 1 || reply[6] > 1) {
		return fail(b, W5500_BRIDGE_E_PROTOCOL,
			    "HELLO reply: version %u, clock byte %u (want version 1, clock 0 or 1)",
			    (unsigned int)((reply[4] << 8) | reply[5]), (unsigned int)reply[6]);
	}
	b->clock = reply[6];
	b->spi_hz = get_be32(&reply[7]);
	return W5500_BRIDGE_OK;
}

int w5500_bridge_connect(struct w5500_bridge *b, const char *path, uint32_t wait_ms,
			 uint32_t timeout_ms)
{
	struct sockaddr_un sa;
	uint64_t deadline;
	int fd;

	if (b == NULL) {
		return W5500_BRIDGE_E_ARG;
	}
	drop_conn(b);
	if (path == NULL || timeout_ms == 0) {
		set_err(b, "no bridge path or zero timeout");
		return W5500_BRIDGE_E_ARG;
	}
	if (strncmp(path, "unix:", 5) == 0) {
		path += 5;
	}
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		set_err(b, "bad bridge socket path \"%s\" (empty or longer than %u bytes)", path,
			(unsigned int)sizeof(sa.sun_path) - 1U);
		return W5500_BRIDGE_E_CONNECT;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1U);
	memcpy(b->path, path, strlen(path) + 1U);
	b->timeout_ms = timeout_ms < MAX_TIMEOUT_MS ? timeout_ms : MAX_TIMEOUT_MS;
	if (wait_ms > MAX_TIMEOUT_MS) {
		wait_ms = MAX_TIMEOUT_MS;
	}

	deadline = now_ms() + wait_ms;
	for (;;) {
		int e;
		uint64_t now;

		/* Non-blocking from the start: a full listen backlog gives EAGAIN, not a hang. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			set_err(b, "socket(AF_UNIX): %s", strerror(errno));
			return W5500_BRIDGE_E_CONNECT;
		}
		if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
			break;
		}
		e = errno;
		(void)close(fd);
		now = now_ms();
		if ((e == ENOENT || e == ECONNREFUSED || e == EAGAIN || e == EINTR) &&
		    now < deadline) {
			uint64_t left = deadline - now;

			sleep_ms(left < RETRY_MS ? (uint32_t)left : RETRY_MS);
			continue;
		}
		set_err(b,
			"cannot connect to the bridge at unix:%s: %s (start w5500-sim --listen "
			"unix:%s first)",
			path, strerror(e), path);
		return W5500_BRIDGE_E_CONNECT;
	}
	b->fd = fd;
	b->err[0] = '\0';
	return hello(b);
}

void w5500_bridge_close(struct w5500_bridge *b)
{
	struct expect ex = { .op = OP_BYE };
	size_t off = 0;

	if (b == NULL || b->fd < 0) {
		return;
	}
	if (grow(&b->out, &b->out_cap, 64) == 0) {
		put_hdr(b, &off, OP_BYE, 0);
		(void)exchange(b, off, &ex, 1);
	}
	drop_conn(b);
}

int w5500_bridge_connected(const struct w5500_bridge *b)
{
	return b != NULL && b->fd >= 0;
}

int w5500_bridge_clock(const struct w5500_bridge *b)
{
	return b != NULL ? b->clock : W5500_BRIDGE_CLOCK_WALL;
}

uint32_t w5500_bridge_spi_hz(const struct w5500_bridge *b)
{
	return b != NULL ? b->spi_hz : 0U;
}

const char *w5500_bridge_error(const struct w5500_bridge *b)
{
	return b != NULL ? b->err : "no bridge handle";
}

int w5500_bridge_frame(struct w5500_bridge *b, const struct w5500_bridge_seg *segs, size_t n)
{
	struct expect ex[3];
	size_t total = 0, off = 0;
	int r;

	if (b == NULL || (segs == NULL && n > 0)) {
		return W5500_BRIDGE_E_ARG;
	}
	if (b->fd < 0) {
		return W5500_BRIDGE_E_DOWN;
	}
	if (n > W5500_BRIDGE_MAX_SEGS) {
		set_err(b, "frame of %u segments (at most %u)", (unsigned int)n,
			(unsigned int)W5500_BRIDGE_MAX_SEGS);
		return W5500_BRIDGE_E_ARG;
	}
	for (size_t i = 0; i < n; i++) {
		if (segs[i].len > W5500_BRIDGE_MAX_FRAME - total) {
			set_err(b, "frame above %u bytes", (unsigned int)W5500_BRIDGE_MAX_FRAME);
			return W5500_BRIDGE_E_ARG;
		}
		total += segs[i].len;
	}
	if (grow(&b->out, &b->out_cap, 3U * HDR_LEN + total) != 0 ||
	    grow(&b->in, &b->in_cap, total > 0 ? total : 1U) != 0) {
		set_err(b, "out of memory for a %u-byte frame", (unsigned int)total);
		return W5500_BRIDGE_E_NOMEM;
	}
	put_hdr(b, &off, OP_SELECT, 0);
	put_hdr(b, &off, OP_TRANSFER, (uint32_t)total);
	for (size_t i = 0; i < n; i++) {
		if (segs[i].tx != NULL) {
			memcpy(&b->out[off], segs[i].tx, segs[i].len);
		} else {
			memset(&b->out[off], 0, segs[i].len);
		}
		off += segs[i].len;
	}
	put_hdr(b, &off, OP_DESELECT, 0);
	ex[0] = (struct expect){ .op = OP_SELECT };
	ex[1] = (struct expect){ .op = OP_TRANSFER, .dst = b->in, .len = total };
	ex[2] = (struct expect){ .op = OP_DESELECT };
	r = exchange(b, off, ex, 3);
	if (r != W5500_BRIDGE_OK) {
		return r;
	}
	off = 0;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].rx != NULL) {
			memcpy(segs[i].rx, &b->in[off], segs[i].len);
		}
		off += segs[i].len;
	}
	return W5500_BRIDGE_OK;
}

int w5500_bridge_sync_clock(struct w5500_bridge *b, uint64_t now_us, uint64_t *chip_us)
{
	uint8_t t[8];
	struct expect ex = { .op = OP_GET_TIME, .dst = t, .len = sizeof(t) };
	uint64_t chip;
	size_t off = 0;
	int r;

	if (b == NULL) {
		return W5500_BRIDGE_E_ARG;
	}
	if (b->fd < 0) {
		return W5500_BRIDGE_E_DOWN;
	}
	if (chip_us != NULL) {
		*chip_us = 0;
	}
	if (b->clock != W5500_BRIDGE_CLOCK_SIM) {
		return W5500_BRIDGE_OK;
	}
	if (grow(&b->out, &b->out_cap, 64) != 0) {
		return fail(b, W5500_BRIDGE_E_NOMEM, "out of memory");
	}
	put_hdr(b, &off, OP_GET_TIME, 0);
	r = exchange(b, off, &ex, 1);
	if (r != W5500_BRIDGE_OK) {
		return r;
	}
	chip = get_be64(t);
	if (now_us > chip) {
		off = 0;
		ex.op = OP_ADVANCE;
		put_hdr(b, &off, OP_ADVANCE, 8);
		put_be64(&b->out[off], now_us - chip);
		off += 8;
		r = exchange(b, off, &ex, 1);
		if (r != W5500_BRIDGE_OK) {
			return r;
		}
		chip = get_be64(t);
	}
	if (chip_us != NULL) {
		*chip_us = chip;
	}
	return W5500_BRIDGE_OK;
}
