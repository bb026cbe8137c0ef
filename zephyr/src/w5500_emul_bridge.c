/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The W5500 SPI emulator that forwards to a w5500-sim process
 *        (CONFIG_W5500_OFFLOAD_EMUL_BRIDGE, native boards only).
 *
 * The wiznet,w5500-offload node sits on a zephyr,spi-emul-controller bus, as with the
 * in-image simulator (w5500_emul.c), but every spi_transceive() the driver makes becomes one
 * SELECT / TRANSFER / DESELECT exchange with a `w5500-sim` bridge process over a Unix socket
 * (protocol in rust/w5500-sim, module bridge). Whatever backend that process runs serves the
 * image: the in-memory LAN, or host sockets in a network namespace (--backend hostnet).
 *
 * This file is the Zephyr side ("top"); the host calls are in w5500_emul_bridge_bottom.c,
 * which the native boards build with the host C library (in the native simulator's runner on
 * native_sim). The socket path is CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_PATH or the command line
 * option --w5500-bridge=PATH. Every wait is bounded: no bridge at boot ends the program with
 * an error; a bridge that fails later turns frames into -EIO (logged), with a reconnection
 * attempt at most once a second.
 *
 * With a bridge on the simulated clock, the chip's clock is moved to k_uptime every
 * CONFIG_W5500_OFFLOAD_EMUL_TICK_MS, so chip and LAN timers follow the kernel's time line.
 * INTn is not forwarded: the driver polls.
 */

#define DT_DRV_COMPAT wiznet_w5500_offload

#include <errno.h>

#include <zephyr/arch/posix/posix_trace.h>
#include <zephyr/device.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/drivers/spi_emul.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include <cmdline.h>
#include <posix_native_task.h>

#include "w5500_emul_bridge_bottom.h"

LOG_MODULE_REGISTER(w5500_emul_bridge, CONFIG_W5500_OFFLOAD_LOG_LEVEL);

#define RECONNECT_MS 1000

static K_MUTEX_DEFINE(bridge_lock);
static struct k_work_delayable bridge_tick;
static struct w5500_bridge *bridge;
static const char *bridge_path_opt;
static int64_t next_reconnect_ms;
static bool failed; /* an error was logged and the link is down */

static const char *bridge_path(void)
{
	return bridge_path_opt != NULL ? bridge_path_opt : CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_PATH;
}

static uint64_t now_us(void)
{
	return k_ticks_to_us_floor64(k_uptime_ticks());
}

/* Log a failure once, until the link works again. Called with bridge_lock held. */
static void report(int r)
{
	if (!failed) {
		LOG_ERR("w5500-sim bridge: %s (%d); SPI frames fail with -EIO",
			w5500_bridge_error(bridge), r);
		failed = true;
		next_reconnect_ms = k_uptime_get() + RECONNECT_MS;
	}
}

/* Connected, or one bounded reconnection attempt when due. Called with bridge_lock held. */
static bool link_up(void)
{
	if (w5500_bridge_connected(bridge)) {
		return true;
	}
	if (k_uptime_get() < next_reconnect_ms) {
		return false;
	}
	next_reconnect_ms = k_uptime_get() + RECONNECT_MS;
	if (w5500_bridge_connect(bridge, bridge_path(), 0,
				 CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_TIMEOUT_MS) != W5500_BRIDGE_OK) {
		return false;
	}
	LOG_INF("w5500-sim bridge: reconnected to unix:%s", bridge_path());
	failed = false;
	return true;
}

static void bridge_tick_fn(struct k_work *work)
{
	int r;

	ARG_UNUSED(work);
	k_mutex_lock(&bridge_lock, K_FOREVER);
	if (link_up()) {
		r = w5500_bridge_sync_clock(bridge, now_us(), NULL);
		if (r != W5500_BRIDGE_OK) {
			report(r);
		}
	}
	k_mutex_unlock(&bridge_lock);
	k_work_reschedule(&bridge_tick, K_MSEC(CONFIG_W5500_OFFLOAD_EMUL_TICK_MS));
}

/* Next non-empty buffer of a set, from index *i; false when the set is exhausted. */
static bool next_buf(const struct spi_buf_set *set, size_t *i, size_t *off)
{
	while (set != NULL && *i < set->count) {
		if (*off < set->buffers[*i].len) {
			return true;
		}
		(*i)++;
		*off = 0;
	}
	return false;
}

/* Cut the tx and rx buffer sets into segments that are both (or only one) of them. */
static int to_segments(const struct spi_buf_set *tx_bufs, const struct spi_buf_set *rx_bufs,
		       struct w5500_bridge_seg *segs, size_t *n)
{
	size_t ti = 0, toff = 0, ri = 0, roff = 0;

