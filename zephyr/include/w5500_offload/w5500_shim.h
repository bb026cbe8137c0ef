/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief The C functions the Rust glue calls (w5500_shim_*). Their prototypes are generated
 *        by cbindgen from rust/w5500-zephyr/src/sys.rs into w5500_rs.h, so the two sides
 *        cannot drift; implemented in zephyr/src/w5500_shim.c.
 */

#ifndef W5500_OFFLOAD_W5500_SHIM_H_
#define W5500_OFFLOAD_W5500_SHIM_H_

#include <zephyr/toolchain.h>

#include <w5500_offload/w5500_rs.h>

#endif /* W5500_OFFLOAD_W5500_SHIM_H_ */
