//! Socket exhaustion: the chip has 8 hardware sockets (DS §1); POSIX socket() reports ENFILE
//! for the 9th, and closing gives every one back.
mod support;

use std::net::SocketAddrV4;
use support::*;

/// The 9th socket is ENFILE; nothing leaks after closing, over several rounds of mixed use.
#[test]
fn posix_ninth_socket_is_enfile_and_nothing_leaks() {
    let rig = rig();
    let bsd = &rig.bsd;
    for round in 0..3 {
        let mut socks = Vec::new();
        for i in 0..8 {
            let ty = if i % 2 == 0 {
                SockType::Stream
            } else {
                SockType::Datagram
            };
            socks.push(bsd.socket(ty).unwrap());
        }
        let e = bsd.socket(SockType::Stream).unwrap_err();
        assert_eq!(e.errno(), w5500_driver::Errno::ENFILE, "round {round}");
        assert_eq!(
            bsd.socket(SockType::Datagram).unwrap_err(),
            Error::NoFreeSocket
        );
        // Use them: TCP connects to echo, UDP binds.
        for (i, s) in socks.iter().enumerate() {
            if i % 2 == 0 {
                bsd.connect(*s, SocketAddrV4::new(standard::ECHO, 7))
                    .unwrap();
                bsd.send(*s, b"x", None, nf()).unwrap();
            } else {
                bsd.bind(*s, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0))
                    .unwrap();
            }
        }
        for s in socks {
            bsd.close(s).unwrap();
        }
        // Graceful closes finish in the background (one round trip with the echo server).
        idle(&rig, 20);
        service(&rig);
        assert_eq!(free_hw(bsd), 8, "round {round}: hardware sockets leaked");
        assert_eq!(open_hw_on_chip(&rig), vec![], "round {round}");
    }
    assert_no_violations(&rig);
}

/// A handle used after close() is EBADF, even when its table slot has been reused.
#[test]
fn posix_stale_handle_is_ebadf_after_reuse() {
    let rig = rig();
    let bsd = &rig.bsd;
    let a = bsd.socket(SockType::Datagram).unwrap();
    bsd.close(a).unwrap();
    let b = bsd.socket(SockType::Datagram).unwrap();
    assert_eq!(a.index(), b.index());
    assert_eq!(bsd.close(a), Err(Error::BadDescriptor));
    assert_eq!(bsd.local_addr(a), Err(Error::BadDescriptor));
    bsd.close(b).unwrap();
    assert_no_violations(&rig);
}

/// Failed connects (refused, ARP timeout) release nothing twice and leak nothing.
#[test]
fn failed_connects_do_not_leak_sockets() {
    let rig = rig();
    let bsd = &rig.bsd;
    for _ in 0..10 {
        let s = bsd.socket(SockType::Stream).unwrap();
        assert!(bsd
            .connect(s, SocketAddrV4::new(standard::PEER, 1))
            .is_err());
        bsd.close(s).unwrap();
    }
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}
