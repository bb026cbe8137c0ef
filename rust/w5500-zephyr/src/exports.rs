//! The C ABI (`w5500_rs_*`), called by `zephyr/src/*.c`.
//!
//! Conventions (the C layer relies on them):
//! - Return `>= 0` on success, or the negative of a [`W5500RsErrno`] *name* code (the C layer
//!   turns names into its libc's `errno` numbers in one switch). Never a raw errno number.
//! - Sockets are the driver's [`SocketId`] packed in 16 bits (`W5500_RS_SOCKET_INDEX_MASK`
//!   gives the table index the C side keys its per-socket state on); a stale id is `EBADF`.
//! - Pointers may be NULL where documented; lengths of 0 never dereference their pointer.
//! - Calls may block (the blocking socket calls wait through `w5500_shim_wait`); none may be
//!   made from an ISR.
//!
//! [`W5500RsErrno`]: w5500_driver::Errno

use core::ffi::{c_char, CStr};
use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_driver::bsd::{MsgFlags, Os};
use w5500_driver::stack::{SockOpt, SockType, SocketId};
use w5500_driver::{Errno, Error};
use w5500_iface::AddrInfoList;

use crate::abi::*;
use crate::instance::{self, Driver};

/// Mask that gives the per-socket table index (0..8) from a socket id.
pub const W5500_RS_SOCKET_INDEX_MASK: i32 = 0xff;

fn err(e: Error) -> i32 {
    -(e.errno() as i32)
}

fn errno(n: Errno) -> i32 {
    -(n as i32)
}

fn driver() -> Result<&'static Driver, i32> {
    instance::get().ok_or(errno(Errno::ENODEV))
}

fn id(raw: i32) -> Result<SocketId, i32> {
    u16::try_from(raw)
        .map(SocketId::from_raw)
        .map_err(|_| errno(Errno::EBADF))
}

fn v4(a: &W5500RsSockaddr) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(a.addr), a.port)
}

fn rs(a: SocketAddrV4) -> W5500RsSockaddr {
    W5500RsSockaddr {
        addr: a.ip().octets(),
        port: a.port(),
    }
}

fn flags(f: u32) -> MsgFlags {
    MsgFlags {
        peek: f & W5500_RS_MSG_PEEK != 0,
        dontwait: f & W5500_RS_MSG_DONTWAIT != 0,
        waitall: f & W5500_RS_MSG_WAITALL != 0,
        trunc: f & W5500_RS_MSG_TRUNC != 0,
    }
}

