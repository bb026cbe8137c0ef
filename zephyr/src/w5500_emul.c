/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The project's W5500 simulator as a Zephyr SPI emulator (CONFIG_W5500_OFFLOAD_EMUL).
 *
 * The wiznet,w5500-offload node sits on a zephyr,spi-emul-controller bus; every
 * spi_transceive() the driver makes arrives here as one chip-select frame and is clocked,
 * byte for byte, through the simulator core in Rust (w5500_rs_emul_*), which runs the chip's
 * registers, buffer memory and TCP/IP engine on the standard in-memory LAN. The simulator's
 * clock follows k_uptime (advanced on every frame and from a periodic work item).
 *
 * INTn: when the node has int-gpios on a zephyr,gpio-emul controller (tests' and samples'
 * emul-intn.overlay), its input follows the simulator's INTn after every frame and tick, so
 * the driver runs interrupt-driven as on hardware; without int-gpios the driver polls.
 *
 * The simulator runs on a work queue of its own (CONFIG_W5500_OFFLOAD_EMUL_STACK_SIZE): a
 * transfer is handed to it and the calling thread waits. So the stacks of the driver's
 * threads (the worker, the application's) carry only the driver, as on hardware, and
 * Zephyr's thread analyzer measures them in emulated runs (docs/BENCHMARKS.md, stacks).
 */

#define DT_DRV_COMPAT wiznet_w5500_offload

#include <errno.h>

#include <zephyr/device.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/drivers/spi_emul.h>
#include <zephyr/kernel.h>
#include <zephyr/net/net_ip.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_emul.h>
#include <w5500_offload/w5500_rs.h>

static K_MUTEX_DEFINE(emul_lock);

#if DT_INST_NODE_HAS_PROP(0, int_gpios)
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/gpio/gpio_emul.h>

static const struct gpio_dt_spec emul_int = GPIO_DT_SPEC_INST_GET(0, int_gpios);

/* Drive the emulated INTn from the simulator (emul_lock held), once the driver has made the
 * pin an input (gpio_emul refuses it before). Set every time: only a change makes an edge.
 * Active-low: asserted is the low level. */
static void emul_update_int(void)
{
	gpio_flags_t flags = 0;
	bool asserted;
	int active_low;

	if (gpio_emul_flags_get(emul_int.port, emul_int.pin, &flags) < 0 ||
	    (flags & GPIO_INPUT) == 0) {
		return;
	}
	asserted = w5500_rs_emul_int_asserted();
	active_low = (emul_int.dt_flags & GPIO_ACTIVE_LOW) != 0;
	(void)gpio_emul_input_set(emul_int.port, emul_int.pin, asserted ? !active_low : active_low);
}
#else
static void emul_update_int(void)
{
}
#endif
static struct k_work_delayable emul_tick;
static K_THREAD_STACK_DEFINE(emul_stack, CONFIG_W5500_OFFLOAD_EMUL_STACK_SIZE);
static struct k_work_q emul_q;

static uint64_t now_us(void)
{
	return k_ticks_to_us_floor64(k_uptime_ticks());
}

static void emul_tick_fn(struct k_work *work)
{
	ARG_UNUSED(work);
	k_mutex_lock(&emul_lock, K_FOREVER);
	w5500_rs_emul_tick(now_us());
	emul_update_int();
	k_mutex_unlock(&emul_lock);
	k_work_reschedule_for_queue(&emul_q, &emul_tick, K_MSEC(CONFIG_W5500_OFFLOAD_EMUL_TICK_MS));
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

/* One chip-select frame, clocked through the simulator on the emulator's work queue. */
static int emul_frame(const struct spi_buf_set *tx_bufs, const struct spi_buf_set *rx_bufs)
{
	size_t ti = 0, toff = 0, ri = 0, roff = 0;

	k_mutex_lock(&emul_lock, K_FOREVER);
	if (w5500_rs_emul_select(now_us()) < 0) {
		k_mutex_unlock(&emul_lock);
		return -EIO;
	}
	for (;;) {
		bool has_tx = next_buf(tx_bufs, &ti, &toff);
		bool has_rx = next_buf(rx_bufs, &ri, &roff);
		size_t n = SIZE_MAX;
		const uint8_t *tx = NULL;
		uint8_t *rx = NULL;

		if (!has_tx && !has_rx) {
			break;
		}
		if (has_tx) {
			n = MIN(n, tx_bufs->buffers[ti].len - toff);
			if (tx_bufs->buffers[ti].buf != NULL) {
				tx = (const uint8_t *)tx_bufs->buffers[ti].buf + toff;
			}
		}
		if (has_rx) {
			n = MIN(n, rx_bufs->buffers[ri].len - roff);
			if (rx_bufs->buffers[ri].buf != NULL) {
				rx = (uint8_t *)rx_bufs->buffers[ri].buf + roff;
			}
		}
		w5500_rs_emul_transfer(tx, rx, n);
		if (has_tx) {
			toff += n;
		}
		if (has_rx) {
			roff += n;
		}
	}
	w5500_rs_emul_deselect();
	emul_update_int();
	k_mutex_unlock(&emul_lock);
	return 0;
}

struct emul_request {
	struct k_work work;
	struct k_sem done;
	const struct spi_buf_set *tx;
	const struct spi_buf_set *rx;
	int ret;
};

static void emul_request_fn(struct k_work *work)
{
	struct emul_request *req = CONTAINER_OF(work, struct emul_request, work);

	req->ret = emul_frame(req->tx, req->rx);
	k_sem_give(&req->done);
}

static int w5500_emul_io(const struct emul *target, const struct spi_config *config,
			 const struct spi_buf_set *tx_bufs, const struct spi_buf_set *rx_bufs)
{
	struct emul_request req = { .tx = tx_bufs, .rx = rx_bufs };

	ARG_UNUSED(target);
	ARG_UNUSED(config);
	if (k_current_get() == &emul_q.thread) {
		return emul_frame(tx_bufs, rx_bufs);
	}
	k_work_init(&req.work, emul_request_fn);
	k_sem_init(&req.done, 0, 1);
	if (k_work_submit_to_queue(&emul_q, &req.work) < 0) {
		return -EIO;
	}
	k_sem_take(&req.done, K_FOREVER);
	return req.ret;
}

static const struct spi_emul_api w5500_emul_api = {
	.io = w5500_emul_io,
};

/* The simulator is built on its work queue too (its LAN takes kilobytes of stack), not on
 * the main thread that runs device init.
 */
static void emul_init_fn(struct k_work *work)
{
	struct emul_request *req = CONTAINER_OF(work, struct emul_request, work);

	k_mutex_lock(&emul_lock, K_FOREVER);
	(void)w5500_rs_emul_init(now_us());
	if (CONFIG_W5500_OFFLOAD_EMUL_DHCP_LEASE_S != 3600 ||
	    CONFIG_W5500_OFFLOAD_EMUL_DHCP_T1_S != 0) {
		(void)w5500_rs_emul_dhcp_lease(CONFIG_W5500_OFFLOAD_EMUL_DHCP_LEASE_S,
					       CONFIG_W5500_OFFLOAD_EMUL_DHCP_T1_S, 0);
	}
#if defined(CONFIG_W5500_OFFLOAD_EMUL_LAN_CLIENTS)
	/* Errors in the schedule are logged by the simulator; the image runs without it. */
	(void)w5500_rs_emul_add_clients(CONFIG_W5500_OFFLOAD_EMUL_LAN_CLIENTS_SPEC);
#endif
	k_mutex_unlock(&emul_lock);
	k_sem_give(&req->done);
}

static int w5500_emul_init(const struct emul *target, const struct device *parent)
{
	struct emul_request req = { 0 };

	ARG_UNUSED(target);
	ARG_UNUSED(parent);
	k_work_queue_start(&emul_q, emul_stack, K_THREAD_STACK_SIZEOF(emul_stack),
			   K_PRIO_COOP(CONFIG_NUM_COOP_PRIORITIES - 1), NULL);
	k_thread_name_set(&emul_q.thread, "w5500_emul");
	k_work_init(&req.work, emul_init_fn);
	k_sem_init(&req.done, 0, 1);
	(void)k_work_submit_to_queue(&emul_q, &req.work);
	k_sem_take(&req.done, K_FOREVER);
	k_work_init_delayable(&emul_tick, emul_tick_fn);
	k_work_schedule_for_queue(&emul_q, &emul_tick, K_MSEC(CONFIG_W5500_OFFLOAD_EMUL_TICK_MS));
	return 0;
}

void w5500_emul_set_link(bool up)
{
	k_mutex_lock(&emul_lock, K_FOREVER);
	w5500_rs_emul_set_link(up);
	k_mutex_unlock(&emul_lock);
}

int w5500_emul_dhcp_lease(uint32_t lease_s, uint32_t t1_s, uint32_t t2_s)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_dhcp_lease(lease_s, t1_s, t2_s);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -ENODEV : 0;
}

int w5500_emul_dhcp_received(uint8_t msg_type)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_dhcp_received(msg_type);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -ENODEV : r;
}

