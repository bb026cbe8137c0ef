/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * @file
 * @brief Test controls of the simulated W5500 (CONFIG_W5500_OFFLOAD_EMUL): cable faults, the
 *        LAN's DHCP server, clients on the LAN that connect to the chip, and a hand-driven
 *        TCP peer on the in-memory LAN (host "peer", 10.77.0.20).
 */

#ifndef W5500_OFFLOAD_W5500_EMUL_H_
#define W5500_OFFLOAD_W5500_EMUL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Plug (true) or pull (false) the simulated cable. */
void w5500_emul_set_link(bool up);

/** The lease the LAN's DHCP server gives from now on (seconds; t1_s/t2_s 0: left out, the
 *  client then uses 0.5 and 0.875 of the lease). 0 or -ENODEV.
 */
int w5500_emul_dhcp_lease(uint32_t lease_s, uint32_t t1_s, uint32_t t2_s);

/** DHCP messages of type msg_type (option 53: 1 DISCOVER, 3 REQUEST, 7 RELEASE) the LAN's
 *  server has received so far, or -ENODEV.
 */
int w5500_emul_dhcp_received(uint8_t msg_type);

/** Start recording the frames the chip sends; w5500_emul_arp_requests() reads and stops. */
void w5500_emul_trace_start(void);

/** ARP requests for ip the chip sent since w5500_emul_trace_start(), on the simulator's own
 *  clock (independent of how the host schedules the test): returns their number and writes
 *  the send instants (us) of the first n to at_us. Stops the recording. -EINVAL for a bad
 *  address, -ENODEV without the emulator.
 */
int w5500_emul_arp_requests(const char *ip, uint64_t *at_us, size_t n);

/** Schedule LAN clients that connect to the chip (the text of
 *  CONFIG_W5500_OFFLOAD_EMUL_LAN_CLIENTS_SPEC: grammar in the w5500-sim crate,
 *  lan::clients::spec). Each exchange is reported on the console. Returns how many clients
 *  were added, or -EINVAL (the error is logged; none is added).
 */
int w5500_emul_add_clients(const char *spec);

/** LAN-client exchanges that went as expected, otherwise, and still to finish (any pointer may
 *  be NULL). 0 or -ENODEV.
 */
int w5500_emul_client_totals(uint64_t *ok, uint64_t *failed, uint64_t *pending);

/** The LAN host 10.77.0.20 connects to ip:port. Returns a handle >= 0 or -errno. */
int w5500_emul_peer_connect(const char *ip, uint16_t port);

/** Queue bytes on peer connection h. 0 or -errno. */
int w5500_emul_peer_send(int h, const void *buf, size_t len);

/** Copy what connection h received so far into buf; returns the total (may exceed len). */
ssize_t w5500_emul_peer_received(int h, void *buf, size_t len);

/** FIN on connection h. 0 or -errno. */
int w5500_emul_peer_close(int h);

#endif /* W5500_OFFLOAD_W5500_EMUL_H_ */
