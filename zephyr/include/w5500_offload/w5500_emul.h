/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Test controls of the simulated W5500 (CONFIG_W5500_OFFLOAD_EMUL): cable faults and a
 *        hand-driven TCP peer on the in-memory LAN (host "peer", 10.77.0.20).
 */

#ifndef W5500_OFFLOAD_W5500_EMUL_H_
#define W5500_OFFLOAD_W5500_EMUL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Plug (true) or pull (false) the simulated cable. */
void w5500_emul_set_link(bool up);

/** The LAN host 10.77.0.20 connects to ip:port. Returns a handle >= 0 or -errno. */
int w5500_emul_peer_connect(const char *ip, uint16_t port);

/** Queue bytes on peer connection h. 0 or -errno. */
int w5500_emul_peer_send(int h, const void *buf, size_t len);

/** Copy what connection h received so far into buf; returns the total (may exceed len). */
ssize_t w5500_emul_peer_received(int h, void *buf, size_t len);

/** FIN on connection h. 0 or -errno. */
int w5500_emul_peer_close(int h);

#endif /* W5500_OFFLOAD_W5500_EMUL_H_ */
