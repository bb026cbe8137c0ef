//! Bridge server + Rust client over a Unix socket and loopback TCP, with the register-file
//! target: framing, multi-transfer transactions, reset, INTn, time, errors and disconnects.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::spi::{Operation, SpiDevice};
use support::bridge::*;
use w5500_sim::bridge::{op, status, Client, ClientError, ClockMode, ListenAddr, MAX_PAYLOAD};

/// DS §2.2 frame: read `n` bytes of block `bsb` at `addr` as one transaction with two
/// transfers (header, then data).
fn read(c: &mut Client, bsb: u8, addr: u16, n: usize) -> Vec<u8> {
    let [hi, lo] = addr.to_be_bytes();
    let mut data = vec![0u8; n];
    c.transaction(&mut [
        Operation::Write(&[hi, lo, bsb << 3]),
        Operation::Read(&mut data),
    ])
    .unwrap();
    data
}

fn write(c: &mut Client, bsb: u8, addr: u16, bytes: &[u8]) {
    let [hi, lo] = addr.to_be_bytes();
    c.transaction(&mut [
        Operation::Write(&[hi, lo, (bsb << 3) | 0x04]),
        Operation::Write(bytes),
    ])
    .unwrap();
}

fn remote_status(e: ClientError) -> u8 {
    match e {
        ClientError::Remote { status, .. } => status,
        other => panic!("expected a remote error, got {other:?}"),
    }
}

fn exercise(addr: ListenAddr) {
    let (at, server, target) = start(addr, ClockMode::Sim, 1);
    let mut c = Client::connect(&at).unwrap();
    assert_eq!(c.info().version, 1);
    assert_eq!(c.info().clock, ClockMode::Sim);
    assert_eq!(c.info().spi_hz, 8_000_000);

    // DS §3.1 VERSIONR = 0x04, one full-duplex transfer of 4 bytes.
    let mut buf = [0x00, 0x39, 0x00, 0xAA];
    c.transaction(&mut [Operation::TransferInPlace(&mut buf)])
        .unwrap();
    assert_eq!(buf[3], 0x04);

    // SHAR write then read back, header and data in separate transfers of one transaction.
    let mac = [0x02, 0x08, 0xdc, 0x01, 0x02, 0x03];
    write(&mut c, 0, 0x0009, &mac);
    assert_eq!(read(&mut c, 0, 0x0009, 6), mac);
    assert_eq!(target.lock().unwrap().peek(0, 0x000c), 0x01);

    // Transfer with different read/write lengths pads the write side.
    let mut rd = [0u8; 4];
    c.transaction(&mut [Operation::Transfer(&mut rd, &[0x00, 0x09, 0x00])])
        .unwrap();
    assert_eq!(rd[3], 0x02, "4th byte clocked is SHAR[0]");

    let (sel, desel, _) = target.lock().unwrap().counts();
    assert_eq!(sel, desel, "every transaction is select..deselect");
    assert!(sel >= 4);
    c.bye().unwrap();
    server.join().unwrap();
}

#[test]
fn ds2_2_frames_over_unix_socket() {
    exercise(unix_addr());
}

#[test]
fn ds2_2_frames_over_loopback_tcp() {
    exercise(tcp_addr());
}

/// DS §5.5.1 RSTn: a pulse resets the registers; holding RSTn low keeps the chip silent
/// (MISO reads 0) and releasing it completes the reset.
#[test]
fn ds5_reset_pulse_and_reset_pin() {
    let (at, server, target) = start(unix_addr(), ClockMode::Sim, 1);
    let mut c = Client::connect(&at).unwrap();
    write(&mut c, 0, 0x000f, &[10, 0, 0, 9]);
    assert_eq!(read(&mut c, 0, 0x000f, 4), [10, 0, 0, 9]);
    c.hardware_reset().unwrap();
    assert_eq!(read(&mut c, 0, 0x000f, 4), [0, 0, 0, 0]);

    write(&mut c, 0, 0x000f, &[10, 0, 0, 9]);
    let mut rst = c.reset_pin();
    rst.set_low().unwrap();
    assert!(target.lock().unwrap().in_reset());
    assert_eq!(
        read(&mut c, 0, 0x0039, 1),
        [0],
        "no answer while held in reset"
    );
    rst.set_high().unwrap();
    assert_eq!(read(&mut c, 0, 0x0039, 1), [4]);
    assert_eq!(
        read(&mut c, 0, 0x000f, 4),
        [0, 0, 0, 0],
        "release completed a reset"
    );
    rst.pulse().unwrap();
    assert_eq!(target.lock().unwrap().counts().2, 3);
    drop((c, rst)); // the pin shares the connection: both must go for the server to see EOF
    server.join().unwrap();
}