	*n = 0;
	for (;;) {
		bool has_tx = next_buf(tx_bufs, &ti, &toff);
		bool has_rx = next_buf(rx_bufs, &ri, &roff);
		struct w5500_bridge_seg s = { .len = SIZE_MAX };

		if (!has_tx && !has_rx) {
			return 0;
		}
		if (*n == W5500_BRIDGE_MAX_SEGS) {
			return -EINVAL;
		}
		if (has_tx) {
			s.len = MIN(s.len, tx_bufs->buffers[ti].len - toff);
			if (tx_bufs->buffers[ti].buf != NULL) {
				s.tx = (const uint8_t *)tx_bufs->buffers[ti].buf + toff;
			}
		}
		if (has_rx) {
			s.len = MIN(s.len, rx_bufs->buffers[ri].len - roff);
			if (rx_bufs->buffers[ri].buf != NULL) {
				s.rx = (uint8_t *)rx_bufs->buffers[ri].buf + roff;
			}
		}
		if (has_tx) {
			toff += s.len;
		}
		if (has_rx) {
			roff += s.len;
		}
		segs[(*n)++] = s;
	}
}

static int w5500_emul_bridge_io(const struct emul *target, const struct spi_config *config,
				const struct spi_buf_set *tx_bufs,
				const struct spi_buf_set *rx_bufs)
{
	struct w5500_bridge_seg segs[W5500_BRIDGE_MAX_SEGS];
	size_t n;
	int r;

	ARG_UNUSED(target);
	ARG_UNUSED(config);
	if (to_segments(tx_bufs, rx_bufs, segs, &n) < 0) {
		LOG_ERR("w5500-sim bridge: frame of more than %d pieces", W5500_BRIDGE_MAX_SEGS);
		return -EINVAL;
	}
	k_mutex_lock(&bridge_lock, K_FOREVER);
	if (!link_up()) {
		k_mutex_unlock(&bridge_lock);
		return -EIO;
	}
	r = w5500_bridge_frame(bridge, segs, n);
	if (r != W5500_BRIDGE_OK) {
		report(r);
	}
	k_mutex_unlock(&bridge_lock);
	return r == W5500_BRIDGE_OK ? 0 : -EIO;
}

static const struct spi_emul_api w5500_emul_bridge_api = {
	.io = w5500_emul_bridge_io,
};

static int w5500_emul_bridge_init(const struct emul *target, const struct device *parent)
{
	int r;

	ARG_UNUSED(target);
	ARG_UNUSED(parent);
	k_mutex_lock(&bridge_lock, K_FOREVER);
	bridge = w5500_bridge_new();
	if (bridge == NULL) {
		posix_print_error_and_exit("w5500-sim bridge: out of host memory\n");
	}
	r = w5500_bridge_connect(bridge, bridge_path(), CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_WAIT_MS,
				 CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_TIMEOUT_MS);
	if (r != W5500_BRIDGE_OK) {
		/* Like the other native drivers without their host resource: stop with the cause.
		 */
		posix_print_error_and_exit("w5500-sim bridge: %s\n", w5500_bridge_error(bridge));
	}
	LOG_INF("w5500-sim bridge: unix:%s, %s clock, SPI %u Hz", bridge_path(),
		w5500_bridge_clock(bridge) == W5500_BRIDGE_CLOCK_SIM ? "simulated" : "wall",
		w5500_bridge_spi_hz(bridge));
	r = w5500_bridge_sync_clock(bridge, now_us(), NULL);
	if (r != W5500_BRIDGE_OK) {
		posix_print_error_and_exit("w5500-sim bridge: %s\n", w5500_bridge_error(bridge));
	}
	k_mutex_unlock(&bridge_lock);
	k_work_init_delayable(&bridge_tick, bridge_tick_fn);
	if (w5500_bridge_clock(bridge) == W5500_BRIDGE_CLOCK_SIM) {
		k_work_schedule(&bridge_tick, K_MSEC(CONFIG_W5500_OFFLOAD_EMUL_TICK_MS));
	}
	return 0;
}

static void w5500_emul_bridge_options(void)
{
	static struct args_struct_t opts[] = {
		{
			.option = "w5500-bridge",
			.name = "path",
			.type = 's',
			.dest = (void *)&bridge_path_opt,
			.descript = "Unix socket of the w5500-sim bridge that serves the simulated "
				    "W5500 (default: CONFIG_W5500_OFFLOAD_EMUL_BRIDGE_PATH)",
		},
		ARG_TABLE_ENDMARKER,
	};

	native_add_command_line_opts(opts);
}

static void w5500_emul_bridge_cleanup(void)
{
	/* At exit: say BYE so the bridge serves its next client at once. */
	if (bridge != NULL) {
		w5500_bridge_free(bridge);
		bridge = NULL;
	}
}

NATIVE_TASK(w5500_emul_bridge_options, PRE_BOOT_1, 50);
NATIVE_TASK(w5500_emul_bridge_cleanup, ON_EXIT, 50);

#define W5500_EMUL_BRIDGE_DEFINE(inst)                                                             \
	EMUL_DT_INST_DEFINE(inst, w5500_emul_bridge_init, NULL, NULL, &w5500_emul_bridge_api, NULL);

DT_INST_FOREACH_STATUS_OKAY(W5500_EMUL_BRIDGE_DEFINE)