fn run(f: impl FnOnce(&'static Driver) -> Result<i32, i32>) -> i32 {
    match driver().and_then(f) {
        Ok(v) | Err(v) => v,
    }
}

fn run_size(f: impl FnOnce(&'static Driver) -> Result<isize, i32>) -> isize {
    match driver() {
        Ok(d) => f(d).unwrap_or_else(|e| e as isize),
        Err(e) => e as isize,
    }
}

fn ssize(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// A caller's buffer is usable: NULL only with length 0, and no buffer is longer than
/// `isize::MAX` bytes (Rust slices cannot be; Linux says `EFAULT` for both too).
fn buffer_ok(null: bool, len: usize) -> Result<(), i32> {
    if (null && len > 0) || isize::try_from(len).is_err() {
        return Err(err(Error::BadAddress));
    }
    Ok(())
}

/// Bring the chip up (reset pin, probe, soft reset, configuration, socket table) and create
/// the driver instance. Returns 0 or `-ENODEV` (no chip), `-EIO` (SPI), `-EINVAL` (bad
/// buffer plan or MAC).
///
/// # Safety
/// `cfg` points to a valid config. Call once, from device init, before any other export.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_init(cfg: *const W5500RsConfig) -> i32 {
    // SAFETY: the caller passes a valid pointer (or NULL, refused here).
    let Some(cfg) = (unsafe { cfg.as_ref() }) else {
        return errno(Errno::EINVAL);
    };
    // SAFETY: forwarded from this function's contract.
    match unsafe { instance::init(cfg) } {
        Ok(()) => 0,
        Err(e) => {
            w5500_log::error!("W5500 init failed:", e);
            err(e)
        }
    }
}

/// Worker step: [`w5500_iface::Iface::poll`] (service the chip, follow the PHY link, run
/// DHCP and the address probe) and wake every waiter. Returns 1 and the uptime (ms) at which
/// it next needs to run in `*next_ms`, or 0 when only INTn or the poll period matter.
///
/// # Safety
/// `next_ms` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_poll(next_ms: *mut u64) -> i32 {
    run(|d| {
        let next = d.poll();
        // SAFETY: the caller passes NULL or writable storage.
        if let (Some(n), Some(out)) = (next, unsafe { next_ms.as_mut() }) {
            *out = n;
        }
        Ok(i32::from(next.is_some()))
    })
}

/// Take the next interface event into `*ev`. Returns 1 when one was written, 0 when none is
/// pending. Single consumer (the worker thread).
///
/// # Safety
/// `ev` points to writable storage for one event.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_poll_events(ev: *mut W5500RsEvent) -> i32 {
    run(|d| {
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let slot = unsafe { ev.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        match d.next_event() {
            Some(e) => {
                *slot = e;
                Ok(1)
            }
            None => Ok(0),
        }
    })
}

/// `net_if_up` (`up` true) / `net_if_down`: [`w5500_iface::Iface::up`] (static address,
/// DHCP once the link is up) or [`w5500_iface::Iface::down`] (DHCPRELEASE, FIN then CLOSE on
/// every socket, PHY powered down). Returns 0 or a negative errno name.
#[no_mangle]
pub extern "C" fn w5500_rs_set_enabled(up: bool) -> i32 {
    run(|d| d.set_enabled(up).map(|()| 0).map_err(err))
}

/// `socket()`: `socktype` is a [`W5500RsSockType`] value. Returns the new id or `-ENFILE`
/// (every hardware socket in use), `-EPROTOTYPE`.
#[no_mangle]
pub extern "C" fn w5500_rs_socket(socktype: u8) -> i32 {
    run(|d| {
        let ty = match socktype {
            1 => SockType::Stream,
            2 => SockType::Datagram,
            _ => return Err(errno(Errno::EPROTOTYPE)),
        };
        d.bsd.socket(ty).map(|s| i32::from(s.to_raw())).map_err(err)
    })
}

/// `close()`: frees the socket and wakes everyone blocked on it (they return `-EBADF`).
#[no_mangle]
pub extern "C" fn w5500_rs_close(sock: i32) -> i32 {
    run(|d| d.bsd.close(id(sock)?).map(|()| 0).map_err(err))
}

/// `bind()`.
///
/// # Safety
/// `addr` points to a valid address.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_bind(sock: i32, addr: *const W5500RsSockaddr) -> i32 {
    run(|d| {
        // SAFETY: the caller passes a valid pointer (or NULL, refused).
        let a = unsafe { addr.as_ref() }.ok_or(errno(Errno::EINVAL))?;
        d.bsd.bind(id(sock)?, v4(a)).map(|()| 0).map_err(err)
    })
}

/// `connect()`: blocking unless `O_NONBLOCK` (then `-EINPROGRESS`).
///
/// # Safety
/// `addr` points to a valid address.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_connect(sock: i32, addr: *const W5500RsSockaddr) -> i32 {
    run(|d| {
        // SAFETY: the caller passes a valid pointer (or NULL, refused).
        let a = unsafe { addr.as_ref() }.ok_or(errno(Errno::EINVAL))?;
        d.bsd.connect(id(sock)?, v4(a)).map(|()| 0).map_err(err)
    })
}

/// `listen()`.
#[no_mangle]
pub extern "C" fn w5500_rs_listen(sock: i32, backlog: i32) -> i32 {
    run(|d| {
        let backlog = u32::try_from(backlog).unwrap_or(0);
        d.bsd.listen(id(sock)?, backlog).map(|()| 0).map_err(err)
    })
}

/// `accept()`: returns the new socket's id; the peer goes to `*peer` (may be NULL).
///
/// # Safety
/// `peer` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_accept(sock: i32, peer: *mut W5500RsSockaddr) -> i32 {
    run(|d| {
        let (new, from) = d.bsd.accept(id(sock)?).map_err(err)?;
        // SAFETY: the caller passes NULL or writable storage.
        if let Some(p) = unsafe { peer.as_mut() } {
            *p = rs(from);
        }
        Ok(i32::from(new.to_raw()))
    })
}

