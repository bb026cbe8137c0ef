//! The driver's one error type, and its mapping to POSIX errno *names*.
//!
//! Numbers are the C side's business (they differ between libcs); Rust only says which name.
//! [`Error::errno`] has no wildcard arm, so a new variant does not compile until it is mapped.

use core::fmt;

use w5500_regs::Sn;

/// Everything that can go wrong in the driver.
///
/// Each variant has one errno name ([`Error::errno`]); the C glue turns names into numbers.
/// The ninth socket on the simulated chip, for instance, is `ENFILE`:
///
/// ```
/// # use w5500_driver::stack::{SockType, MAX_SOCKETS};
/// use w5500_driver::{Errno, Error};
/// # use w5500_sim::lan::{standard, Lan};
/// # use w5500_sim::sim::Sim;
/// # use w5500_testkit::{Rig, RigConfig};
/// # let cfg = RigConfig::static_ip(standard::CHIP_STATIC.octets(), standard::GATEWAY.octets());
/// # let rig = Rig::new(Sim::new(Lan::standard()), cfg)?;
/// # let bsd = &rig.bsd;
/// let held: Vec<_> = (0..MAX_SOCKETS)
///     .map(|_| bsd.socket(SockType::Stream))
///     .collect::<Result<_, _>>()?;
/// let err = bsd.socket(SockType::Stream).unwrap_err();
/// assert_eq!(err, Error::NoFreeSocket);
/// assert_eq!(err.errno(), Errno::ENFILE);
/// for s in held {
///     bsd.close(s)?;
/// }
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The SPI transfer failed.
    Bus(embedded_hal::spi::ErrorKind),
    /// A reset or interrupt pin could not be driven or read.
    Pin,
    /// `VERSIONR` never read 0x04: no chip, or not a W5500.
    ChipNotFound {
        /// The last value read.
        version: u8,
    },
    /// The chip did not finish a soft reset (`MR.RST` never cleared).
    ResetTimeout,
    /// `Sn_CR` never read back 0: the chip did not accept a command.
    CommandTimeout {
        /// The socket the command was for.
        sn: Sn,
    },
    /// The operation cannot complete now; try again after the next chip event.
    WouldBlock,
    /// A deadline passed (connect timeout, or the chip's TCP retransmission timeout).
    TimedOut,
    /// The peer refused the connection (RST in answer to SYN).
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The connection was aborted locally (socket closed, chip reset).
    ConnectionAborted,
    /// The socket is not connected.
    NotConnected,
    /// The socket is already connected.
    AlreadyConnected,
    /// A non-blocking connect has started and not finished.
    InProgress,
    /// A connect is already in progress on this socket.
    Already,
    /// Every hardware socket is in use.
    NoFreeSocket,
    /// The local address (port) is in use.
    AddrInUse,
    /// The local address is not this interface's address.
    AddrNotAvailable,
    /// An argument is invalid for this call or this socket's state.
    InvalidArgument,
    /// No such socket.
    BadDescriptor,
    /// A datagram is larger than the chip can send in one frame (1472 bytes).
    MessageTooLong,
    /// The Ethernet link is down.
    NetworkDown,
    /// The interface has no IPv4 address, or no route to the destination.
    NetworkUnreachable,
    /// ARP got no answer for the destination (or the gateway).
    HostUnreachable,
    /// The operation is not supported on this socket or by this chip.
    Unsupported,
    /// The protocol is not supported (only TCP and UDP are).
    ProtocolNotSupported,
    /// The address family is not supported (only IPv4 is).
    AddressFamilyNotSupported,
    /// The socket type does not fit the protocol.
    WrongProtocolType,
    /// Unknown socket option or level.
    NoProtocolOption,
    /// Writing to a socket whose write side is shut down or whose peer has gone.
    BrokenPipe,
    /// A datagram socket without a peer was asked to send without an address.
    DestinationRequired,
    /// Sending to a broadcast address without `SO_BROADCAST`.
    PermissionDenied,
    /// A per-socket hardware resource is exhausted (e.g. a second multicast group).
    NoBufferSpace,
    /// A buffer or address argument points nowhere: NULL with a non-zero length, or a length
    /// no buffer can have (more than `isize::MAX` bytes). Only the C ABI sees raw pointers.
    BadAddress,
    /// The chip reported something impossible (a UDP length beyond the bytes waiting, an
    /// unknown state); what was affected has been discarded.
    ChipState,
}

/// POSIX errno names the driver reports. The C layer maps each to its libc's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs, clippy::upper_case_acronyms)]
pub enum Errno {
    EIO = 1,
    ENODEV,
    EAGAIN,
    ETIMEDOUT,
    ECONNREFUSED,
    ECONNRESET,
    ECONNABORTED,
    ENOTCONN,
    EISCONN,
    EINPROGRESS,
    EALREADY,
    ENFILE,
    EADDRINUSE,
    EADDRNOTAVAIL,
    EINVAL,
    EBADF,
    EMSGSIZE,
    ENETDOWN,
    ENETUNREACH,
    EHOSTUNREACH,
    EOPNOTSUPP,
    EPROTONOSUPPORT,
    EAFNOSUPPORT,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPIPE,
    EDESTADDRREQ,
    EACCES,
    ENOBUFS,
    EFAULT,
}

