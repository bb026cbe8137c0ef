//! End to end: the driver on the simulated chip on the standard LAN.
use std::net::SocketAddrV4;

use w5500_driver::bsd::MsgFlags;
use w5500_driver::stack::SockType;
use w5500_sim::lan::{standard, Lan};
use w5500_sim::sim::Sim;
use w5500_testkit::{Rig, RigConfig};

#[test]
fn http_get_over_tcp_on_the_standard_lan() {
    let rig = Rig::new(
        Sim::new(Lan::standard()),
        RigConfig::static_ip(standard::CHIP_STATIC.octets(), standard::GATEWAY.octets()),
    )
    .unwrap();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.connect(s, SocketAddrV4::new(standard::HTTP, 80))
        .unwrap();
    let req = b"GET / HTTP/1.0\r\nHost: http\r\n\r\n";
    assert_eq!(
        bsd.send(s, req, None, MsgFlags::default()).unwrap(),
        req.len()
    );
    let mut body = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let (n, _) = bsd.recv(s, &mut buf, MsgFlags::default()).unwrap();
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    bsd.close(s).unwrap();
    let v = rig.with_sim(|s| s.violations().to_vec());
    assert!(v.is_empty(), "{v:?}");
}
