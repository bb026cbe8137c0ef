//! The SPI-emulator core (feature `emul-core`): the W5500 simulator on the standard in-memory
//! LAN (`w5500_sim::Lan::standard`: 10.77.0.0/24 with gateway, DNS, HTTP, echo), driven by
//! `zephyr/src/w5500_emul.c`, which implements Zephyr's `struct spi_emul_api`.
//!
//! Time: the simulator keeps its own simulated clock, and the C emulator moves it to
//! `k_uptime` (µs) before every SPI frame and from a periodic work item, so chip and LAN
//! timers (retransmissions, ARP, DHCP) fire on the kernel's time line ("wall-clock-like").
//! The clock never goes backwards; SPI wire time may put it slightly ahead of uptime.
//!
//! Every export must be serialised by the caller (the C emulator holds its mutex around each
//! call); none may be called from an ISR.
//!
//! # Memory
//! The simulator lives in the emulator's heap (`CONFIG_W5500_OFFLOAD_EMUL_HEAP_SIZE`, through
//! the global allocator of feature `global-alloc`). The LAN runs with the bounds of
//! [`crate::emul_lan::bound_for_image`] (few closed connections and TIME-WAITs kept, frames
//! in flight bounded, streamed bodies, bounded DHCP and DNS logs), and with
//! `global-alloc` a [`w5500_sim::lan::MemoryGuard`] reads the heap's use from the kernel
//! (`sys_heap_runtime_stats_get`): when less than an eighth of the heap (at least 16 KiB)
//! would stay free, the LAN refuses new connections, resets the exchange that wanted more,
//! and drops frames, each with an error on the console; the image keeps running.
//!
//! # LAN clients
//! [`w5500_rs_emul_add_clients`] schedules clients on the LAN (grammar:
//! [`w5500_sim::lan::clients::spec`]); `zephyr/src/w5500_emul.c` passes
//! `CONFIG_W5500_OFFLOAD_EMUL_LAN_CLIENTS_SPEC` at boot. Each exchange's report is logged at
//! INF (as expected) or WRN (otherwise) in the `w5500_offload` log module.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::{c_char, CStr};
use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_sim::lan::{standard, ConnHandle, Lan};
use w5500_sim::time::Instant;
use w5500_sim::Sim;

use crate::abi::W5500RsSockaddr;

/// Hand-driven peer connections a test may open (`w5500_rs_emul_peer_connect`).
const MAX_PEERS: usize = 32;

struct Emul {
    sim: Sim<Lan>,
    peers: Vec<ConnHandle>,
}

struct Cell(UnsafeCell<Option<Emul>>);

// SAFETY: every access goes through `with`, whose callers (the exports below) require the
// caller to serialise calls (the C emulator's mutex).
unsafe impl Sync for Cell {}

static EMUL: Cell = Cell(UnsafeCell::new(None));

/// Run `f` on the emulator state.
///
/// # Safety
/// No other call into this module may run concurrently.
unsafe fn with<R>(f: impl FnOnce(&mut Option<Emul>) -> R) -> R {
    // SAFETY: the caller serialises, so this is the only reference.
    f(unsafe { &mut *EMUL.0.get() })
}

/// As [`with`], on a created emulator; `None` before [`w5500_rs_emul_init`].
unsafe fn with_emul<R>(f: impl FnOnce(&mut Emul) -> R) -> Option<R> {
    // SAFETY: forwarded contract.
    unsafe { with(|e| e.as_mut().map(f)) }
}

/// Create (or re-create) the simulated chip, powered and out of reset, link up, on the
/// standard LAN, with its clock at `now_us`. Returns 0.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_init(now_us: u64) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        with(|e| {
            // The old simulator goes first: two at once might not fit in the heap.
            *e = None;
            let mut sim = Sim::new(embedded_lan());
            sim.advance_to(Instant::from_micros(now_us));
            *e = Some(Emul {
                sim,
                peers: Vec::new(),
            });
        })
    };
    0
}

/// The standard LAN with the bounds and the heap guard of an image.
fn embedded_lan() -> Lan {
    let mut lan = Lan::standard();
    crate::emul_lan::bound_for_image(&mut lan);
    #[cfg(all(w5500_global_alloc, not(test)))]
    lan.set_memory_guard(Some(crate::heap::guard()));
    lan
}

