// SPDX-License-Identifier: Apache-2.0
//! HTTP GET over the W5500's offloaded sockets, from Rust: the same client as
//! `samples/http_client`, using Zephyr's socket calls through FFI (zephyr-lang-rust has no
//! socket wrappers). The driver itself comes from the `w5500-zephyr` dependency: the app waits
//! for its DHCP lease and resolves the host name with the driver's DNS client through the
//! driver's plain C ABI (`w5500_rs_getaddrinfo`), because `struct zsock_addrinfo` changes
//! layout between Zephyr releases and must not be written by hand in Rust.
#![no_std]

use core::ffi::{c_int, c_void};

use log::{info, warn};
use zephyr::time::Duration;
// Links the driver's Rust part (its `w5500_rs_*` exports) into this staticlib.
use w5500_zephyr as _;
use w5500_zephyr::abi::{W5500RsAddrinfo, W5500RsAiHints, W5500RsStatus, W5500_RS_GAI_MAX};
use w5500_zephyr::exports::{w5500_rs_getaddrinfo, w5500_rs_status};

/// `struct sockaddr_in` as Zephyr lays it out for IPv4.
#[repr(C)]
struct SockaddrIn {
    family: u16,
    port_be: u16,
    addr: [u8; 4],
    _pad: [u8; 16],
}

const AF_INET: c_int = 1;
const SOCK_STREAM: c_int = 1;

extern "C" {
    // The implementations behind Zephyr's zsock_* syscall wrappers (no userspace here).
    fn z_impl_zsock_socket(family: c_int, ty: c_int, proto: c_int) -> c_int;
    fn z_impl_zsock_connect(sock: c_int, addr: *const c_void, len: u32) -> c_int;
    fn z_impl_zsock_sendto(
        s: c_int,
        b: *const c_void,
        n: usize,
        f: c_int,
        a: *const c_void,
        l: u32,
    ) -> isize;
    fn z_impl_zsock_recvfrom(
        s: c_int,
        b: *mut c_void,
        n: usize,
        f: c_int,
        a: *mut c_void,
        l: *mut u32,
    ) -> isize;
    fn z_impl_zsock_close(sock: c_int) -> c_int;
}

/// The HTTP server: the standard simulated LAN's web host, by name.
const HOST: &core::ffi::CStr = c"http.sim.lan";

/// Wait (at most 60 s) until the driver's DHCP client holds a lease.
fn wait_for_lease() -> bool {
    for _ in 0..600 {
        let mut st = W5500RsStatus::default();
        // SAFETY: `st` is writable.
        if unsafe { w5500_rs_status(&mut st) } == 0 && st.dhcp_bound {
            return true;
        }
        // `k_msleep` is a static inline in kernel.h (no symbol to link against): sleep
        // through zephyr-lang-rust.
        zephyr::time::sleep(Duration::millis(100));
    }
    false
}

#[no_mangle]
extern "C" fn rust_main() {
    // The image's one `log` logger: the driver installs none in a zephyr-lang-rust
    // application, so its records (DHCP, DNS) come out through this one too.
    // SAFETY: runs once at start-up, before the driver's worker thread (lower priority than
    // main) first runs, so no other thread sets up or uses `log` meanwhile.
    if unsafe { zephyr::set_logger() }.is_err() {
        zephyr::printkln!("rust_client: another log logger was installed first");
    }
    if !wait_for_lease() {
        warn!("no DHCP lease");
        return;
    }
    let mut found = [W5500RsAddrinfo::default(); W5500_RS_GAI_MAX];
    let mut n = 0usize;
    let hints = W5500RsAiHints {
        socktype: 1,
        ..W5500RsAiHints::default()
    };
    // SAFETY: NUL-terminated strings, valid hints, room for W5500_RS_GAI_MAX results.
    let r = unsafe {
        w5500_rs_getaddrinfo(
            HOST.as_ptr(),
            c"80".as_ptr(),
            &hints,
            found.as_mut_ptr(),
            found.len(),
            &mut n,
        )
    };
    let Some(first) = found.get(..n).and_then(|f| f.first()).filter(|_| r == 0) else {
        warn!("getaddrinfo({:?}): {}", HOST, r);
        return;
    };
    let a = first.addr.addr;
    info!("{:?} is {}.{}.{}.{}", HOST, a[0], a[1], a[2], a[3]);
    let addr = SockaddrIn {
        family: AF_INET as u16,
        port_be: first.addr.port.to_be(),
        addr: a,
        _pad: [0; 16],
    };
    let mut buf = [0u8; 512];
    // SAFETY: plain calls into Zephyr's socket layer with valid buffers.
    unsafe {
        let fd = z_impl_zsock_socket(AF_INET, SOCK_STREAM, 0);
        let len = core::mem::size_of::<SockaddrIn>() as u32;
        if fd < 0 || z_impl_zsock_connect(fd, (&addr as *const SockaddrIn).cast(), len) < 0 {
            warn!("connect failed");
            return;
        }
        let req = b"GET / HTTP/1.1\r\nHost: http.sim.lan\r\nConnection: close\r\n\r\n";
        z_impl_zsock_sendto(fd, req.as_ptr().cast(), req.len(), 0, core::ptr::null(), 0);
        let mut total = 0usize;
        loop {
            let n = z_impl_zsock_recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            if n <= 0 {
                break;
            }
            if total == 0 {
                let line = buf.split(|&b| b == b'\r').next().unwrap_or(&[]);
                info!("status: {}", core::str::from_utf8(line).unwrap_or("?"));
            }
            total += n as usize;
        }
        info!("received {} bytes", total);
        z_impl_zsock_close(fd);
    }
}
