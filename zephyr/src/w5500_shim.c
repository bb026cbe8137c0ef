/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The kernel services the Rust glue calls (w5500_shim_*): SPI, RSTn, time, the stack
 *        mutex, the wake-up epoch with the wait that releases the caller's fd lock, logging,
 *        panic and the simulator's heap.
 */

#include <errno.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/printk.h>
#include <zephyr/sys/util.h>
#include <zephyr/sys/sys_heap.h>

#include <w5500_offload/w5500_shim.h>

#include "w5500_priv.h"

LOG_MODULE_DECLARE(w5500_offload, CONFIG_W5500_OFFLOAD_LOG_LEVEL);

#define MAX_BUFS 8

/* One spi_transceive for the whole frame: chip select stays asserted across the pieces. */
int32_t w5500_shim_spi_transceive(void *ctx, const W5500RsSpiBuf *bufs, size_t n)
{
	struct w5500_offload_data *d = ctx;
	struct spi_buf tx[MAX_BUFS], rx[MAX_BUFS];
	struct spi_buf_set txs = { .buffers = tx, .count = n };
	struct spi_buf_set rxs = { .buffers = rx, .count = n };

	if (n > MAX_BUFS) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		/* NULL buffers clock zeros out / discard what comes in. */
		tx[i].buf = (void *)bufs[i].tx;
		tx[i].len = bufs[i].len;
		rx[i].buf = bufs[i].rx;
		rx[i].len = bufs[i].len;
	}
	return spi_transceive_dt(&d->cfg->spi, &txs, &rxs);
}

int32_t w5500_shim_reset_pin(void *ctx, bool low)
{
	struct w5500_offload_data *d = ctx;

	if (d->cfg->reset_gpio.port == NULL) {
		return 0;
	}
#if defined(CONFIG_GPIO)
	/* reset-gpios is active low in devicetree: "active" = held in reset. */
	return gpio_pin_set_dt(&d->cfg->reset_gpio, low ? 1 : 0);
#else
	ARG_UNUSED(low);
	return -ENOTSUP;
#endif
}

void w5500_shim_delay_us(uint32_t us)
{
	if (us >= 1000U) {
		k_usleep(us);
	} else {
		k_busy_wait(us);
	}
}

uint64_t w5500_shim_uptime_ms(void)
{
	return (uint64_t)k_uptime_get();
}

void w5500_shim_stack_lock(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	(void)k_mutex_lock(&d->stack_lock, K_FOREVER);
}

void w5500_shim_stack_unlock(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	(void)k_mutex_unlock(&d->stack_lock);
}

void w5500_shim_iface_lock(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	(void)k_mutex_lock(&d->iface_lock, K_FOREVER);
}

void w5500_shim_iface_unlock(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	(void)k_mutex_unlock(&d->iface_lock);
}

void w5500_shim_kick_worker(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	k_sem_give(&d->irq_sem);
}

uint32_t w5500_shim_epoch(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	return (uint32_t)atomic_get(&d->epoch);
}

/*
 * Wait for news (epoch change) or the deadline. The socket layer calls every op with the
 * fd's mutex held; a blocked recv/accept/connect must not keep it, or send/poll/close on
 * the same fd from other threads would stall. So if this thread holds that socket's fd lock
 * (recorded from ZFD_IOCTL_SET_LOCK, on 3.4 and 4.x alike), release it while waiting and
 * take it back after. Lock order: fd lock before wait_lock, never the reverse.
 */
void w5500_shim_wait(void *ctx, int32_t socket_index, uint32_t seen, uint64_t deadline_ms)
{
	struct w5500_offload_data *d = ctx;
	struct k_mutex *fd_lock = NULL;

	/* On the worker (a getaddrinfo handed over to it: the lookup waits for its reply here)
	 * the news is the chip's: INTn and kicks give irq_sem, and no one else takes it while
	 * the worker is in a call. The epoch would not do: the INTn handler only gives irq_sem,
	 * and the thread that would service the chip and bump the epoch is this one, so the
	 * reply waited for the deadline (the safety poll, CONFIG_W5500_OFFLOAD_SAFETY_POLL_MS).
	 */
	if (k_current_get() == d->worker) {
		int64_t now = k_uptime_get();

		if ((uint32_t)atomic_get(&d->epoch) == seen && now >= 0 &&
		    (uint64_t)now < deadline_ms) {
			(void)k_sem_take(&d->irq_sem, K_MSEC(MIN(deadline_ms - (uint64_t)now,
								 (uint64_t)INT32_MAX)));
		}
		return;
	}
	if (socket_index >= 0 && socket_index < W5500_OFFLOAD_SOCKETS) {
		struct k_mutex *l = d->socks[socket_index].fd_lock;

		if (l != NULL && l->owner == k_current_get()) {
			fd_lock = l;
		}
	}
	(void)k_mutex_lock(&d->wait_lock, K_FOREVER);
	if (fd_lock != NULL) {
		(void)k_mutex_unlock(fd_lock);
	}
	while ((uint32_t)atomic_get(&d->epoch) == seen) {
		int64_t now = k_uptime_get();

		if (now < 0 || (uint64_t)now >= deadline_ms) {
			break;
		}
		(void)k_condvar_wait(&d->wait_cv, &d->wait_lock,
				     K_MSEC(MIN(deadline_ms - (uint64_t)now, (uint64_t)INT32_MAX)));
	}
	(void)k_mutex_unlock(&d->wait_lock);
	if (fd_lock != NULL) {
		(void)k_mutex_lock(fd_lock, K_FOREVER);
	}
}

