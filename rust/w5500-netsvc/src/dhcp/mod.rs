//! DHCP client (RFC 2131, options from RFC 2132), sans-IO, `no_std`, no allocation.
//!
//! [`Client`] is a state machine. It owns no socket and no clock: the caller hands it the
//! current time (`now_ms`, monotonic milliseconds), the datagrams that arrived on UDP port 68,
//! and the results of address probes; it answers with datagrams to send
//! ([`Client::poll_transmit`], written into the caller's buffer), events for the OS layer
//! ([`Client::poll_event`]) and the time it next needs to run ([`Client::poll_at`]).
//!
//! ```text
//! loop {
//!     client.poll(now);                                   // timers (also done by poll_transmit)
//!     while let Some(t) = client.poll_transmit(now, &mut buf) {
//!         udp.send_to(&buf[..t.len], t.dst);              // from port 68
//!     }
//!     while let Some(ev) = client.poll_event() { /* Bound/Renewed/Rebound: program the chip
//!         with client.lease(); Lost: clear it; Probe(ip): check ip, then probe_result() */ }
//!     // wait for a datagram on port 68 (→ client.handle) or until client.poll_at()
//! }
//! ```
//!
//! # Socket sharing
//! DHCP needs one UDP socket bound to port 68 (with broadcast enabled) only while it exchanges
//! messages: from the DISCOVER until the ACK, and during a renewal or rebinding.
//! [`Client::needs_socket`] says when; in BOUND (the long stretch between T0 and T1), while an
//! address is probed, while waiting after a DECLINE, and when stopped, the socket can be closed
//! and used for something else. The chip sends from its SIPR, so the OS layer keeps SIPR at
//! 0.0.0.0 until [`Event::Bound`] and programs the address, mask and gateway from the client's
//! [`Lease`]. A static configuration is the same [`Lease`] made with [`Lease::manual`]: the
//! client is simply not run, and the chip is programmed the same way.
//!
//! # RFC behaviour covered
//! - States INIT, SELECTING, REQUESTING, BOUND, RENEWING, REBINDING, INIT-REBOOT, REBOOTING
//!   (RFC 2131 §4.4, figure 5), plus PROBING (the §4.4.1 address check), LINK-DOWN and STOPPED.
//! - DISCOVER and the SELECTING/INIT-REBOOT REQUESTs are broadcast with the BROADCAST flag set
//!   (§4.1: the chip cannot receive unicast to an address it does not have yet). The
//!   SELECTING REQUEST carries options 50 + 54 and the `secs` of the DISCOVER (§4.4.1);
//!   INIT-REBOOT carries option 50 and no server id (§3.2, §4.3.2).
//! - Renewal at T1 by unicast to the server with `ciaddr` set; rebinding at T2 by broadcast;
//!   expiry removes the address ([`Event::Lost`]) and restarts from INIT (§4.4.5). The
//!   gateway comes from the router option (3), never from the server identifier.
//! - Retransmission (§4.1): 4, 8, 16, 32, then 64 s, each ±1 s of jitter. SELECTING keeps
//!   trying at 64 s; REQUESTING and REBOOTING give up after four transmissions (back to INIT,
//!   or, when rebooting with an unexpired lease, back to BOUND with it, §3.2). In RENEWING and
//!   REBINDING a retransmission waits half the time left until T2 or expiry, at least 60 s
//!   (§4.4.5).
//! - A fresh random `xid` for each exchange (acquisition, reboot, renewal, rebinding, decline,
//!   release); retransmissions keep it.
//! - Replies are accepted only from port 67 with `op` = BOOTREPLY, the current `xid`, our
//!   `chaddr`, the magic cookie, a message type that fits the state and a server identifier:
//!   in REQUESTING the selected server's, in RENEWING the lease's, in REBINDING and REBOOTING
//!   any. The first valid OFFER is selected.
//! - DHCPNAK restarts from INIT (§3.1, §3.2, §4.4.5); repeated NAKs without a binding back
//!   off (4 s … 64 s) so a server that NAKs everything cannot cause a storm.
//! - Lease times in seconds: defaults T1 = 0.5 · lease and T2 = 0.875 · lease (§4.4.5); the
//!   lease is clamped to at least [`MIN_LEASE_SECS`]; T1 and T2 from the server are used
//!   only when 0 < T1 < T2 < lease; 0xffffffff is an infinite lease (never renewed, never
//!   expires). The lease starts when the REQUEST was first sent (§4.4.1).
//! - Address check (§4.4.1, §3.1.5): after an ACK for a new address the caller is asked to
//!   probe it ([`Event::Probe`]); "in use" sends a broadcast DECLINE, waits 10 s (+ up to 1 s)
//!   and restarts. No answer within [`PROBE_TIMEOUT_MS`] counts as "free".
//! - RELEASE (unicast to the server, `ciaddr` set) on orderly shutdown ([`Client::release`]).
//! - Link up with an unexpired lease (or a remembered address): INIT-REBOOT to confirm it.
//! - Options sent: 53, 61 (type 1 + MAC unless configured), 50, 54, 57, 55, 12. Options read:
//!   1, 3, 6 (up to [`MAX_DNS`]), 15, 51, 52, 53, 54, 58, 59. Option overload (52) is
//!   **handled**: options in `file` and then `sname` are read. Unknown options are skipped,
//!   malformed ones (wrong length, running past their area) are ignored; pad and end are
//!   honoured.
//!
//! Not done: DHCPINFORM, collecting several OFFERs to compare them, the optional 1–10 s
//! start-up delay of §4.4.1 (the caller may delay [`Client::start`]), and the gratuitous ARP
//! after binding (the chip has no command for it).