impl Error {
    /// The errno name a POSIX caller sees for this error.
    pub const fn errno(self) -> Errno {
        match self {
            Error::Bus(_) => Errno::EIO,
            Error::Pin => Errno::EIO,
            Error::ChipNotFound { .. } => Errno::ENODEV,
            Error::ResetTimeout => Errno::EIO,
            Error::CommandTimeout { .. } => Errno::EIO,
            Error::WouldBlock => Errno::EAGAIN,
            Error::TimedOut => Errno::ETIMEDOUT,
            Error::ConnectionRefused => Errno::ECONNREFUSED,
            Error::ConnectionReset => Errno::ECONNRESET,
            Error::ConnectionAborted => Errno::ECONNABORTED,
            Error::NotConnected => Errno::ENOTCONN,
            Error::AlreadyConnected => Errno::EISCONN,
            Error::InProgress => Errno::EINPROGRESS,
            Error::Already => Errno::EALREADY,
            Error::NoFreeSocket => Errno::ENFILE,
            Error::AddrInUse => Errno::EADDRINUSE,
            Error::AddrNotAvailable => Errno::EADDRNOTAVAIL,
            Error::InvalidArgument => Errno::EINVAL,
            Error::BadDescriptor => Errno::EBADF,
            Error::MessageTooLong => Errno::EMSGSIZE,
            Error::NetworkDown => Errno::ENETDOWN,
            Error::NetworkUnreachable => Errno::ENETUNREACH,
            Error::HostUnreachable => Errno::EHOSTUNREACH,
            Error::Unsupported => Errno::EOPNOTSUPP,
            Error::ProtocolNotSupported => Errno::EPROTONOSUPPORT,
            Error::AddressFamilyNotSupported => Errno::EAFNOSUPPORT,
            Error::WrongProtocolType => Errno::EPROTOTYPE,
            Error::NoProtocolOption => Errno::ENOPROTOOPT,
            Error::BrokenPipe => Errno::EPIPE,
            Error::DestinationRequired => Errno::EDESTADDRREQ,
            Error::PermissionDenied => Errno::EACCES,
            Error::NoBufferSpace => Errno::ENOBUFS,
            Error::BadAddress => Errno::EFAULT,
            Error::ChipState => Errno::EIO,
        }
    }
}

impl Errno {
    /// The errno's name (`"EIO"`), for log records (no `Debug` formatting on the target).
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EIO => "EIO",
            Errno::ENODEV => "ENODEV",
            Errno::EAGAIN => "EAGAIN",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ECONNABORTED => "ECONNABORTED",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::EISCONN => "EISCONN",
            Errno::EINPROGRESS => "EINPROGRESS",
            Errno::EALREADY => "EALREADY",
            Errno::ENFILE => "ENFILE",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            Errno::EINVAL => "EINVAL",
            Errno::EBADF => "EBADF",
            Errno::EMSGSIZE => "EMSGSIZE",
            Errno::ENETDOWN => "ENETDOWN",
            Errno::ENETUNREACH => "ENETUNREACH",
            Errno::EHOSTUNREACH => "EHOSTUNREACH",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            Errno::EAFNOSUPPORT => "EAFNOSUPPORT",
            Errno::EPROTOTYPE => "EPROTOTYPE",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EPIPE => "EPIPE",
            Errno::EDESTADDRREQ => "EDESTADDRREQ",
            Errno::EACCES => "EACCES",
            Errno::ENOBUFS => "ENOBUFS",
            Errno::EFAULT => "EFAULT",
        }
    }
}

/// An error in a log record: its errno's name.
impl From<Error> for w5500_log::Arg<'static> {
    fn from(e: Error) -> Self {
        w5500_log::Arg::Str(e.errno().name())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bus(kind) => write!(f, "SPI bus error: {kind:?}"),
            Error::ChipNotFound { version } => {
                write!(
                    f,
                    "no W5500 found (VERSIONR reads {version:#04x}, expected 0x04)"
                )
            }
            Error::ResetTimeout => f.write_str("W5500 soft reset did not complete"),
            Error::CommandTimeout { sn } => write!(f, "W5500 did not accept a command on {sn}"),
            other => write!(f, "{:?}", other.errno()),
        }
    }
}

impl core::error::Error for Error {}

impl<E: embedded_hal::spi::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Error::Bus(e.kind())
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_an_errno_name() {
        // The match in `errno` has no wildcard; this spells out the mapping the issue names.
        let cases = [
            (Error::ConnectionRefused, Errno::ECONNREFUSED),
            (Error::TimedOut, Errno::ETIMEDOUT),
            (Error::ConnectionReset, Errno::ECONNRESET),
            (Error::WouldBlock, Errno::EAGAIN),
            (Error::NotConnected, Errno::ENOTCONN),
            (Error::AlreadyConnected, Errno::EISCONN),
            (Error::AddrInUse, Errno::EADDRINUSE),
            (Error::NoFreeSocket, Errno::ENFILE),
            (Error::MessageTooLong, Errno::EMSGSIZE),
            (Error::InvalidArgument, Errno::EINVAL),
            (Error::BadDescriptor, Errno::EBADF),
            (Error::NetworkDown, Errno::ENETDOWN),
            (Error::HostUnreachable, Errno::EHOSTUNREACH),
            (Error::ChipNotFound { version: 0 }, Errno::ENODEV),
            (Error::BadAddress, Errno::EFAULT),
            (Error::NetworkUnreachable, Errno::ENETUNREACH),
            (Error::Unsupported, Errno::EOPNOTSUPP),
        ];
        for (e, n) in cases {
            assert_eq!(e.errno(), n, "{e:?}");
        }
    }

    /// Log records name the errno as `Debug` would, without formatting.
    #[test]
    fn errno_names_match_their_variants() {
        for n in [Errno::EIO, Errno::ENODEV, Errno::ETIMEDOUT, Errno::EFAULT] {
            assert_eq!(n.name(), format!("{n:?}"));
        }
        assert_eq!(
            w5500_log::Arg::from(Error::TimedOut),
            w5500_log::Arg::Str("ETIMEDOUT")
        );
    }
}
