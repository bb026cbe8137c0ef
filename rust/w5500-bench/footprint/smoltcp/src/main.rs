//! Footprint probe for smoltcp over the W5500 in MACRAW mode: `Interface` with TCP, UDP,
//! DHCPv4 and DNS sockets, and a MACRAW `phy::Device` that moves frames through socket 0
//! with plain SPI frames (the design of Zephyr's in-tree driver and embassy-net-wiznet).
//! Socket buffers are static: 2 KB each way per TCP and UDP socket (the chip's default
//! per-socket plan, which the chip would otherwise hold).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::{size_of, MaybeUninit};
use core::ptr::addr_of_mut;

use embedded_hal::spi::{Operation, SpiDevice};
use probe_rt::{input, now_ms, Delay, Spi};
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::{dhcpv4, dns, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    DnsQueryType, EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint,
};

/// Socket buffer size per direction (the chip's default 2 KB per socket).
pub const BUF: usize = 2048;
/// Largest Ethernet frame handled.
const MTU: usize = 1514;

// W5500 register map (datasheet §4): common block 0, socket 0 register block 1, TX 2, RX 3.
const BSB_S0: u8 = 1;
const BSB_S0_TX: u8 = 2;
const BSB_S0_RX: u8 = 3;
const SN_MR: u16 = 0x00;
const SN_CR: u16 = 0x01;
const SN_IR: u16 = 0x02;
const SN_TX_WR: u16 = 0x24;
const SN_RX_RSR: u16 = 0x26;
const SN_RX_RD: u16 = 0x28;

fn rd(spi: &mut Spi, bsb: u8, addr: u16, buf: &mut [u8]) {
    let h = addr.to_be_bytes();
    let _ = spi.transaction(&mut [
        Operation::Write(&[h[0], h[1], bsb << 3]),
        Operation::Read(buf),
    ]);
}

fn wr(spi: &mut Spi, bsb: u8, addr: u16, data: &[u8]) {
    let h = addr.to_be_bytes();
    let _ = spi.transaction(&mut [
        Operation::Write(&[h[0], h[1], (bsb << 3) | 4]),
        Operation::Write(data),
    ]);
}

fn rd16(spi: &mut Spi, addr: u16) -> u16 {
    let mut b = [0u8; 2];
    rd(spi, BSB_S0, addr, &mut b);
    u16::from_be_bytes(b)
}

fn command(spi: &mut Spi, cmd: u8) {
    wr(spi, BSB_S0, SN_CR, &[cmd]);
    let mut b = [1u8];
    for _ in 0..1000 {
        rd(spi, BSB_S0, SN_CR, &mut b);
        if b[0] == 0 {
            break;
        }
    }
}

/// The MACRAW device on socket 0.
pub struct Macraw {
    spi: Spi,
    tx_wr: u16,
    busy: bool,
    rx: [u8; MTU],
    tx: [u8; MTU],
}

impl Macraw {
    fn open(&mut self, mac: [u8; 6]) {
        wr(&mut self.spi, 0, 0x00, &[0x80]); // MR: reset
        let mut d = Delay;
        embedded_hal::delay::DelayNs::delay_ms(&mut d, 1);
        wr(&mut self.spi, 0, 0x09, &mac); // SHAR
        wr(&mut self.spi, BSB_S0, 0x1E, &[16, 16]); // Sn_RXBUF_SIZE, Sn_TXBUF_SIZE
        wr(&mut self.spi, BSB_S0, SN_MR, &[0x84]); // MACRAW + MAC filter
        command(&mut self.spi, 0x01); // OPEN
        self.tx_wr = rd16(&mut self.spi, SN_TX_WR);
    }

    /// INTn: read and clear S0_IR.
    fn service(&mut self) {
        let mut ir = [0u8];
        rd(&mut self.spi, BSB_S0, SN_IR, &mut ir);
        if ir[0] & 0x18 != 0 {
            self.busy = false;
        }
        wr(&mut self.spi, BSB_S0, SN_IR, &ir);
    }

    fn recv(&mut self) -> Option<usize> {
        let mut rsr = rd16(&mut self.spi, SN_RX_RSR);
        loop {
            let again = rd16(&mut self.spi, SN_RX_RSR);
            if again == rsr {
                break;
            }
            rsr = again;
        }
        if rsr < 2 {
            return None;
        }
        let rp = rd16(&mut self.spi, SN_RX_RD);
        let mut head = [0u8; 2];
        rd(&mut self.spi, BSB_S0_RX, rp, &mut head);
        let total = u16::from_be_bytes(head);
        let len = usize::from(total.saturating_sub(2));
        let frame = self.rx.get_mut(..len)?;
        rd(&mut self.spi, BSB_S0_RX, rp.wrapping_add(2), frame);
        wr(
            &mut self.spi,
            BSB_S0,
            SN_RX_RD,
            &rp.wrapping_add(total).to_be_bytes(),
        );
        command(&mut self.spi, 0x40); // RECV
        Some(len)
    }

