// SPDX-License-Identifier: Apache-2.0
//! HTTP GET over the W5500's offloaded sockets, from Rust: the same client as
//! `samples/http_client`, using Zephyr's socket calls through FFI (zephyr-lang-rust has no
//! socket wrappers). The driver itself comes from the `w5500-zephyr` dependency.
#![no_std]

use core::ffi::{c_char, c_int, c_void};

use log::{info, warn};
// Links the driver's Rust part (its `w5500_rs_*` exports) into this staticlib.
use w5500_zephyr as _;

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
    fn z_impl_zsock_sendto(s: c_int, b: *const c_void, n: usize, f: c_int, a: *const c_void, l: u32) -> isize;
    fn z_impl_zsock_recvfrom(s: c_int, b: *mut c_void, n: usize, f: c_int, a: *mut c_void, l: *mut u32) -> isize;
    fn z_impl_zsock_close(sock: c_int) -> c_int;
    fn z_impl_zsock_inet_pton(family: u8, src: *const c_char, dst: *mut c_void) -> c_int;
}

/// The HTTP server: the standard simulated LAN's web host until DNS names resolve.
/// TODO(iface): use getaddrinfo("http.sim.lan") once the interface layer is merged.
const HOST: &core::ffi::CStr = c"10.77.0.10";

#[no_mangle]
extern "C" fn rust_main() {
    // SAFETY: runs once at start-up before any other Rust code logs.
    unsafe { zephyr::set_logger().ok() };
    let mut addr = SockaddrIn { family: AF_INET as u16, port_be: 80u16.to_be(), addr: [0; 4], _pad: [0; 16] };
    let mut buf = [0u8; 512];
    // SAFETY: plain calls into Zephyr's socket layer with valid buffers.
    unsafe {
        if z_impl_zsock_inet_pton(AF_INET as u8, HOST.as_ptr(), addr.addr.as_mut_ptr().cast()) != 1 {
            warn!("bad host");
            return;
        }
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
            let n = z_impl_zsock_recvfrom(fd, buf.as_mut_ptr().cast(), buf.len(), 0, core::ptr::null_mut(), core::ptr::null_mut());
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
