//! Shared by the probes of our driver: the trivial `Os` and a pass over the socket API.

use core::cell::{Cell, RefCell};
use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddrV4};

use probe_rt::{input, now_ms, Spi};
use w5500_driver::bsd::{Bsd, MsgFlags, Os, PollFd};
use w5500_driver::stack::{SockOpt, SockType, SocketId, Stack};

/// The simplest OS layer: one thread, the stack in a RefCell, waits spin on the clock.
pub struct ProbeOs {
    pub stack: RefCell<Stack<Spi>>,
    pub epoch: Cell<u32>,
}

impl Os for ProbeOs {
    type Spi = Spi;
    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Spi>) -> R) -> R {
        f(&mut self.stack.borrow_mut())
    }
    fn now_ms(&self) -> u64 {
        now_ms()
    }
    fn epoch(&self) -> u32 {
        self.epoch.get()
    }
    fn wait(&self, _socket: Option<SocketId>, seen: u32, deadline_ms: u64) {
        while self.epoch.get() == seen && now_ms() < deadline_ms {
            if input() & 1 != 0 {
                // INTn low.
                self.notify_all();
            }
        }
    }
    fn notify_all(&self) {
        self.epoch.set(self.epoch.get().wrapping_add(1));
    }
    fn has_interrupt_pin(&self) -> bool {
        true
    }
    fn poll_interval_ms(&self) -> u64 {
        50
    }
}

fn addr() -> SocketAddrV4 {
    let x = input();
    SocketAddrV4::new(Ipv4Addr::from(x), x as u16)
}

/// Every call of the blocking socket API, with inputs from a device register.
pub fn sockets(b: &Bsd<ProbeOs>) {
    let mut buf = [0u8; 256];
    let f = MsgFlags {
        peek: input() & 1 != 0,
        dontwait: input() & 2 != 0,
        waitall: input() & 4 != 0,
        trunc: input() & 8 != 0,
    };
    let ty = if input() & 1 != 0 {
        SockType::Stream
    } else {
        SockType::Datagram
    };
    let Ok(s) = b.socket(ty) else { return };
    let _ = black_box(b.set_option(s, SockOpt::RcvTimeout(Some(input()))));
    let _ = black_box(b.set_option(s, SockOpt::NoDelay(true)));
    let _ = black_box(b.set_option(s, SockOpt::AddMembership(Ipv4Addr::from(input()))));
    let _ = black_box(b.bind(s, addr()));
    match input() & 7 {
        0 => {
            let _ = black_box(b.listen(s, input()));
            let _ = black_box(b.accept(s));
        }
        1 => {
            let _ = black_box(b.connect(s, addr()));
        }
        _ => {}
    }
    let _ = black_box(b.send(s, &buf[..input() as usize & 0xff], Some(addr()), f));
    let _ = black_box(b.recv(s, &mut buf, f));
    let mut fds = [PollFd::new(s, true, true)];
    let _ = black_box(b.poll(&mut fds, Some(input())));
    let _ = black_box(b.bytes_available(s));
    let _ = black_box(b.local_addr(s));
    let _ = black_box(b.peer_addr(s));
    let _ = black_box(b.take_error(s));
    let _ = black_box(b.shutdown(s, true, true));
    let _ = black_box(b.on_interrupt());
    let _ = black_box(b.close(s));
    black_box(buf);
}
