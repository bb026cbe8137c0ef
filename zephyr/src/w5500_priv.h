/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief State shared by the C files of the W5500 offload driver (not a public API).
 */

#ifndef W5500_OFFLOAD_PRIV_H_
#define W5500_OFFLOAD_PRIV_H_

#include <zephyr/device.h>
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/spi.h>
#include <zephyr/kernel.h>
#include <zephyr/net/net_if.h>

#include <w5500_offload/compat.h>
#include <w5500_offload/w5500_rs.h>

/** Sockets the chip has, and so the size of the per-socket table (index = id & mask). */
#define W5500_OFFLOAD_SOCKETS 8

/** One offloaded socket as the fd table sees it. Storage is static, so a pending k_poll()
 *  never sees freed memory after close().
 */
struct w5500_sock {
	/** Rust socket id, or -1 when the slot is free. */
	int32_t id;
	/** The fd it is finalized on (for the shell). */
	int fd;
	/** The fd entry's mutex (ZFD_IOCTL_SET_LOCK); released while blocking. */
	struct k_mutex *fd_lock;
	/** Raised on every chip event; poll() waits on it. */
	struct k_poll_signal sig;
	/** W5500RsSockType. */
	uint8_t type;
};

/** Devicetree configuration of one chip. */
struct w5500_offload_config {
	struct spi_dt_spec spi;
	struct gpio_dt_spec int_gpio;
	struct gpio_dt_spec reset_gpio;
	uint8_t mac[6];
	uint8_t tx_buf_kb[8];
	uint8_t rx_buf_kb[8];
};

/** Run-time state of one chip (the `ctx` of every w5500_shim_* call). */
struct w5500_offload_data {
	const struct device *dev;
	const struct w5500_offload_config *cfg;
	struct net_if *iface;
	uint8_t mac[6];
	bool ready;
	/** Serialises every Rust stack call (the SPI bus of the chip). */
	struct k_mutex stack_lock;
	/** Guards the interface (DHCP/DNS state). Lock order: fd lock, interface lock, stack
	 *  lock, wait lock (see rust/w5500-zephyr/src/instance.rs).
	 */
	struct k_mutex iface_lock;
	/** Wake-up epoch, condvar and its mutex (Os::wait / Os::notify_all). */
	struct k_mutex wait_lock;
	struct k_condvar wait_cv;
	atomic_t epoch;
	/** INTn callback and the worker's wake-up. */
	struct gpio_callback int_cb;
	struct k_sem irq_sem;
	/** The worker thread (its waits take irq_sem, see w5500_shim_wait). */
	k_tid_t worker;
	/** A call handed to the worker (struct w5500_call in w5500_offload.c), or NULL. */
	atomic_ptr_t call;
	/** The socket table. */
	struct k_mutex socks_lock;
	struct w5500_sock socks[W5500_OFFLOAD_SOCKETS];
	/** The address last added to the interface (to remove it again). */
	bool have_addr;
	w5_in_addr_t addr;
};

/** The one instance (the socket-offload handler has no device argument). */
extern struct w5500_offload_data *w5500_offload_instance;

/** errno number for a W5500RsErrno name code (positive). */
int w5500_offload_errno(int name);

/** Map a negative Rust return to `errno` and return -1; pass through other values. */
static inline int w5500_offload_ret(int r)
{
	if (r < 0) {
		errno = w5500_offload_errno(-r);
		return -1;
	}
	return r;
}

/** The offload socket creator (NET_SOCKET_OFFLOAD_REGISTER and net_if_socket_offload_set). */
int w5500_offload_socket_create(int family, int type, int proto);

/** Reset the socket table at device init. */
void w5500_offload_sockets_init(struct w5500_offload_data *d);

/** Register the DNS offload (CONFIG_W5500_OFFLOAD_DNS). */
void w5500_offload_dns_init(void);

/** Interface control at iface init (w5500_ctl.c): retry registers, host name. */
void w5500_offload_ctl_iface_init(struct w5500_offload_data *d);

/** Handle interface events from Rust (worker thread). */
void w5500_offload_handle_events(struct w5500_offload_data *d);

#endif /* W5500_OFFLOAD_PRIV_H_ */
