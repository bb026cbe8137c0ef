//! Domain names in uncompressed wire form, text conversion, and strict numeric addresses.

use core::fmt;
use core::net::Ipv4Addr;

use heapless::Vec;

/// Longest name in wire form, root label included (RFC 1035 §2.3.4, §3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The text is empty, or only the root (`"."`): nothing to resolve.
    Empty,
    /// Two dots in a row, or a leading dot: an empty label.
    EmptyLabel,
    /// A label longer than 63 bytes (RFC 1035 §2.3.4).
    LabelTooLong,
    /// The whole name is longer than 255 bytes in wire form (RFC 1035 §2.3.4).
    TooLong,
    /// Only digits and dots but not a valid dotted quad (e.g. `1.2.3`, `256.0.0.1`,
    /// `010.0.0.1`): meant as an address, so it is not sent to a server (RFC 3696 §2).
    BadNumeric,
}

/// A domain name in uncompressed wire form (length-prefixed labels ending with the root's
/// zero byte), at most 255 bytes. Stored as sent or received (case kept); compared
/// case-insensitively as RFC 1035 §2.3.3 and RFC 4343 require.
///
/// The wire form is also the comparison form: label length bytes are below 64 and so never
/// change under ASCII case folding, which lets a byte-wise `eq_ignore_ascii_case` compare
/// whole names.
#[derive(Clone, Default)]
pub struct Name {
    wire: Vec<u8, MAX_NAME_LEN>,
}

impl Name {
    /// The root name (a single zero byte); only used as an empty placeholder.
    pub fn root() -> Self {
        let mut wire = Vec::new();
        let _ = wire.push(0);
        Name { wire }
    }

    /// Parse a dotted name such as `"www.example.org"` (one trailing dot allowed). Any byte
    /// other than `.` is taken literally (no escapes); the name is not required to follow the
    /// host name rules of RFC 952/1123, since the resolver only forwards it.
    pub fn from_text(text: &str) -> Result<Self, NameError> {
        let t = text.strip_suffix('.').unwrap_or(text);
        if t.is_empty() {
            return Err(NameError::Empty);
        }
        let mut wire: Vec<u8, MAX_NAME_LEN> = Vec::new();
        // Byte-wise split: smaller code than `str::split`'s char searcher.
        for b in t.as_bytes().split(|&c| c == b'.') {
            if b.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if b.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            // Fits in u8 by the check above.
            wire.push(b.len() as u8).map_err(|_| NameError::TooLong)?;
            wire.extend_from_slice(b).map_err(|_| NameError::TooLong)?;
        }
        wire.push(0).map_err(|_| NameError::TooLong)?;
        Ok(Name { wire })
    }

    /// The name `a.b.c.d` of an address in decimal, as [`Name::from_text`] makes it from the
    /// address's strict dotted-quad text (what getaddrinfo's `AI_CANONNAME` gives for a
    /// numeric node), built without formatting.
    ///
    /// ```
    /// use core::net::Ipv4Addr;
    /// use w5500_netsvc::dns::name::Name;
    /// let n = Name::from_ipv4(Ipv4Addr::new(10, 0, 255, 7));
    /// assert!(n.eq_ignore_case(&Name::from_text("10.0.255.7").unwrap()));
    /// ```
    pub fn from_ipv4(ip: Ipv4Addr) -> Self {
        let mut wire: Vec<u8, MAX_NAME_LEN> = Vec::new();
        for o in ip.octets() {
            let digits = [o / 100, o / 10 % 10, o % 10];
            let skip = if o >= 100 {
                0
            } else if o >= 10 {
                1
            } else {
                2
            };
            let label = digits.get(skip..).unwrap_or(&[]);
            // At most 4 labels of 3 digits: 17 bytes with the root, well inside the limit.
            let _ = wire.push(label.len() as u8);
            for d in label {
                let _ = wire.push(b'0' + d);
            }
        }
        let _ = wire.push(0);
        Name { wire }
    }

    /// A name from its uncompressed wire form as [`Name::as_wire`] gives it (labels of 1 to
    /// 63 bytes, the root byte last, at most 255 bytes); `None` for anything else.
    pub fn from_wire(wire: &[u8]) -> Option<Self> {
        let mut n = Name::default();
        let mut rest = wire;
        loop {
            let (&len, tail) = rest.split_first()?;
            if len == 0 {
                if !tail.is_empty() {
                    return None;
                }
                n.finish().ok()?;
                return Some(n);
            }
            let label = tail.get(..usize::from(len))?;
            n.push_label(label).ok()?;
            rest = tail.get(usize::from(len)..)?;
        }
    }

    /// The uncompressed wire form, root byte included.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// True for the root name (or an empty placeholder).
    pub fn is_root(&self) -> bool {
        self.wire.len() <= 1
    }

    /// Compare case-insensitively (RFC 4343 §3).
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }

    /// True if the last label is `localhost` (RFC 6761 §6.3).
    pub fn is_localhost(&self) -> bool {
        let mut last: &[u8] = &[];
        for l in self.labels() {
            last = l;
        }
        last.eq_ignore_ascii_case(b"localhost")
    }

    /// The labels, in order.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            rest: self.wire.as_slice(),
        }
    }

    /// Clear to empty (builder use by the parser).
    pub(crate) fn clear(&mut self) {
        self.wire.clear();
    }

    /// Append one label (builder use by the parser); fails past 254 bytes so that the
    /// final root byte always fits.
    pub(crate) fn push_label(&mut self, label: &[u8]) -> Result<(), NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if self.wire.len() + 1 + label.len() + 1 > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        self.wire
            .push(label.len() as u8)
            .map_err(|_| NameError::TooLong)?;
        self.wire
            .extend_from_slice(label)
            .map_err(|_| NameError::TooLong)
    }

    /// Terminate with the root byte (builder use by the parser).
    pub(crate) fn finish(&mut self) -> Result<(), NameError> {
        self.wire.push(0).map_err(|_| NameError::TooLong)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.eq_ignore_case(other)
    }
}
impl Eq for Name {}

/// Iterator over the labels of a [`Name`].
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        if len == 0 {
            self.rest = &[];
            return None;
        }
        let label = tail.get(..usize::from(len))?;
        self.rest = tail.get(usize::from(len)..).unwrap_or(&[]);
        Some(label)
    }
}

/// Dotted text, no trailing dot; bytes that are not printable ASCII, and `.` or `\` inside a
/// label, are written as `\DDD` / `\.` / `\\` (the RFC 1035 §5.1 master-file escapes).
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{:03}", b)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Strict dotted-quad parsing: exactly four parts, each 1 to 3 decimal digits with a value
/// 0–255 and no leading zero (so `010` is not silently octal as in `inet_aton`), no sign, no
/// spaces, no trailing dot. Everything else is not a numeric address.
pub fn parse_dotted_quad(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut parts = s.as_bytes().split(|&c| c == b'.');
    for slot in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if p.len() > 1 && p.first() == Some(&b'0') {
            return None;
        }
        let v = p.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        *slot = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(out))
}

/// True if the text is made only of digits and dots: such a string is meant as an address
/// (a top-level label is never all-numeric, RFC 3696 §2), so when it is not a valid dotted
/// quad it is rejected instead of being sent to a server.
pub fn looks_numeric(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}