/// Schedule the LAN clients of `spec` (NUL-terminated text, grammar in
/// `w5500_sim::lan::clients::spec`), each report to be logged as it finishes. Returns how
/// many clients were added, or -1 (logged: the emulator does not exist, or the text is not
/// valid; then none is added).
///
/// # Safety
/// `spec` is NULL or NUL-terminated. Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_add_clients(spec: *const c_char) -> i32 {
    if spec.is_null() {
        return -1;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(spec) };
    let Ok(text) = text.to_str() else {
        log::error!("LAN clients: the spec is not UTF-8");
        return -1;
    };
    // SAFETY: forwarded contract.
    let r = unsafe { with_emul(|e| e.sim.network_mut().add_clients(text)) };
    match r {
        Some(Ok(ids)) => {
            log::info!("LAN clients: {} scheduled", ids.len());
            i32::try_from(ids.len()).unwrap_or(i32::MAX)
        }
        Some(Err(err)) => {
            log::error!("{err}");
            -1
        }
        None => -1,
    }
}

/// LAN-client exchanges finished as expected (`ok`), otherwise (`failed`), and not yet
/// finished (`pending`); any pointer may be NULL. Returns 0, or -1 before the emulator
/// exists.
///
/// # Safety
/// Non-NULL pointers are writable. Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_client_totals(
    ok: *mut u64,
    failed: *mut u64,
    pending: *mut u64,
) -> i32 {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            let lan = e.sim.network();
            let (o, f) = lan.client_totals();
            (o, f, lan.clients_pending())
        })
    };
    let Some((o, f, p)) = r else {
        return -1;
    };
    for (ptr, v) in [(ok, o), (failed, f), (pending, p)] {
        // SAFETY: the caller passes NULL or a writable pointer.
        if let Some(out) = unsafe { ptr.as_mut() } {
            *out = v;
        }
    }
    0
}

/// Let simulated time reach `now_us`, processing chip timers and LAN traffic.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_tick(now_us: u64) {
    // SAFETY: forwarded contract.
    unsafe { with_emul(|e| e.sim.advance_to(Instant::from_micros(now_us))) };
}

/// Chip select asserted at `now_us`: a new SPI frame. Returns 0, or -1 (not created, or
/// already selected).
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_select(now_us: u64) -> i32 {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            e.sim.advance_to(Instant::from_micros(now_us));
            e.sim.select().is_ok()
        })
    };
    if r == Some(true) {
        0
    } else {
        -1
    }
}

/// Clock `len` bytes of the current frame: MOSI from `tx` (NULL: zeros), MISO to `rx`
/// (NULL: discarded).
///
/// # Safety
/// `tx` is NULL or has `len` readable bytes; `rx` is NULL or has `len` writable bytes (they
/// may be the same buffer). Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_transfer(tx: *const u8, rx: *mut u8, len: usize) {
    let mut chunk = [0u8; 64];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len());
        let Some(part) = chunk.get_mut(..n) else {
            return;
        };
        if tx.is_null() {
            part.fill(0);
        } else {
            // SAFETY: `tx` has `len` readable bytes and `done + n <= len`.
            part.copy_from_slice(unsafe { core::slice::from_raw_parts(tx.add(done), n) });
        }
        // SAFETY: forwarded contract.
        unsafe { with_emul(|e| e.sim.transfer_in_place(part)) };
        if !rx.is_null() {
            // SAFETY: `rx` has `len` writable bytes and `done + n <= len`.
            unsafe { core::slice::from_raw_parts_mut(rx.add(done), n) }.copy_from_slice(part);
        }
        done += n;
    }
}

/// Chip select released: the frame ends.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_deselect() {
    // SAFETY: forwarded contract.
    unsafe { with_emul(|e| e.sim.deselect()) };
}

/// The INTn level (true: asserted, pin low).
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_int_asserted() -> bool {
    // SAFETY: forwarded contract.
    unsafe { with_emul(|e| e.sim.int_asserted()) }.unwrap_or(false)
}

/// Fault: plug (`up`) or pull the cable (`PHYCFGR.LNK` follows; frames are dropped).
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_set_link(up: bool) {
    // SAFETY: forwarded contract.
    unsafe { with_emul(|e| e.sim.faults_mut().link_down = !up) };
}

/// The LAN host `peer` (10.77.0.20) opens a TCP connection to `to` (e.g. a listening
/// socket on the chip). Returns a handle (≥ 0) for the other `peer_*` calls, or -1.
///
/// # Safety
/// `to` is valid. Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_peer_connect(to: *const W5500RsSockaddr) -> i32 {
    // SAFETY: the caller passes a valid pointer (or NULL, refused).
    let Some(to) = (unsafe { to.as_ref() }) else {
        return -1;
    };
    let remote = SocketAddrV4::new(Ipv4Addr::from(to.addr), to.port);
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            if e.peers.len() >= MAX_PEERS {
                log::error!("emulator: at most {MAX_PEERS} peer connections");
                return None;
            }
            let lan = e.sim.network_mut();
            let host = lan.host_by_ip(standard::PEER)?;
            let h = lan.tcp_connect_recorder(host, remote)?;
            e.peers.push(h);
            i32::try_from(e.peers.len() - 1).ok()
        })
    };
    r.flatten().unwrap_or(-1)
}