void w5500_emul_trace_start(void)
{
	k_mutex_lock(&emul_lock, K_FOREVER);
	w5500_rs_emul_trace_start();
	k_mutex_unlock(&emul_lock);
}

int w5500_emul_arp_requests(const char *ip, uint64_t *at_us, size_t n)
{
	uint8_t addr[4];
	int r;

	if (net_addr_pton(W5_AF_INET, ip, addr) < 0) {
		return -EINVAL;
	}
	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_arp_requests(addr, at_us, n);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -ENODEV : r;
}

int w5500_emul_add_clients(const char *spec)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_add_clients(spec);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -EINVAL : r;
}

int w5500_emul_client_totals(uint64_t *ok, uint64_t *failed, uint64_t *pending)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_client_totals(ok, failed, pending);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -ENODEV : 0;
}

int w5500_emul_peer_connect(const char *ip, uint16_t port)
{
	W5500RsSockaddr to = { .port = port };
	int h;

	if (net_addr_pton(W5_AF_INET, ip, to.addr) < 0) {
		return -EINVAL;
	}
	k_mutex_lock(&emul_lock, K_FOREVER);
	h = w5500_rs_emul_peer_connect(&to);
	k_mutex_unlock(&emul_lock);
	return h < 0 ? -EIO : h;
}

int w5500_emul_peer_send(int h, const void *buf, size_t len)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_peer_send(h, buf, len);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -EIO : 0;
}

ssize_t w5500_emul_peer_received(int h, void *buf, size_t len)
{
	intptr_t r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_peer_received(h, buf, len);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -EIO : (ssize_t)r;
}

int w5500_emul_peer_close(int h)
{
	int r;

	k_mutex_lock(&emul_lock, K_FOREVER);
	r = w5500_rs_emul_peer_close(h);
	k_mutex_unlock(&emul_lock);
	return r < 0 ? -EIO : 0;
}

#define W5500_EMUL_DEFINE(inst)                                                                    \
	EMUL_DT_INST_DEFINE(inst, w5500_emul_init, NULL, NULL, &w5500_emul_api, NULL);

DT_INST_FOREACH_STATUS_OKAY(W5500_EMUL_DEFINE)