mod client;
mod config;
mod lease;
mod rng;
pub mod wire;

use core::net::{Ipv4Addr, SocketAddrV4};

pub use client::{Client, Event, State, Transmit};
pub use config::{hostname_from_template, ClientId, Config, Hostname};
pub use lease::{lease_times, Lease};
use wire::SERVER_PORT;
pub use wire::{MessageType, CLIENT_ID_MAX, DOMAIN_MAX, HOSTNAME_MAX, MAX_DNS, MAX_REQUEST_LEN};

/// The smallest lease the client believes (seconds); shorter ones are raised to this, so a
/// server sending 0 cannot make the client renew in a tight loop.
pub const MIN_LEASE_SECS: u32 = 60;
/// Lease assumed when an ACK carries no lease time (option 51) and its OFFER had none.
pub const DEFAULT_LEASE_SECS: u32 = 3600;
/// The value of option 51 meaning "infinite" (RFC 2131 §3.3).
pub const INFINITE: u32 = u32::MAX;
/// The address probe is compiled in (the cargo feature `dhcp-probe`, default). Without it
/// [`Config::probe`] has no effect: an ACKed address is bound at once, no [`Event::Probe`]
/// and so no DHCPDECLINE.
pub const PROBE: bool = cfg!(feature = "dhcp-probe");

/// How long the client waits for [`Client::probe_result`] before treating the address as free.
pub const PROBE_TIMEOUT_MS: u64 = 4_000;
/// Wait after a DECLINE before starting over (RFC 2131 §3.1.5: at least ten seconds).
pub const DECLINE_WAIT_MS: u64 = 10_000;
/// Transmissions of a REQUEST in REQUESTING or REBOOTING before giving up.
pub const MAX_REQUEST_TRANSMISSIONS: u8 = 4;
/// The smallest wait between retransmissions in RENEWING and REBINDING (RFC 2131 §4.4.5).
pub const MIN_RENEW_RETRY_MS: u64 = 60_000;
/// Default of [`Config::max_message_size`]: the DHCP minimum (RFC 2131 §2), so a receive
/// buffer of 548 bytes (576 − 28 for the IP and UDP headers) always holds a reply.
pub const DEFAULT_MAX_MESSAGE_SIZE: u16 = 576;
/// Largest useful [`Config::max_message_size`]: an Ethernet MTU, i.e. a 1472-byte UDP
/// payload, the most the W5500 receives in one datagram.
pub const MAX_MAX_MESSAGE_SIZE: u16 = 1500;
/// Events kept until [`Client::poll_event`] takes them; on overflow the oldest is dropped.
pub const EVENT_QUEUE: usize = 4;

/// Fuzz entry point for the reply parser and the client's reply handling: parses `data`,
/// then feeds it (with the `xid` and `chaddr` patched to match) to a client waiting in
/// SELECTING and to one in REQUESTING. Must never panic.
pub fn fuzz_parse(data: &[u8]) {
    let _ = wire::parse(data);
    let mac = [2, 0, 0, 0, 0, 1];
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let mut patched = [0u8; 1500];
    let n = data.len().min(patched.len());
    if let (Some(dst), Some(src)) = (patched.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), SERVER_PORT);
    let mut c = Client::new(Config::new(mac, 1));
    c.start(0);
    let _ = c.poll_transmit(0, &mut buf);
    let xid = c.xid().to_be_bytes();
    if let Some(x) = patched.get_mut(4..8) {
        x.copy_from_slice(&xid);
    }
    if let Some(ch) = patched.get_mut(28..34) {
        ch.copy_from_slice(&mac);
    }
    let msg = patched.get(..n).unwrap_or(&[]);
    let _ = c.handle(1, from, msg);
    let _ = c.poll_transmit(1, &mut buf);
    let _ = c.handle(2, from, msg);
    let _ = c.poll_transmit(2, &mut buf);
    while c.poll_event().is_some() {}
    let _ = c.poll_at();
}