    fn send(&mut self, len: usize) {
        let frame = self.tx.get(..len).unwrap_or(&[]);
        wr(&mut self.spi, BSB_S0_TX, self.tx_wr, frame);
        self.tx_wr = self.tx_wr.wrapping_add(len as u16);
        wr(&mut self.spi, BSB_S0, SN_TX_WR, &self.tx_wr.to_be_bytes());
        command(&mut self.spi, 0x20); // SEND
        self.busy = true;
    }
}

/// A received frame.
pub struct Rx<'a>(&'a [u8]);
/// Permission to send one frame.
pub struct Tx<'a>(&'a mut Macraw);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let r = f(&mut self.0.tx[..len]);
        self.0.send(len);
        r
    }
}

impl Device for Macraw {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        if self.busy {
            return None;
        }
        let len = self.recv()?;
        // Split borrows: the frame lives in `rx`, the TX token needs the device.
        // SAFETY: the frame is `self.rx[..len]`, initialised and in bounds (`get` checked it).
        // The TX token's `&mut Macraw` never touches `rx` (it writes `tx`, `tx_wr`, `busy` and
        // the SPI device), and smoltcp gives both tokens the lifetime of this borrow of the
        // device, so the frame is not written while the shared slice lives. (The probe is
        // linked and measured, never run.)
        let rx: &[u8] = unsafe { &*(self.rx.get(..len)? as *const [u8]) };
        Some((Rx(rx), Tx(self)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<Tx<'_>> {
        if self.busy {
            None
        } else {
            Some(Tx(self))
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = MTU;
        c
    }
}

struct State {
    dev: Macraw,
    storage: [SocketStorage<'static>; 4],
    tcp_rx: [u8; BUF],
    tcp_tx: [u8; BUF],
    udp_rx_meta: [udp::PacketMetadata; 4],
    udp_rx: [u8; BUF],
    udp_tx_meta: [udp::PacketMetadata; 4],
    udp_tx: [u8; BUF],
    dns_queries: [Option<dns::DnsQuery>; 1],
}

static mut STATE: MaybeUninit<State> = MaybeUninit::uninit();
static mut IFACE: MaybeUninit<Interface> = MaybeUninit::uninit();
static mut SOCKETS: MaybeUninit<SocketSet<'static>> = MaybeUninit::uninit();

// size_of figures for the report, as symbol sizes in a section outside the image.
macro_rules! size_sym {
    ($name:ident, $t:ty) => {
        #[no_mangle]
        #[used]
        #[link_section = ".sizes"]
        static $name: [u8; size_of::<$t>()] = [0; size_of::<$t>()];
    };
}
size_sym!(SIZEOF_INTERFACE, Interface);
size_sym!(SIZEOF_SOCKET_STORAGE, SocketStorage<'static>);
size_sym!(SIZEOF_TCP_SOCKET, tcp::Socket<'static>);
size_sym!(SIZEOF_UDP_SOCKET, udp::Socket<'static>);
size_sym!(SIZEOF_DHCP_SOCKET, dhcpv4::Socket<'static>);
size_sym!(SIZEOF_DNS_SOCKET, dns::Socket<'static>);
size_sym!(SIZEOF_MACRAW, Macraw);
size_sym!(SIZEOF_UDP_META, udp::PacketMetadata);

fn ep() -> IpEndpoint {
    let x = input();
    IpEndpoint::new(IpAddress::Ipv4(x.into()), x as u16)
}

/// The probe.
#[no_mangle]
pub extern "C" fn probe_main() -> ! {
    probe_rt::exercise_spi();
    let mac = [2, 8, 0xdc, 0, 0, input() as u8];
    // SAFETY: the only references to the statics, made once before the loop.
    let st: &'static mut State = unsafe {
        (*addr_of_mut!(STATE)).write(State {
            dev: Macraw {
                spi: Spi,
                tx_wr: 0,
                busy: false,
                rx: [0; MTU],
                tx: [0; MTU],
            },
            storage: [SocketStorage::EMPTY; 4],
            tcp_rx: [0; BUF],
            tcp_tx: [0; BUF],
            udp_rx_meta: [udp::PacketMetadata::EMPTY; 4],
            udp_rx: [0; BUF],
            udp_tx_meta: [udp::PacketMetadata::EMPTY; 4],
            udp_tx: [0; BUF],
            dns_queries: [None],
        })
    };
    st.dev.open(mac);
    let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    cfg.random_seed = u64::from(input());
    let now = || Instant::from_millis(now_ms() as i64);
    // SAFETY: the only reference to IFACE, made once before the loop (single-threaded
    // probe, no interrupt handler touches it).
    let iface: &'static mut Interface =
        unsafe { (*addr_of_mut!(IFACE)).write(Interface::new(cfg, &mut st.dev, now())) };
    // SAFETY: the only reference to SOCKETS, made once before the loop, as for IFACE.
    let sockets: &'static mut SocketSet<'static> =
        unsafe { (*addr_of_mut!(SOCKETS)).write(SocketSet::new(&mut st.storage[..])) };
    let tcp_h = sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut st.tcp_rx[..]),
        tcp::SocketBuffer::new(&mut st.tcp_tx[..]),
    ));
    let udp_h = sockets.add(udp::Socket::new(
        udp::PacketBuffer::new(&mut st.udp_rx_meta[..], &mut st.udp_rx[..]),
        udp::PacketBuffer::new(&mut st.udp_tx_meta[..], &mut st.udp_tx[..]),
    ));
    let dhcp_h = sockets.add(dhcpv4::Socket::new());
    let dns_h = sockets.add(dns::Socket::new(&[], &mut st.dns_queries[..]));
    let mut query = None;
    loop {
        if input() & 1 != 0 {
            st.dev.service();
        }
        black_box(iface.poll(now(), &mut st.dev, sockets));
        black_box(iface.poll_delay(now(), sockets));
        if let Some(ev) = sockets.get_mut::<dhcpv4::Socket>(dhcp_h).poll() {
            match ev {
                dhcpv4::Event::Configured(c) => {
                    let a = c.address;
                    iface.update_ip_addrs(|v| {
                        v.clear();
                        let _ = v.push(IpCidr::Ipv4(a));
                    });
                    if let Some(r) = c.router {
                        let _ = iface.routes_mut().add_default_ipv4_route(r);
                    }
                    let mut servers = [IpAddress::Ipv4(core::net::Ipv4Addr::UNSPECIFIED); 3];
                    let mut n = 0;
                    for (slot, s) in servers.iter_mut().zip(c.dns_servers.iter()) {
                        *slot = IpAddress::Ipv4(*s);
                        n += 1;
                    }
                    sockets
                        .get_mut::<dns::Socket>(dns_h)
                        .update_servers(&servers[..n]);
                }
                dhcpv4::Event::Deconfigured => {
                    iface.update_ip_addrs(|v| v.clear());
                    iface.routes_mut().remove_default_ipv4_route();
                }
            }
        }
        let mut buf = [0u8; 256];
        match input() & 7 {
            0 => {
                let cx = iface.context();
                let s = sockets.get_mut::<tcp::Socket>(tcp_h);
                if !s.is_open() {
                    let _ = s.connect(cx, ep(), 49152);
                }
            }
            1 => {
                let s = sockets.get_mut::<tcp::Socket>(tcp_h);
                if s.can_send() {
                    let _ = black_box(s.send_slice(&buf[..input() as usize & 0xff]));
                }
                if s.can_recv() {
                    let _ = black_box(s.recv_slice(&mut buf));
                }
                if input() & 8 != 0 {
                    s.close();
                }
                if input() & 16 != 0 {
                    let _ = s.listen(80);
                }
            }
            2 => {
                let s = sockets.get_mut::<udp::Socket>(udp_h);
                if !s.is_open() {
                    let _ = s.bind(input() as u16);
                }
                let _ = black_box(s.send_slice(&buf[..input() as usize & 0xff], ep()));
                let _ = black_box(s.recv_slice(&mut buf));
            }
            3 => {
                let cx = iface.context();
                let s = sockets.get_mut::<dns::Socket>(dns_h);
                match query {
                    None => query = s.start_query(cx, "example.com", DnsQueryType::A).ok(),
                    Some(q) => {
                        if let Ok(a) = s.get_query_result(q) {
                            black_box(a);
                            query = None;
                        }
                    }
                }
            }
            4 => sockets.get_mut::<dhcpv4::Socket>(dhcp_h).reset(),
            _ => {}
        }
        black_box(buf);
    }
}