/// `sendto()`/`send()`: `to` may be NULL. Returns bytes sent; `-EFAULT` for a NULL `buf`
/// with `len` > 0 or a `len` over `SSIZE_MAX`; `-EMSGSIZE` for a UDP datagram of 0 or more
/// than 1472 bytes (the chip sends no empty datagram).
///
/// # Safety
/// `buf` points to `len` readable bytes (may be NULL when `len` is 0); `to` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_send(
    sock: i32,
    buf: *const u8,
    len: usize,
    to: *const W5500RsSockaddr,
    msg_flags: u32,
) -> isize {
    run_size(|d| {
        buffer_ok(buf.is_null(), len)?;
        let data: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the caller passes `len` readable bytes.
            unsafe { core::slice::from_raw_parts(buf, len) }
        };
        // SAFETY: the caller passes NULL or a valid address.
        let to = unsafe { to.as_ref() }.map(v4);
        d.bsd
            .send(id(sock)?, data, to, flags(msg_flags))
            .map(ssize)
            .map_err(err)
    })
}

/// `recvfrom()`/`recv()`: the sender goes to `*from` (may be NULL). Returns bytes received
/// (0: end of stream, or `len` 0 on TCP); `-EFAULT` for a NULL `buf` with `len` > 0 or a
/// `len` over `SSIZE_MAX`.
///
/// # Safety
/// `buf` points to `len` writable bytes (may be NULL when `len` is 0); `from` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_recv(
    sock: i32,
    buf: *mut u8,
    len: usize,
    from: *mut W5500RsSockaddr,
    msg_flags: u32,
) -> isize {
    run_size(|d| {
        buffer_ok(buf.is_null(), len)?;
        let data: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: the caller passes `len` writable bytes.
            unsafe { core::slice::from_raw_parts_mut(buf, len) }
        };
        let (n, a) = d.bsd.recv(id(sock)?, data, flags(msg_flags)).map_err(err)?;
        // SAFETY: the caller passes NULL or writable storage.
        if let Some(f) = unsafe { from.as_mut() } {
            *f = rs(a);
        }
        Ok(ssize(n))
    })
}

/// `shutdown()`.
#[no_mangle]
pub extern "C" fn w5500_rs_shutdown(sock: i32, read: bool, write: bool) -> i32 {
    run(|d| {
        d.bsd
            .shutdown(id(sock)?, read, write)
            .map(|()| 0)
            .map_err(err)
    })
}

/// `setsockopt()` for the options the chip honours; `value` is a flag, or ms for the
/// timeouts (0: forever); `group` (may be NULL otherwise) for the multicast options.
///
/// # Safety
/// `group` is NULL or points to 4 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_setsockopt(
    sock: i32,
    opt: W5500RsOpt,
    value: u32,
    group: *const [u8; 4],
) -> i32 {
    run(|d| {
        // SAFETY: the caller passes NULL or 4 readable bytes.
        let group = unsafe { group.as_ref() }.map(|g| Ipv4Addr::from(*g));
        let on = value != 0;
        let ms = (value != 0).then_some(value);
        let o = match opt {
            W5500RsOpt::ReuseAddr => SockOpt::ReuseAddr(on),
            W5500RsOpt::KeepAlive => SockOpt::KeepAlive(on),
            W5500RsOpt::Broadcast => SockOpt::Broadcast(on),
            W5500RsOpt::NoDelay => SockOpt::NoDelay(on),
            W5500RsOpt::AddMembership => SockOpt::AddMembership(group.ok_or(errno(Errno::EINVAL))?),
            W5500RsOpt::DropMembership => {
                SockOpt::DropMembership(group.ok_or(errno(Errno::EINVAL))?)
            }
            W5500RsOpt::NonBlocking => SockOpt::NonBlocking(on),
            W5500RsOpt::RcvTimeoutMs => SockOpt::RcvTimeout(ms),
            W5500RsOpt::SndTimeoutMs => SockOpt::SndTimeout(ms),
        };
        d.bsd.set_option(id(sock)?, o).map(|()| 0).map_err(err)
    })
}

