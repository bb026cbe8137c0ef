//! Target `sim_spi`: the simulator against hostile SPI frames from a driver, the other side of
//! `hostile_chip`. Contract (the simulator's rules): nothing a driver writes can panic the
//! simulator or make it loop without bound.
//!
//! The chip sits on an in-memory LAN with one peer, 10.0.0.9, running a TCP echo server and a
//! UDP recorder on port 7, so frames the chip's engine sends (ARP, SYN, UDP, MACRAW) get
//! answers. Input: up to [`SIM_STEPS`] steps, each a kind byte:
//! - `0`, `1`: one chip-select frame (a length-prefixed chunk, header and data as MOSI bytes);
//! - `2`: let `u16 × 10 µs` pass;
//! - `3`: jump to the next chip or network event.

use core::net::Ipv4Addr;
use core::time::Duration;

use w5500_sim::lan::apps::TcpEcho;
use w5500_sim::lan::{Lan, TcpOptions};
use w5500_sim::sim::Sim;

use crate::input::Input;

/// Most steps per input.
pub const SIM_STEPS: usize = 128;
/// The LAN peer.
pub const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
/// Its TCP echo and UDP recorder port.
pub const PEER_PORT: u16 = 7;

/// What a run reached (for the seed tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimSummary {
    /// Chip-select frames clocked.
    pub frames: usize,
    /// Largest `S0_RX_RSR` seen after a step (bytes the peer sent to socket 0).
    pub max_rx0: u16,
}

/// Run the simulator over `data`.
pub fn sim_spi(data: &[u8]) -> SimSummary {
    let mut lan = Lan::new(1);
    let h = lan.add_simple_host("peer", PEER);
    lan.listen_tcp(h, PEER_PORT, TcpOptions::default(), TcpEcho::factory());
    lan.bind_udp_recorder(h, PEER_PORT);
    let mut sim = Sim::new(lan);
    let mut inp = Input::new(data);
    let mut sum = SimSummary::default();
    for _ in 0..SIM_STEPS {
        if inp.is_empty() {
            break;
        }
        match inp.u8() % 4 {
            0 | 1 => {
                let mut f = inp.chunk().to_vec();
                if sim.select().is_ok() {
                    sim.transfer_in_place(&mut f);
                    sim.deselect();
                    sum.frames += 1;
                }
            }
            2 => sim.advance(Duration::from_micros(u64::from(inp.u16()) * 10)),
            _ => {
                let _ = sim.advance_to_next_event();
            }
        }
        sum.max_rx0 = sum.max_rx0.max(sim.peek_socket16(0, 0x26));
    }
    sum
}
