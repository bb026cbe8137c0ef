//! Footprint probe for our driver: `Chip` + `Stack` + blocking `Bsd` (with a trivial `Os`)
//! and `w5500-iface`'s `Iface` (DHCP client, DNS resolver, getaddrinfo), all state in static
//! RAM, every public entry point called with inputs from a device register.
#![no_std]
#![no_main]

mod common;

use core::cell::{Cell, RefCell};
use core::hint::black_box;
use core::mem::{size_of, MaybeUninit};
use core::net::Ipv4Addr;
use core::ptr::addr_of_mut;

use common::{sockets, ProbeOs};
use probe_rt::{input, now_ms, Delay, Spi};
use w5500_driver::bsd::Bsd;
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{Stack, StackConfig};
use w5500_iface::{dhcp, dns, Hints, Iface, IfaceConfig};

type ProbeIface = Iface<ProbeOs>;

static mut IFACE: MaybeUninit<ProbeIface> = MaybeUninit::uninit();

// size_of figures for the report, as symbol sizes in a section outside the image.
#[no_mangle]
#[used]
#[link_section = ".sizes"]
static SIZEOF_CHIP: [u8; size_of::<Chip<Spi>>()] = [0; size_of::<Chip<Spi>>()];
#[no_mangle]
#[used]
#[link_section = ".sizes"]
static SIZEOF_STACK: [u8; size_of::<Stack<Spi>>()] = [0; size_of::<Stack<Spi>>()];
#[no_mangle]
#[used]
#[link_section = ".sizes"]
static SIZEOF_IFACE: [u8; size_of::<ProbeIface>()] = [0; size_of::<ProbeIface>()];
#[no_mangle]
#[used]
#[link_section = ".sizes"]
static SIZEOF_DHCP: [u8; size_of::<dhcp::Client>()] = [0; size_of::<dhcp::Client>()];
#[no_mangle]
#[used]
#[link_section = ".sizes"]
static SIZEOF_RESOLVER: [u8; size_of::<dns::Resolver<8>>()] = [0; size_of::<dns::Resolver<8>>()];

/// The probe.
#[no_mangle]
pub extern "C" fn probe_main() -> ! {
    probe_rt::exercise_spi();
    let mut chip = Chip::new(Spi);
    let _ = chip.init(&mut Delay, &Config::new([2, 8, 0xdc, 0, 0, input() as u8]));
    let Ok(stack) = Stack::new(chip, StackConfig::default()) else {
        loop {
            probe_rt::input();
        }
    };
    let os = ProbeOs {
        stack: RefCell::new(stack),
        epoch: Cell::new(0),
    };
    let cfg = IfaceConfig::new([2, 8, 0xdc, 0, 0, 1], u64::from(input()))
        .with_hostname_template("w5500-{}");
    // SAFETY: the only reference to IFACE, made once before the loop.
    let i: &mut ProbeIface = unsafe { (*addr_of_mut!(IFACE)).write(Iface::new(Bsd::new(os), cfg)) };
    let _ = i.up();
    loop {
        let next = i.poll(now_ms());
        black_box(next);
        while let Some(e) = i.take_event() {
            black_box(e);
        }
        match input() & 15 {
            0 => {
                let _ =
                    black_box(i.getaddrinfo(Some("example.com"), Some("80"), &Hints::default()));
            }
            1 => {
                let _ = black_box(i.resolve("example.org"));
            }
            2 => {
                let _ = i.down();
                let _ = i.up();
            }
            3 => i.set_static_ipv4(
                Ipv4Addr::from(input()),
                Ipv4Addr::from(input()),
                Some(Ipv4Addr::from(input())),
            ),
            4 => i.clear_static_ipv4(),
            5 => i.dhcp_start(),
            6 => i.dhcp_stop(),
            7 => i.set_dns_servers(&[Ipv4Addr::from(input())]),
            _ => sockets(i.bsd()),
        }
        black_box((i.lease(), i.ipv4(), i.link(), i.dns_servers(), i.is_up()));
    }
}