/// `getsockopt()`: the option's current value into `*value`: 0 or 1 for the flags, ms for
/// the timeouts (0: no limit). `-ENOPROTOOPT` for `TCP_NODELAY` on UDP and for the
/// write-only membership options; `-EFAULT` for a NULL `value`.
///
/// # Safety
/// `value` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_getsockopt(sock: i32, opt: W5500RsOpt, value: *mut u32) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let template = match opt {
            W5500RsOpt::ReuseAddr => SockOpt::ReuseAddr(false),
            W5500RsOpt::KeepAlive => SockOpt::KeepAlive(false),
            W5500RsOpt::Broadcast => SockOpt::Broadcast(false),
            W5500RsOpt::NoDelay => SockOpt::NoDelay(false),
            W5500RsOpt::AddMembership => SockOpt::AddMembership(Ipv4Addr::UNSPECIFIED),
            W5500RsOpt::DropMembership => SockOpt::DropMembership(Ipv4Addr::UNSPECIFIED),
            W5500RsOpt::NonBlocking => SockOpt::NonBlocking(false),
            W5500RsOpt::RcvTimeoutMs => SockOpt::RcvTimeout(None),
            W5500RsOpt::SndTimeoutMs => SockOpt::SndTimeout(None),
        };
        let v = match d.bsd.get_option(s, template).map_err(err)? {
            SockOpt::ReuseAddr(on)
            | SockOpt::KeepAlive(on)
            | SockOpt::Broadcast(on)
            | SockOpt::NoDelay(on)
            | SockOpt::NonBlocking(on) => u32::from(on),
            SockOpt::RcvTimeout(ms) | SockOpt::SndTimeout(ms) => ms.unwrap_or(0),
            SockOpt::AddMembership(_) | SockOpt::DropMembership(_) => {
                return Err(err(Error::NoProtocolOption))
            }
        };
        // SAFETY: the caller passes NULL (refused) or writable storage.
        let out = unsafe { value.as_mut() }.ok_or(err(Error::BadAddress))?;
        *out = v;
        Ok(0)
    })
}

/// The socket's blocking settings (`F_GETFL`, `SO_RCVTIMEO`/`SO_SNDTIMEO` getters).
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_blocking(sock: i32, out: *mut W5500RsBlocking) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let b = d.bsd.os().with_stack(|st| st.blocking(s)).map_err(err)?;
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let o = unsafe { out.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        *o = W5500RsBlocking {
            nonblocking: b.nonblocking,
            rcv_timeout_ms: b.rcv_timeout_ms.unwrap_or(0),
            snd_timeout_ms: b.snd_timeout_ms.unwrap_or(0),
        };
        Ok(0)
    })
}

/// `SO_ERROR`: returns 0 (no error) or the pending error's *positive* errno name code, and
/// clears it; negative on a bad socket.
#[no_mangle]
pub extern "C" fn w5500_rs_take_error(sock: i32) -> i32 {
    run(|d| {
        let e = d.bsd.take_error(id(sock)?).map_err(err)?;
        Ok(e.map_or(0, |e| e.errno() as i32))
    })
}

/// `SO_TYPE`: a [`W5500RsSockType`] value.
#[no_mangle]
pub extern "C" fn w5500_rs_socket_type(sock: i32) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let ty = d.bsd.os().with_stack(|st| st.socket_type(s)).map_err(err)?;
        Ok(match ty {
            SockType::Stream => W5500RsSockType::Stream as i32,
            SockType::Datagram => W5500RsSockType::Datagram as i32,
        })
    })
}

/// `getsockname()` (`peer` false) or `getpeername()` (`peer` true).
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_addr(sock: i32, peer: bool, out: *mut W5500RsSockaddr) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let a = if peer {
            d.bsd.peer_addr(s)
        } else {
            d.bsd.local_addr(s)
        }
        .map_err(err)?;
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let o = unsafe { out.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        *o = rs(a);
        Ok(0)
    })
}

/// `FIONREAD`: bytes waiting.
#[no_mangle]
pub extern "C" fn w5500_rs_bytes_available(sock: i32) -> i32 {
    run(|d| {
        let n = d.bsd.bytes_available(id(sock)?).map_err(err)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    })
}

/// Readiness now, as `W5500_RS_POLL*` bits (never waits).
#[no_mangle]
pub extern "C" fn w5500_rs_readiness(sock: i32) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let r = d.bsd.os().with_stack(|st| st.readiness(s)).map_err(err)?;
        let mut bits = 0;
        if r.readable {
            bits |= W5500_RS_POLLIN;
        }
        if r.writable {
            bits |= W5500_RS_POLLOUT;
        }
        if r.error {
            bits |= W5500_RS_POLLERR;
        }
        if r.hangup {
            bits |= W5500_RS_POLLHUP;
        }
        Ok(bits as i32)
    })
}

