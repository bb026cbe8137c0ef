//! The workloads and what one run of one workload yields.

use crate::env::Buffers;
use crate::spy::Counts;

/// The name the DNS workload looks up (an A record in the standard LAN's zone).
pub const DNS_NAME: &str = "http.sim.lan";

/// A workload on the in-memory LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Receive `n` bytes from the byte source (TCP), verify them against the pattern.
    TcpRecv(u64),
    /// Send `n` pattern bytes to the byte sink (TCP), which verifies them.
    TcpSend(u64),
    /// Send `count` UDP datagrams of `size` bytes to a recorder, verified in order.
    UdpTx { size: usize, count: u32 },
    /// Receive `count` UDP datagrams of `size` bytes from a peer (one at a time), verified.
    UdpRx { size: usize, count: u32 },
    /// `count` round trips of 64 bytes over one TCP connection to the echo server.
    Echo { count: u32 },
    /// `count` cycles of connect, 64 bytes each way, close (until the socket is free again).
    Cycles { count: u32 },
    /// One DHCP lease (DISCOVER to ACK).
    Dhcp,
    /// One DNS A lookup (http.sim.lan).
    Dns,
}

impl Work {
    /// Short stable name (used on the command line and in the report).
    pub fn name(&self) -> String {
        match self {
            Work::TcpRecv(n) => format!("tcp-recv-{}", size_name(*n)),
            Work::TcpSend(n) => format!("tcp-send-{}", size_name(*n)),
            Work::UdpTx { size, .. } => format!("udp-tx-{size}"),
            Work::UdpRx { size, .. } => format!("udp-rx-{size}"),
            Work::Echo { .. } => "echo-64".into(),
            Work::Cycles { .. } => "connect-cycle".into(),
            Work::Dhcp => "dhcp-lease".into(),
            Work::Dns => "dns-lookup".into(),
        }
    }

    /// What one operation is.
    pub fn op_name(&self) -> &'static str {
        match self {
            Work::TcpRecv(_) | Work::TcpSend(_) => "KiB",
            Work::UdpTx { .. } | Work::UdpRx { .. } => "datagram",
            Work::Echo { .. } => "round trip",
            Work::Cycles { .. } => "cycle",
            Work::Dhcp => "lease",
            Work::Dns => "lookup",
        }
    }

    /// A complete, parseable description (sizes and counts included), for the command line
    /// of a callgrind child.
    pub fn spec(&self) -> String {
        match *self {
            Work::TcpRecv(n) => format!("tcp-recv:{n}"),
            Work::TcpSend(n) => format!("tcp-send:{n}"),
            Work::UdpTx { size, count } => format!("udp-tx:{size}:{count}"),
            Work::UdpRx { size, count } => format!("udp-rx:{size}:{count}"),
            Work::Echo { count } => format!("echo:{count}"),
            Work::Cycles { count } => format!("cycles:{count}"),
            Work::Dhcp => "dhcp".into(),
            Work::Dns => "dns".into(),
        }
    }

    /// From [`Work::spec`].
    pub fn parse_spec(s: &str) -> Option<Work> {
        let mut it = s.split(':');
        let kind = it.next()?;
        let mut num = || it.next().and_then(|x| x.parse::<u64>().ok());
        Some(match kind {
            "tcp-recv" => Work::TcpRecv(num()?),
            "tcp-send" => Work::TcpSend(num()?),
            "udp-tx" => Work::UdpTx {
                size: num()? as usize,
                count: num()? as u32,
            },
            "udp-rx" => Work::UdpRx {
                size: num()? as usize,
                count: num()? as u32,
            },
            "echo" => Work::Echo {
                count: num()? as u32,
            },
            "cycles" => Work::Cycles {
                count: num()? as u32,
            },
            "dhcp" => Work::Dhcp,
            "dns" => Work::Dns,
            _ => return None,
        })
    }

    /// A network service exchange (DHCP, DNS) rather than a data transfer.
    pub fn is_service(&self) -> bool {
        matches!(self, Work::Dhcp | Work::Dns)
    }

    /// The buffer plans this workload is measured with (services: the reset plan only; the
    /// 16 KB plan leaves sockets 1–7 without memory).
    pub fn buffer_plans(&self) -> &'static [Buffers] {
        if self.is_service() {
            &[Buffers::K2]
        } else {
            &[Buffers::K2, Buffers::K16]
        }
    }

    /// Is this a bulk TCP transfer (where the bulk goals apply)?
    pub fn is_bulk(&self) -> bool {
        matches!(self, Work::TcpRecv(_) | Work::TcpSend(_))
    }

    /// Bytes the byte source must hold for this workload.
    pub fn source_bytes(&self) -> u64 {
        match self {
            Work::TcpRecv(n) => *n,
            _ => 1,
        }
    }
}