/// Queue `len` bytes on peer connection `h`. Returns 0 or -1.
///
/// # Safety
/// `buf` has `len` readable bytes. Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_peer_send(h: i32, buf: *const u8, len: usize) -> i32 {
    let data: &[u8] = if buf.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes `len` readable bytes.
        unsafe { core::slice::from_raw_parts(buf, len) }
    };
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            let c = *e.peers.get(usize::try_from(h).ok()?)?;
            Some(e.sim.network_mut().tcp_send(c, data))
        })
    };
    if r.flatten() == Some(true) {
        0
    } else {
        -1
    }
}

/// Copy what peer connection `h` has received so far (from its start) into `buf`. Returns
/// the total received (may exceed `len`), or -1.
///
/// # Safety
/// `buf` has `len` writable bytes. Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_peer_received(h: i32, buf: *mut u8, len: usize) -> isize {
    let copy = |e: &mut Emul| {
        let c = *e.peers.get(usize::try_from(h).ok()?)?;
        e.sim.network().tcp_received(c).map(<[u8]>::to_vec)
    };
    // SAFETY: forwarded contract.
    let Some(Some(got)) = (unsafe { with_emul(copy) }) else {
        return -1;
    };
    let n = got.len().min(len);
    if n > 0 && !buf.is_null() {
        if let Some(src) = got.get(..n) {
            // SAFETY: the caller passes `len` writable bytes and `n <= len`.
            unsafe { core::slice::from_raw_parts_mut(buf, n) }.copy_from_slice(src);
        }
    }
    isize::try_from(got.len()).unwrap_or(isize::MAX)
}

/// Close peer connection `h` (FIN). Returns 0 or -1.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_peer_close(h: i32) -> i32 {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            let c = *e.peers.get(usize::try_from(h).ok()?)?;
            Some(e.sim.network_mut().tcp_close(c))
        })
    };
    if r.flatten() == Some(true) {
        0
    } else {
        -1
    }
}

/// The standard LAN's DHCP server (on the gateway), if the emulator exists.
fn dhcp_server(e: &mut Emul) -> Option<&mut w5500_sim::lan::dhcp::DhcpServer> {
    let lan = e.sim.network_mut();
    let gw = lan.host_by_ip(standard::GATEWAY)?;
    lan.udp_app_mut::<w5500_sim::lan::dhcp::DhcpServer>(gw, w5500_sim::lan::dhcp::SERVER_PORT)
}

/// Test control: the lease the LAN's DHCP server gives from now on (seconds; `t1_s`/`t2_s`
/// 0: left out, so the client uses 0.5 and 0.875 of the lease, RFC 2131 §4.4.5). Returns 0,
/// or -1 before the emulator exists.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_dhcp_lease(lease_s: u32, t1_s: u32, t2_s: u32) -> i32 {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            dhcp_server(e).map(|d| {
                d.config.lease_secs = lease_s;
                d.config.t1_secs = (t1_s != 0).then_some(t1_s);
                d.config.t2_secs = (t2_s != 0).then_some(t2_s);
            })
        })
    };
    if r.flatten().is_some() {
        0
    } else {
        -1
    }
}

/// Test control: how many DHCP messages of type `msg_type` (option 53: 1 DISCOVER,
/// 3 REQUEST, 4 DECLINE, 7 RELEASE) the LAN's server has received. -1 before the emulator
/// exists.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_dhcp_received(msg_type: u8) -> i32 {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| {
            dhcp_server(e).map(|d| {
                d.received_by_type
                    .get(usize::from(msg_type))
                    .copied()
                    .unwrap_or(0)
            })
        })
    };
    r.flatten()
        .map_or(-1, |n: u64| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Test control: the host name (DHCP option 12) of the last message the LAN's server
/// received that carried one, NUL-terminated into `buf` (`len` bytes, cut to fit). Returns
/// its full length, 0 when none was seen, or -1 before the emulator exists.
///
/// # Safety
/// `buf` has `len` writable bytes (may be NULL when `len` is 0). Calls into this module are
/// serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_dhcp_hostname(buf: *mut u8, len: usize) -> isize {
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_emul(|e| dhcp_server(e).map(|d| d.last_hostname.clone().unwrap_or_default()))
    };
    let Some(name) = r.flatten() else {
        return -1;
    };
    if !buf.is_null() && len > 0 {
        // SAFETY: the caller passes `len` writable bytes.
        let out = unsafe { core::slice::from_raw_parts_mut(buf, len) };
        let n = name.len().min(len - 1);
        if let (Some(dst), Some(src)) = (out.get_mut(..n), name.get(..n)) {
            dst.copy_from_slice(src);
        }
        if let Some(z) = out.get_mut(n) {
            *z = 0;
        }
    }
    isize::try_from(name.len()).unwrap_or(isize::MAX)
}