/// `getaddrinfo()` for the DNS offload: fills `out[..*n_out]` (at most `max`; room for
/// `W5500_RS_GAI_MAX` gets every result). Returns 0, or the negative of a [`W5500RsEai`]
/// name. `node`, `service` and `hints` may be NULL. Names are resolved by the driver's DNS
/// client: the call blocks (bounded by the resolver's timers) with the interface lock held,
/// and keeps the interface running meanwhile (see [`crate::instance`]).
///
/// # Safety
/// `node`/`service` are NULL or NUL-terminated; `hints` is NULL or valid; `out` has room for
/// `max` entries; `n_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const W5500RsAiHints,
    out: *mut W5500RsAddrinfo,
    max: usize,
    n_out: *mut usize,
) -> i32 {
    // SAFETY: the caller passes NULL or NUL-terminated strings.
    let node = (!node.is_null()).then(|| unsafe { CStr::from_ptr(node) }.to_bytes());
    // SAFETY: as above.
    let service = (!service.is_null()).then(|| unsafe { CStr::from_ptr(service) }.to_bytes());
    // SAFETY: the caller passes NULL or a valid hints struct.
    let hints = unsafe { hints.as_ref() }.copied().unwrap_or_default();
    if out.is_null() || n_out.is_null() {
        return -(W5500RsEai::Memory as i32);
    }
    // SAFETY: the caller passes room for `max` entries.
    let out = unsafe { core::slice::from_raw_parts_mut(out, max) };
    let r = (|| -> Result<usize, W5500RsEai> {
        let h = crate::gai::hints(hints);
        let node = crate::gai::text(node)?;
        let service = crate::gai::text(service).map_err(|_| W5500RsEai::Service)?;
        let d = instance::get().ok_or(W5500RsEai::Again)?;
        // The one list of this call, filled in place by the resolver, then copied out.
        let mut list = AddrInfoList::empty();
        d.iface
            .with(|i| i.getaddrinfo_into(node, service, &h, &mut list))
            .map_err(crate::gai::eai)?;
        Ok(crate::gai::fill(&list, out))
    })();
    match r {
        Ok(n) => {
            // SAFETY: checked non-NULL above; the caller passes writable storage.
            unsafe { *n_out = n };
            0
        }
        Err(e) => -(e as i32),
    }
}

/// Chip and interface state for the shell (and tests).
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_status(out: *mut W5500RsStatus) -> i32 {
    run(|d| {
        // Under the interface lock, so that the chip's registers and the lease agree (the
        // worker programs SIPR and records the lease in one locked step).
        let (lease, servers, (link, ipv4, free)) = d.iface.with(|i| {
            let chip = i.bsd().os().with_stack(|s| {
                let link = s.link();
                let ipv4 = s.chip().ipv4();
                (link, ipv4, s.free_hw_sockets())
            });
            (i.lease(), i.dns_servers(), chip)
        });
        let renewals = d.renewals();
        let (addr, mask, gw) = ipv4.map_err(err)?;
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let o = unsafe { out.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        *o = W5500RsStatus {
            link_up: link.link_up,
            speed_100: link.speed_100,
            full_duplex: link.full_duplex,
            ipv4: W5500RsIpv4 {
                addr: addr.octets(),
                netmask: mask.octets(),
                gateway: gw.octets(),
            },
            free_hw_sockets: u8::try_from(free).unwrap_or(u8::MAX),
            reserved_sockets: d.reserved,
            dhcp_bound: lease.as_ref().is_some_and(|l| l.server_id.is_some()),
            lease_s: lease
                .as_ref()
                .filter(|l| l.server_id.is_some())
                .map_or(0, |l| l.lease_secs),
            dhcp_renewals: renewals,
            ..W5500RsStatus::default()
        };
        for (slot, s) in o.dns.iter_mut().zip(servers.iter()) {
            *slot = s.octets();
            o.n_dns = o.n_dns.saturating_add(1);
        }
        Ok(0)
    })
}

/// One socket's state for the shell.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_socket_info(sock: i32, out: *mut W5500RsSocketInfo) -> i32 {
    run(|d| {
        let s = id(sock)?;
        let socktype = w5500_rs_socket_type(sock);
        if socktype < 0 {
            return Err(socktype);
        }
        let local = d.bsd.local_addr(s).map(rs).unwrap_or_default();
        let peer = d.bsd.peer_addr(s).ok().map(rs);
        let readiness = w5500_rs_readiness(sock).max(0);
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let o = unsafe { out.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        *o = W5500RsSocketInfo {
            socktype: u8::try_from(socktype).unwrap_or(0),
            local,
            peer: peer.unwrap_or_default(),
            has_peer: peer.is_some(),
            readiness: readiness as u32,
        };
        Ok(0)
    })
}
