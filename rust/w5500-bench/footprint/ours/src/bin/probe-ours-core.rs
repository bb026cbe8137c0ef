//! Footprint probe for our driver without the network services: `Chip` + `Stack` + blocking
//! `Bsd` (with a trivial `Os`), all state in static RAM, every socket call made.
#![no_std]
#![no_main]

#[path = "../common.rs"]
mod common;

use core::cell::{Cell, RefCell};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use common::{sockets, ProbeOs};
use probe_rt::{input, Delay, Spi};
use w5500_driver::bsd::Bsd;
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{Stack, StackConfig};

static mut BSD: MaybeUninit<Bsd<ProbeOs>> = MaybeUninit::uninit();

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
    // SAFETY: the only reference to BSD, made once before the loop.
    let b: &mut Bsd<ProbeOs> = unsafe { (*addr_of_mut!(BSD)).write(Bsd::new(os)) };
    loop {
        sockets(b);
    }
}
