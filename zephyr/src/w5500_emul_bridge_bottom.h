/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The host side ("bottom") of the bridge SPI emulator (CONFIG_W5500_OFFLOAD_EMUL_BRIDGE):
 *        a client of the w5500-sim bridge protocol, version 1 (documented in the rust/w5500-sim
 *        crate, module bridge), over a Unix stream socket.
 *
 * This interface is shared by the two compilation contexts of a native board: the Zephyr side
 * (w5500_emul_bridge.c, built with the image's C library) and the host side
 * (w5500_emul_bridge_bottom.c, built with the host's C library, in the native simulator's
 * runner on native_sim). It therefore uses only fixed-width C types and returns its own status
 * codes, never errno values (the two C libraries number errno differently).
 *
 * Every call is bounded in time: connecting retries for at most wait_ms, and every exchange
 * with the bridge must complete within the timeout given at connect time. After any failure
 * the connection is closed (a late reply would desynchronise the stream) and the calls return
 * W5500_BRIDGE_E_DOWN until w5500_bridge_connect() succeeds again.
 *
 * Not thread-safe: the caller serialises calls on one handle.
 */

#ifndef W5500_EMUL_BRIDGE_BOTTOM_H_
#define W5500_EMUL_BRIDGE_BOTTOM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes (0 or negative). */
enum w5500_bridge_status {
	W5500_BRIDGE_OK = 0,
	/** No bridge at the path: missing, not a socket, refused, path too long. */
	W5500_BRIDGE_E_CONNECT = -1,
	/** No complete reply within the timeout. */
	W5500_BRIDGE_E_TIMEOUT = -2,
	/** The bridge closed the connection, or the socket failed. */
	W5500_BRIDGE_E_CLOSED = -3,
	/** A reply that does not follow the protocol (length, magic, clock byte). */
	W5500_BRIDGE_E_PROTOCOL = -4,
	/** The bridge answered with an error status (its message is in w5500_bridge_error()). */
	W5500_BRIDGE_E_REFUSED = -5,
	/** Bad argument: NULL, too many segments, frame above the protocol's 1 MiB. */
	W5500_BRIDGE_E_ARG = -6,
	/** Out of host memory. */
	W5500_BRIDGE_E_NOMEM = -7,
	/** Not connected (never, or closed after an earlier failure). */
	W5500_BRIDGE_E_DOWN = -8,
};

/** The clock the served chip runs on (HELLO reply). */
enum w5500_bridge_clock {
	W5500_BRIDGE_CLOCK_WALL = 0,
	W5500_BRIDGE_CLOCK_SIM = 1,
};

/** Most segments in one frame. */
#define W5500_BRIDGE_MAX_SEGS 16

/** Largest frame (the protocol's largest payload). */
#define W5500_BRIDGE_MAX_FRAME (1U << 20)

/** One piece of a chip-select frame: len bytes clocked out from tx (NULL: zeros) while len
 *  bytes are clocked in to rx (NULL: discarded).
 */
struct w5500_bridge_seg {
	const uint8_t *tx;
	uint8_t *rx;
	size_t len;
};

struct w5500_bridge;

/** A new, unconnected handle, or NULL when out of memory. */
struct w5500_bridge *w5500_bridge_new(void);

/** Close the connection (if any) and free the handle. NULL is ignored. */
void w5500_bridge_free(struct w5500_bridge *b);

/**
 * Connect to the bridge at path ("PATH" or "unix:PATH") and say HELLO. While nothing listens
 * at the path, retries every 50 ms for up to wait_ms (0: one attempt), so the image and the
 * bridge may be started in either order. timeout_ms (at least 1) bounds HELLO and every later
 * exchange. Closes a previous connection first.
 */
int w5500_bridge_connect(struct w5500_bridge *b, const char *path, uint32_t wait_ms,
			 uint32_t timeout_ms);

/** Say BYE (bounded by the timeout) and close the connection. */
void w5500_bridge_close(struct w5500_bridge *b);

/** 1 while connected, else 0. */
int w5500_bridge_connected(const struct w5500_bridge *b);

/** The bridge's clock (enum w5500_bridge_clock), valid while connected. */
int w5500_bridge_clock(const struct w5500_bridge *b);

/** The SPI clock the bridge models, in Hz, valid while connected. */
uint32_t w5500_bridge_spi_hz(const struct w5500_bridge *b);

/**
 * One chip-select frame: SELECT, one TRANSFER of the segments' bytes in order, DESELECT,
 * written in one go and answered in one go (the protocol lets a client pipeline). MISO is
 * scattered into the segments' rx buffers only when the whole frame succeeded.
 */
int w5500_bridge_frame(struct w5500_bridge *b, const struct w5500_bridge_seg *segs, size_t n);

/**
 * With the simulated clock, move the chip's clock forward to now_us (GET_TIME, then ADVANCE
 * by the difference when it is behind); with the wall clock, nothing. *chip_us (may be NULL)
 * gets the chip's time afterwards (with the wall clock: 0).
 */
int w5500_bridge_sync_clock(struct w5500_bridge *b, uint64_t now_us, uint64_t *chip_us);

/** A human-readable account of the last failure ("" if none). */
const char *w5500_bridge_error(const struct w5500_bridge *b);

#ifdef __cplusplus
}
#endif

#endif /* W5500_EMUL_BRIDGE_BOTTOM_H_ */
