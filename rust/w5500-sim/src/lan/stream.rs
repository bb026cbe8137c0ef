//! Bodies that fixtures send without holding them in memory.
//!
//! A [`BodySource`] answers "the bytes at offset *o*" on demand: the deterministic pattern
//! ([`PatternBody`], any length up to `u64::MAX`), a byte string shared by every connection
//! ([`BytesBody`], one copy however many connections send it), or (with `std`) a file read
//! as it is sent (`FileBody`, the `w5500-sim` binary's `--http`). [`Outgoing`] feeds one body into a TCP
//! connection, never more than [`STREAM_QUEUE`] bytes ahead of the peer's acknowledgements
//! and [`STREAM_CHUNK`] bytes per step, so a 1 GiB body costs the same memory as a 1 KiB one.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::app::TcpIo;
use super::limits::{STREAM_CHUNK, STREAM_QUEUE};
use super::util::pattern_byte;

/// A body read on demand.
pub trait BodySource: Send + Sync + core::fmt::Debug {
    /// Its length in bytes.
    fn len(&self) -> u64;

    /// True when it has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copy the bytes at `offset` into `buf` (as many as fit and exist); returns how many,
    /// or a short message when the source failed (a file that went away).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, &'static str>;
}

/// A shared body.
pub type Body = Arc<dyn BodySource>;

/// `len` bytes of the deterministic pattern ([`super::util::pattern_byte`]) from offset 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternBody {
    /// Length in bytes.
    pub len: u64,
}

impl BodySource for PatternBody {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, &'static str> {
        let left = self.len.saturating_sub(offset);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        for (i, b) in buf.iter_mut().take(n).enumerate() {
            *b = pattern_byte(offset.wrapping_add(i as u64));
        }
        Ok(n)
    }
}

/// A byte string, stored once and shared by every connection that sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BytesBody(pub Vec<u8>);

impl BodySource for BytesBody {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, &'static str> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = self.0.get(start..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        Ok(n)
    }
}

/// A file, read as it is sent (`std`): the `w5500-sim` binary's `--http PATH=FILE`.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct FileBody {
    file: std::fs::File,
    len: u64,
}

#[cfg(feature = "std")]
impl FileBody {
    /// Open `path`; its length is taken now (the body is that long, whatever happens to the
    /// file later: a shorter file fails the connection that reaches the missing bytes).
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileBody { file, len })
    }
}

#[cfg(feature = "std")]
impl BodySource for FileBody {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, &'static str> {
        use std::os::unix::fs::FileExt;
        let left = usize::try_from(self.len.saturating_sub(offset)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let part = buf.get_mut(..want).ok_or("buffer")?;
        match self.file.read_at(part, offset) {
            Ok(0) => Err("file shorter than when it was opened"),
            Ok(n) => Ok(n),
            Err(_) => Err("file read failed"),
        }
    }
}

/// A body being sent on one connection.
#[derive(Debug)]
pub struct Outgoing {
    body: Body,
    sent: u64,
}

/// What [`Outgoing::fill`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// More to send later.
    More,
    /// The whole body has been handed to TCP.
    Done,
    /// The source failed or the buffer could not grow; the connection was reset (logged).
    Failed,
}

impl Outgoing {
    /// Start sending `body`.
    pub fn new(body: Body) -> Self {
        Outgoing { body, sent: 0 }
    }

    /// Bytes handed to TCP so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The body's length.
    pub fn len(&self) -> u64 {
        self.body.len()
    }

    /// True when the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// True once every byte has been handed to TCP.
    pub fn done(&self) -> bool {
        self.sent >= self.body.len()
    }

    /// Queue more of the body on `io`: up to [`STREAM_QUEUE`] unacknowledged bytes, at most
    /// `limit` bytes in all (a client that resets after N bytes), [`STREAM_CHUNK`] per step.
    pub fn fill(&mut self, io: &mut TcpIo, limit: u64) -> Fill {
        let end = self.body.len().min(limit);
        for _ in 0..STREAM_QUEUE / STREAM_CHUNK + 1 {
            let room = STREAM_QUEUE.saturating_sub(io.queued());
            let left = end.saturating_sub(self.sent);
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(room)
                .min(STREAM_CHUNK);
            if n == 0 {
                break;
            }
            match io.send_from(n, |buf| self.body.read_at(self.sent, buf)) {
                Ok(0) => break,
                Ok(k) => self.sent = self.sent.saturating_add(k as u64),
                Err(e) => {
                    log::error!(
                        "LAN {:?} -> {:?}: body failed at byte {}: {e}; connection reset",
                        io.local(),
                        io.remote(),
                        self.sent
                    );
                    io.abort();
                    return Fill::Failed;
                }
            }
        }
        if self.sent >= end {
            Fill::Done
        } else {
            Fill::More
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_body_reads_at_any_offset_and_stops_at_its_end() {
        let b = PatternBody { len: 10 };
        let mut buf = [0u8; 8];
        assert_eq!(b.read_at(6, &mut buf), Ok(4));
        assert_eq!(buf[..4], super::super::util::pattern(6, 4)[..]);
        assert_eq!(b.read_at(10, &mut buf), Ok(0));
        assert_eq!(b.read_at(u64::MAX, &mut buf), Ok(0));
        let huge = PatternBody { len: u64::MAX };
        assert_eq!(huge.read_at(u64::MAX - 3, &mut buf), Ok(3));
    }

    #[test]
    fn bytes_body_copies_what_exists() {
        let b = BytesBody(b"hello".to_vec());
        let mut buf = [0u8; 4];
        assert_eq!(b.read_at(3, &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(b.read_at(9, &mut buf), Ok(0));
    }
}
