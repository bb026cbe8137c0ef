/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The C functions the Rust glue calls (declared in rust/w5500-zephyr/src/sys.rs;
 *        keep both lists identical). Implemented in zephyr/src/w5500_shim.c.
 */

#ifndef W5500_OFFLOAD_W5500_SHIM_H_
#define W5500_OFFLOAD_W5500_SHIM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/toolchain.h>

#include <w5500_offload/w5500_rs.h>

int w5500_shim_spi_transceive(void *ctx, const W5500RsSpiBuf *bufs, size_t n);
int w5500_shim_reset_pin(void *ctx, bool low);
void w5500_shim_delay_us(uint32_t us);
uint64_t w5500_shim_uptime_ms(void);
void w5500_shim_stack_lock(void *ctx);
void w5500_shim_stack_unlock(void *ctx);
uint32_t w5500_shim_epoch(void *ctx);
void w5500_shim_wait(void *ctx, int32_t socket_index, uint32_t seen, uint64_t deadline_ms);
void w5500_shim_notify_all(void *ctx);
void w5500_shim_log(uint8_t level, const char *msg);
FUNC_NORETURN void w5500_shim_panic(void);
void *w5500_shim_malloc(size_t size, size_t align);
void w5500_shim_free(void *p);

#endif /* W5500_OFFLOAD_W5500_SHIM_H_ */