/// DS §5.4 INTn: level follows the pending, unmasked interrupts; WAIT_INT returns at once when
/// asserted and after the timeout (in simulated time) when not.
#[test]
fn ds5_intn_level_and_wait() {
    let (at, server, _target) = start(unix_addr(), ClockMode::Sim, 1);
    let mut c = Client::connect(&at).unwrap();
    let mut int = c.int_pin();
    assert!(int.is_high().unwrap());
    let t0 = c.now().unwrap();
    assert!(!int.wait_low(Duration::from_millis(20)).unwrap());
    let waited = c.now().unwrap() - t0;
    assert!(waited >= Duration::from_millis(20), "{waited:?}");
    assert!(waited < Duration::from_millis(25), "{waited:?}");

    write(&mut c, 0, 0x0016, &[0x80]); // IMR.CONFLICT
    write(&mut c, 0, 0x0015, &[0x80]); // IR.CONFLICT pending
    assert!(int.is_low().unwrap());
    let t1 = c.now().unwrap();
    assert!(c.wait_int(Duration::from_secs(30)).unwrap());
    assert!(c.now().unwrap() - t1 < Duration::from_millis(1));
    write(&mut c, 0, 0x0015, &[0x00]);
    assert!(!c.int_asserted().unwrap());
    drop((c, int));
    server.join().unwrap();
}

/// Time: GET_TIME/ADVANCE on the simulated clock (SPI traffic costs wire time, DelayNs
/// advances it); ADVANCE is refused on the wall clock, whose time moves by itself.
#[test]
fn time_simulated_and_wall() {
    let (at, server, _t) = start(unix_addr(), ClockMode::Sim, 1);
    let mut c = Client::connect(&at).unwrap();
    let t0 = c.now().unwrap();
    let t1 = c.advance(Duration::from_millis(5)).unwrap();
    assert_eq!(t1 - t0, Duration::from_millis(5));
    c.transaction(&mut [Operation::DelayNs(2_000_000)]).unwrap();
    assert_eq!(c.now().unwrap() - t1, Duration::from_millis(2));
    let before = c.now().unwrap();
    let _ = read(&mut c, 0, 0, 997); // 1000 bytes at 8 MHz = 1 ms of wire time
    assert!(c.now().unwrap() - before >= Duration::from_millis(1));
    drop(c);
    server.join().unwrap();

    let (at, server, _t) = start(unix_addr(), ClockMode::Wall, 1);
    let c = Client::connect(&at).unwrap();
    assert_eq!(c.info().clock, ClockMode::Wall);
    let e = c.advance(Duration::from_millis(1)).unwrap_err();
    assert_eq!(remote_status(e), status::UNSUPPORTED);
    let a = c.now().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(c.now().unwrap() - a >= Duration::from_millis(5));
    drop(c);
    server.join().unwrap();
}

/// Requests in the wrong state or with bad payloads get error replies; the connection stays
/// usable afterwards.
#[test]
fn errors_leave_connection_usable() {
    let (at, server, _t) = start(tcp_addr(), ClockMode::Sim, 1);
    let mut c = Client::connect(&at).unwrap();
    let st = |r: Result<(u8, Vec<u8>), ClientError>| r.unwrap().0;
    assert_eq!(
        st(c.raw_request(op::TRANSFER, &[1, 2, 3])),
        status::BAD_STATE
    );
    assert_eq!(st(c.raw_request(op::DESELECT, &[])), status::BAD_STATE);
    assert_eq!(st(c.raw_request(op::SELECT, &[])), status::OK);
    assert_eq!(st(c.raw_request(op::SELECT, &[])), status::BAD_STATE);
    assert_eq!(st(c.raw_request(op::RESET_PULSE, &[])), status::BAD_STATE);
    assert_eq!(st(c.raw_request(op::DESELECT, &[])), status::OK);
    assert_eq!(st(c.raw_request(0x77, &[9; 10])), status::BAD_REQUEST);
    assert_eq!(
        st(c.raw_request(op::SET_RESET_PIN, &[2])),
        status::BAD_REQUEST
    );
    assert_eq!(st(c.raw_request(op::GET_TIME, &[0])), status::BAD_REQUEST);
    assert_eq!(
        st(c.raw_request(op::WAIT_INT, &[0, 0])),
        status::BAD_REQUEST
    );
    assert_eq!(st(c.raw_request(op::ADVANCE, &[0; 4])), status::BAD_REQUEST);
    // The register file has no LAN: the LAN-client requests are unsupported there, and
    // LAN_REPORTS takes no payload; text that is not UTF-8 is refused first.
    assert_eq!(
        st(c.raw_request(op::LAN_CLIENT, b"tcp port=7")),
        status::UNSUPPORTED
    );
    assert_eq!(st(c.raw_request(op::LAN_REPORTS, &[])), status::UNSUPPORTED);
    assert_eq!(
        st(c.raw_request(op::LAN_REPORTS, &[1])),
        status::BAD_REQUEST
    );
    assert_eq!(
        st(c.raw_request(op::LAN_CLIENT, &[0xff, 0xfe])),
        status::BAD_REQUEST
    );
    assert_eq!(
        c.lan_clients("tcp port=7")
            .map_err(remote_status)
            .unwrap_err(),
        status::UNSUPPORTED
    );
    let (s, msg) = c.raw_request(op::HELLO, b"W5SB\x00\x01").unwrap();
    assert_eq!(s, status::BAD_STATE);
    assert!(!msg.is_empty(), "errors carry a message");
    assert_eq!(read(&mut c, 0, 0x0039, 1), [4], "still usable");
    drop(c);
    server.join().unwrap();
}

