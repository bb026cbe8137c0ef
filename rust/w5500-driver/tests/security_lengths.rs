//! Lengths read from the chip are never trusted (DS §5.2.2 UDP RX: the chip puts an 8-byte
//! header — peer address, port, payload length — before each datagram). An SPI device
//! wrapper rewrites the MISO bytes of the header read so the length claims more than the
//! bytes waiting: the driver must report an error (EIO, ChipState) and flush, never read
//! beyond what `Sn_RX_RSR` says is there.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{RecvFlags, SockType, Stack, StackConfig};
use w5500_driver::Error;
use w5500_sim::lan::{standard, Lan};
use w5500_sim::sim::Sim;
use w5500_sim::spi::SimSpiDevice;
use w5500_testkit::{SharedSim, SimDelay};

#[derive(Default)]
struct Tamper {
    /// Rewrite the length of the next 8-byte RX-buffer read to this.
    lie: Mutex<Option<u16>>,
    /// Largest single RX-buffer read, bytes.
    max_rx_read: AtomicUsize,
    /// An RX-buffer read started past the bytes the chip said were waiting.
    armed: AtomicBool,
}

struct Wrapper {
    inner: SimSpiDevice<SharedSim<Lan>>,
    tamper: Arc<Tamper>,
}

impl ErrorType for Wrapper {
    type Error = <SimSpiDevice<SharedSim<Lan>> as ErrorType>::Error;
}

impl SpiDevice for Wrapper {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        let header = match ops.first() {
            Some(Operation::Write(h)) if h.len() == 3 => [h[0], h[1], h[2]],
            _ => [0, 0, 0],
        };
        self.inner.transaction(ops)?;
        let bsb = header[2] >> 3;
        let write = header[2] & 0x04 != 0;
        if bsb % 4 == 3 && !write {
            for op in ops.iter_mut() {
                if let Operation::Read(buf) = op {
                    self.tamper
                        .max_rx_read
                        .fetch_max(buf.len(), Ordering::Relaxed);
                    if buf.len() == 8 {
                        if let Some(len) = self.tamper.lie.lock().unwrap().take() {
                            buf[6..8].copy_from_slice(&len.to_be_bytes());
                            self.tamper.armed.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn setup() -> (SharedSim<Lan>, Stack<Wrapper>, Arc<Tamper>) {
    let sim: SharedSim<Lan> = Arc::new(Mutex::new(Sim::new(Lan::standard())));
    let tamper = Arc::new(Tamper::default());
    let mut chip = Chip::new(Wrapper {
        inner: SimSpiDevice::new(sim.clone()),
        tamper: tamper.clone(),
    });
    let mut c = Config::new([0x02, 0x08, 0xdc, 0, 0, 7]);
    c.ip = standard::CHIP_STATIC;
    c.netmask = standard::NETMASK;
    c.gateway = standard::GATEWAY;
    chip.init(&mut SimDelay(sim.clone()), &c).unwrap();
    let stack = Stack::new(chip, StackConfig::default()).unwrap();
    (sim, stack, tamper)
}

fn deliver(sim: &SharedSim<Lan>, payload: &[u8]) {
    let mut s = sim.lock().unwrap();
    let echo = s.network().host_by_ip(standard::ECHO).unwrap();
    s.network_mut().udp_send(
        echo,
        4000,
        SocketAddrV4::new(standard::CHIP_STATIC, 5000),
        payload,
    );
    s.advance(std::time::Duration::from_millis(5));
}

/// DS §5.2.2: a header length beyond the bytes waiting is EIO (ChipState), the ring is
/// flushed, no read goes past the waiting bytes, and the next honest datagram is received
/// intact.
#[test]
fn ds_5_2_2_udp_header_length_larger_than_waiting_is_an_error_not_an_over_read() {
    let (sim, mut stack, tamper) = setup();
    let u = stack.socket(SockType::Datagram).unwrap();
    stack
        .bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    deliver(&sim, &[0xab; 100]);
    assert_eq!(stack.bytes_available(u).unwrap(), 100);
    for lie in [109u16, 1472, 0xffff] {
        if lie != 109 {
            deliver(&sim, &[0xab; 100]);
        }
        *tamper.lie.lock().unwrap() = Some(lie);
        let mut buf = vec![0u8; 4096];
        let r = stack.recv_datagram(u, &mut buf, RecvFlags::default());
        assert!(tamper.armed.swap(false, Ordering::Relaxed));
        assert_eq!(r, Err(Error::ChipState), "lie {lie}");
        assert_eq!(r.unwrap_err().errno(), w5500_driver::Errno::EIO);
        // Nothing read beyond the header (the payload read never happened).
        assert_eq!(tamper.max_rx_read.load(Ordering::Relaxed), 8, "lie {lie}");
        // The ring was flushed.
        assert_eq!(stack.bytes_available(u).unwrap(), 0);
    }
    // An honest datagram afterwards is received intact.
    deliver(&sim, b"honest");
    let mut buf = [0u8; 64];
    let (n, len, from) = stack
        .recv_datagram(u, &mut buf, RecvFlags::default())
        .unwrap();
    assert_eq!((&buf[..n], len), (&b"honest"[..], 6));
    assert_eq!(from, SocketAddrV4::new(standard::ECHO, 4000));
    assert!(sim.lock().unwrap().violations().is_empty());
}