fn size_name(n: u64) -> String {
    if n.is_multiple_of(1 << 20) {
        format!("{}MiB", n >> 20)
    } else {
        format!("{}KiB", n >> 10)
    }
}

/// The workload list: full or quick (CI) sizes.
pub fn workloads(quick: bool) -> Vec<Work> {
    let (small, big, dgrams, rr, cycles) = if quick {
        (64 << 10, 256 << 10, 20, 50, 10)
    } else {
        (1 << 20, 16 << 20, 200, 1000, 1000)
    };
    let mut v = vec![
        Work::TcpRecv(small),
        Work::TcpRecv(big),
        Work::TcpSend(small),
        Work::TcpSend(big),
    ];
    for size in [64, 512, 1472] {
        v.push(Work::UdpTx {
            size,
            count: dgrams,
        });
        v.push(Work::UdpRx {
            size,
            count: dgrams,
        });
    }
    v.push(Work::Echo { count: rr });
    v.push(Work::Cycles { count: cycles });
    v.push(Work::Dhcp);
    v.push(Work::Dns);
    v
}

/// The drivers compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// This project's driver (`Stack` + `Bsd`) on hardware sockets.
    Ours,
    /// newAM's w5500-hl (+ w5500-dhcp, w5500-dns) on hardware sockets.
    Hl,
    /// smoltcp over socket 0 in MACRAW mode (the Zephyr / embassy-net-wiznet design).
    Smoltcp,
}

impl Driver {
    /// All, in report order.
    pub const ALL: [Driver; 3] = [Driver::Ours, Driver::Hl, Driver::Smoltcp];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Ours => "ours",
            Driver::Hl => "w5500-hl",
            Driver::Smoltcp => "smoltcp-macraw",
        }
    }

    /// From [`Driver::name`].
    #[cfg(test)]
    pub fn parse(s: &str) -> Option<Driver> {
        Driver::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// What a driver's harness reports for one run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Run {
    /// Application bytes moved (both directions), verified.
    pub payload: u64,
    /// Operations (see [`Work::op_name`]).
    pub ops: u64,
    /// SPI traffic during the measured part.
    pub spi: Counts,
    /// Simulated time of the measured part at the simulator's 20 MHz / 1 µs CS (µs).
    pub sim_us: u64,
}

/// One row of results.
#[derive(Clone, Debug)]
pub struct Row {
    /// Driver.
    pub driver: Driver,
    /// Workload.
    pub work: Work,
    /// Buffer plan.
    pub buffers: Buffers,
    /// The run, or why it failed.
    pub run: Result<Run, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload survives the trip through the callgrind child's command line.
    #[test]
    fn workload_specs_round_trip() {
        for w in workloads(false).into_iter().chain(workloads(true)) {
            assert_eq!(Work::parse_spec(&w.spec()), Some(w), "{}", w.spec());
        }
        assert_eq!(Work::parse_spec("tcp-recv"), None);
        assert_eq!(Work::parse_spec("nonsense:1"), None);
    }
}