/// Test control: start recording the frames the chip sends (earlier records are dropped);
/// [`w5500_rs_emul_arp_requests`] reads them and stops the recording.
///
/// # Safety
/// Calls into this module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_trace_start() {
    // SAFETY: forwarded contract.
    unsafe {
        with_emul(|e| {
            let lan = e.sim.network_mut();
            let _ = lan.stop_trace();
            lan.enable_trace();
        })
    };
}

/// Test control: the ARP requests for `ip` (4 bytes, network order) the chip sent since
/// [`w5500_rs_emul_trace_start`], on the simulator's own clock: returns their number and
/// writes the send instants (µs) of the first `n` to `at_us`. Stops the recording. -1 before
/// the emulator exists.
///
/// # Safety
/// `ip` has 4 readable bytes; `at_us` is NULL or has `n` writable `u64`. Calls into this
/// module are serialised by the caller.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_emul_arp_requests(
    ip: *const u8,
    at_us: *mut u64,
    n: usize,
) -> i32 {
    use w5500_sim::lan::Direction;
    use w5500_sim::net::{ArpOp, Body};

    if ip.is_null() {
        return -1;
    }
    // SAFETY: the caller passes 4 readable bytes.
    let target = match unsafe { core::slice::from_raw_parts(ip, 4) } {
        &[a, b, c, d] => Ipv4Addr::new(a, b, c, d),
        _ => return -1,
    };
    // SAFETY: forwarded contract.
    let Some(trace) = (unsafe { with_emul(|e| e.sim.network_mut().stop_trace()) }) else {
        return -1;
    };
    let sent = trace.iter().filter_map(|t| match &t.frame.body {
        Body::Arp(a)
            if t.dir == Direction::FromChip && a.op == ArpOp::Request && a.target_ip == target =>
        {
            Some(t.at.as_micros())
        }
        _ => None,
    });
    let out: &mut [u64] = if at_us.is_null() || n == 0 {
        &mut []
    } else {
        // SAFETY: the caller passes `n` writable u64.
        unsafe { core::slice::from_raw_parts_mut(at_us, n) }
    };
    let mut count = 0usize;
    for (i, at) in sent.enumerate() {
        if let Some(slot) = out.get_mut(i) {
            *slot = at;
        }
        count = i + 1;
    }
    i32::try_from(count).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(ms: u64, now: &mut u64) {
        for _ in 0..ms {
            *now += 1000;
            // SAFETY: this test is the only user of the emulator.
            unsafe { w5500_rs_emul_tick(*now) };
        }
    }

    fn totals() -> (u64, u64, u64) {
        let (mut ok, mut failed, mut pending) = (0, 0, 0);
        // SAFETY: writable outs; the only user.
        let r = unsafe { w5500_rs_emul_client_totals(&mut ok, &mut failed, &mut pending) };
        assert_eq!(r, 0);
        (ok, failed, pending)
    }

    /// The Kconfig schedule's path: text in, exchanges run on the emulator's clock, totals
    /// out. A SYN to a port nothing listens on gets RST (RFC 9293 §3.10.7.1); the default
    /// schedule parses; a wrong text adds nothing.
    #[test]
    fn rfc9293_3_10_7_1_clients_from_text_run_on_the_emulator_clock() {
        // SAFETY: the only user of the emulator in this test binary.
        unsafe {
            assert_eq!(
                w5500_rs_emul_client_totals(
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    core::ptr::null_mut()
                ),
                -1
            );
            assert_eq!(w5500_rs_emul_init(0), 0);
            assert_eq!(
                w5500_rs_emul_add_clients(
                    c"tcp port=9 to=10.77.0.11 expect=refused count=2; tcp port=10 to=10.77.0.12"
                        .as_ptr()
                ),
                2
            );
            assert_eq!(w5500_rs_emul_add_clients(c"tcp port=99999".as_ptr()), -1);
            assert_eq!(w5500_rs_emul_add_clients(core::ptr::null()), -1);
        }
        let mut now = 0;
        tick(200, &mut now);
        // Two refusals as expected, one refusal not expected (no retries).
        assert_eq!(totals(), (2, 1, 0));
        let kconfig_default = include_str!("../../../zephyr/Kconfig")
            .lines()
            .find_map(|l| l.trim().strip_prefix("default \"tcp name=echo port=4242"))
            .map(|rest| format!("tcp name=echo port=4242{}", rest.trim_end_matches('"')))
            .unwrap();
        let specs = w5500_sim::lan::clients::parse_clients(&kconfig_default).unwrap();
        assert_eq!(specs.len(), 7);
    }
}