fn raw(at: &ListenAddr) -> UnixStream {
    let ListenAddr::Unix(p) = at else {
        unreachable!()
    };
    let s = UnixStream::connect(p).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn raw_call(s: &mut UnixStream, opcode: u8, payload: &[u8]) -> Option<(u8, Vec<u8>)> {
    let mut m = vec![opcode];
    m.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    m.extend_from_slice(payload);
    s.write_all(&m).ok()?;
    let mut h = [0u8; 5];
    s.read_exact(&mut h).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize];
    s.read_exact(&mut body).ok()?;
    Some((h[0], body))
}

fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

/// Session rules and malformed messages, byte by byte: HELLO first, magic and version
/// checked, oversized lengths and truncated messages end only that connection, and the server
/// goes on serving the next client.
#[test]
fn malformed_messages_and_sessions() {
    let (at, server, target) = start(unix_addr(), ClockMode::Sim, 6);
    // 1: request before HELLO, then bad magic, then a good HELLO.
    let mut s = raw(&at);
    assert_eq!(
        raw_call(&mut s, op::GET_INT, &[]).unwrap().0,
        status::BAD_STATE
    );
    assert_eq!(
        raw_call(&mut s, op::HELLO, b"XXXX\x00\x01").unwrap().0,
        status::BAD_REQUEST
    );
    assert_eq!(
        raw_call(&mut s, op::HELLO, b"W5SB").unwrap().0,
        status::BAD_REQUEST
    );
    let (st, info) = raw_call(&mut s, op::HELLO, b"W5SB\x00\x01").unwrap();
    assert_eq!((st, &info[..4]), (status::OK, &b"W5SB"[..]));
    drop(s);
    // 2: unsupported version closes.
    let mut s = raw(&at);
    assert_eq!(
        raw_call(&mut s, op::HELLO, b"W5SB\x00\x09").unwrap().0,
        status::VERSION
    );
    assert!(closed(&mut s));
    // 3: a length above the limit gets TOO_LARGE and the connection closes.
    let mut s = raw(&at);
    raw_call(&mut s, op::HELLO, b"W5SB\x00\x01").unwrap();
    s.write_all(&[op::TRANSFER]).unwrap();
    s.write_all(&(MAX_PAYLOAD + 1).to_be_bytes()).unwrap();
    let mut h = [0u8; 5];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[0], status::TOO_LARGE);
    let mut msg = vec![0u8; u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize];
    s.read_exact(&mut msg).unwrap();
    assert!(closed(&mut s));
    // 4: a truncated message, then hang up.
    let mut s = raw(&at);
    raw_call(&mut s, op::HELLO, b"W5SB\x00\x01").unwrap();
    s.write_all(&[op::TRANSFER, 0, 0, 0, 10, 1, 2]).unwrap();
    drop(s);
    // 5: deterministic garbage.
    let mut s = raw(&at);
    let mut x: u32 = 0x1234_5678;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // keep lengths small: clear most of the high bytes
            (x >> 24) as u8 & 0x3f
        })
        .collect();
    let _ = s.write_all(&junk);
    drop(s);
    // 6: a well-behaved client is still served.
    let mut c = Client::connect(&at).unwrap();
    assert_eq!(read(&mut c, 0, 0x0039, 1), [4]);
    c.bye().unwrap();
    server.join().unwrap();
    assert!(!target.lock().unwrap().is_selected());
}

/// A client that disappears inside a transaction: the server deselects (the chip sees CS rise)
/// and releases a held RSTn, then serves the next clients one after another.
#[test]
fn disconnect_mid_transaction_then_more_clients() {
    let (at, server, target) = start(unix_addr(), ClockMode::Sim, 4);
    let c = Client::connect(&at).unwrap();
    c.select().unwrap();
    let mut hdr = [0x00, 0x09, 0x04];
    c.transfer_in_place(&mut hdr).unwrap();
    assert!(target.lock().unwrap().is_selected());
    drop(c);

    let c = Client::connect(&at).unwrap();
    assert!(!target.lock().unwrap().is_selected(), "server deselected");
    c.set_reset_pin(true).unwrap();
    drop(c);

    for i in 0..2u8 {
        let mut c = Client::connect(&at).unwrap();
        assert!(!target.lock().unwrap().in_reset(), "RSTn released");
        write(&mut c, 0, 0x0001, &[i]);
        assert_eq!(read(&mut c, 0, 0x0001, 1), [i]);
        c.bye().unwrap();
    }
    server.join().unwrap();
    let (sel, desel, _) = target.lock().unwrap().counts();
    assert_eq!(sel, desel);
}