void w5500_shim_notify_all(void *ctx)
{
	struct w5500_offload_data *d = ctx;

	(void)k_mutex_lock(&d->wait_lock, K_FOREVER);
	atomic_inc(&d->epoch);
	(void)k_condvar_broadcast(&d->wait_cv);
	(void)k_mutex_unlock(&d->wait_lock);
	/* Wake poll(): each pending poll re-checks its sockets' readiness. */
	for (int i = 0; i < W5500_OFFLOAD_SOCKETS; i++) {
		if (d->socks[i].id >= 0) {
			k_poll_signal_raise(&d->socks[i].sig, 0);
		}
	}
}

void w5500_shim_log(uint8_t level, const char *msg)
{
	switch (level) {
	case 1:
		LOG_ERR("%s", msg);
		break;
	case 2:
		LOG_WRN("%s", msg);
		break;
	case 3:
		LOG_INF("%s", msg);
		break;
	default:
		LOG_DBG("%s", msg);
		break;
	}
}

/* One log record of the Rust crates (w5500-log's c-sink): a static message and up to three
 * arguments, printed here so that no Rust formatting code is in the image. The arguments are
 * printed into a stack buffer before logging (text arguments need not outlive the call).
 */
void w5500_shim_log_rec(uint8_t level, const char *msg, const struct W5500RsLogArg *args, size_t n)
{
	char text[64];
	size_t len = 0;

	text[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(text) - 1; i++) {
		const struct W5500RsLogArg *a = &args[i];
		char *at = text + len;
		size_t room = sizeof(text) - len;
		int r;

		switch (a->kind) {
		case W5500_RS_LOG_ARG_KIND_U32:
			r = snprintk(at, room, " %u", (unsigned int)a->value);
			break;
		case W5500_RS_LOG_ARG_KIND_I32:
			r = snprintk(at, room, " %d", (int)(int32_t)a->value);
			break;
		case W5500_RS_LOG_ARG_KIND_HEX:
			r = snprintk(at, room, " 0x%x", (unsigned int)a->value);
			break;
		case W5500_RS_LOG_ARG_KIND_IPV4:
			r = snprintk(at, room, " %u.%u.%u.%u", (unsigned int)(a->value & 0xff),
				     (unsigned int)((a->value >> 8) & 0xff),
				     (unsigned int)((a->value >> 16) & 0xff),
				     (unsigned int)(a->value >> 24));
			break;
		case W5500_RS_LOG_ARG_KIND_STR:
			r = snprintk(at, room, " %.*s", (int)MIN(a->value, (uint32_t)room), a->str);
			break;
		default:
			r = 0;
			break;
		}
		len += (r < 0) ? 0 : MIN((size_t)r, room - 1);
	}
	switch (level) {
	case 1:
		LOG_ERR("%s%s", msg, text);
		break;
	case 2:
		LOG_WRN("%s%s", msg, text);
		break;
	case 3:
		LOG_INF("%s%s", msg, text);
		break;
	default:
		LOG_DBG("%s%s", msg, text);
		break;
	}
}

FUNC_NORETURN void w5500_shim_panic(void)
{
	k_panic();
	CODE_UNREACHABLE;
}

/* The simulator's heap, behind Rust's global allocator (rust/w5500-zephyr/src/heap.rs). In a
 * zephyr-lang-rust application with CONFIG_RUST_ALLOC, zephyr's allocator (malloc) serves the
 * simulator instead and this heap would be dead RAM; with the bridge the simulator runs
 * in the w5500-sim process (the rule: rust/w5500-zephyr/src/build_cfg.rs).
 */
#if defined(CONFIG_W5500_OFFLOAD_EMUL) && !defined(CONFIG_W5500_OFFLOAD_EMUL_BRIDGE) &&            \
	!(defined(CONFIG_RUST) && defined(CONFIG_RUST_ALLOC))
K_HEAP_DEFINE(w5500_emul_heap, CONFIG_W5500_OFFLOAD_EMUL_HEAP_SIZE);

void *w5500_shim_malloc(size_t size, size_t align)
{
	void *p =
		k_heap_aligned_alloc(&w5500_emul_heap, MAX(align, sizeof(void *)), size, K_NO_WAIT);

	if (p == NULL) {
		LOG_ERR("simulator heap exhausted (%zu bytes)", size);
	}
	return p;
}

void w5500_shim_free(void *p)
{
	k_heap_free(&w5500_emul_heap, p);
}

int w5500_shim_emul_heap_stats(size_t *used, size_t *free_bytes)
{
	struct sys_memory_stats st;
	int r = sys_heap_runtime_stats_get(&w5500_emul_heap.heap, &st);

	if (r < 0) {
		return r;
	}
	*used = st.allocated_bytes;
	*free_bytes = st.free_bytes;
	return 0;
}
#endif
