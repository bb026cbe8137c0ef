//! Footprint: flash and static RAM of our driver and of smoltcp over MACRAW on a Cortex-M4F
//! (thumbv7em-none-eabihf, opt-level "s", LTO, panic = abort).
//!
//! The probes in `footprint/` (their own Cargo workspace) are tiny `no_std` binaries that
//! link a stack with every public entry point called on inputs read from a device register
//! (so nothing is optimised out) and all state in statics: `probe-base` (runtime and a
//! polled SPI device only), `probe-ours-core` (Chip + Stack + Bsd), `probe-ours` (plus
//! `w5500-iface`: DHCP client, DNS resolver, getaddrinfo) and `probe-smoltcp` (Interface,
//! TCP, UDP, DHCPv4 and DNS sockets, a MACRAW device). Flash = `.text` + `.rodata` (+ the
//! vector table and `.ARM.exidx`), static RAM = `.data` + `.bss`, each minus the baseline.
//! The ELF files are read here (section and symbol tables); `size_of` figures come from
//! `SIZEOF_*` symbols the probes place in a section outside the image.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Sizes of one linked probe.
#[derive(Clone, Debug, Default)]
pub struct Image {
    /// `.vector_table` + `.text`.
    pub text: u64,
    /// `.rodata` + `.ARM.exidx`.
    pub rodata: u64,
    /// `.data`.
    pub data: u64,
    /// `.bss`.
    pub bss: u64,
    /// `SIZEOF_*` symbols: (name without the prefix, bytes).
    pub sizes: Vec<(String, u64)>,
}

impl Image {
    /// Flash: code and constants (and the initial values of `.data`).
    pub fn flash(&self) -> u64 {
        self.text + self.rodata + self.data
    }
    /// Static RAM.
    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }
    /// A `size_of` figure.
    pub fn size(&self, name: &str) -> u64 {
        self.sizes
            .iter()
            .find(|(n, _)| n == name)
            .map(|s| s.1)
            .unwrap_or(0)
    }
}

/// All probes.
#[derive(Clone, Debug)]
pub struct Footprint {
    /// Runtime and SPI only.
    pub base: Image,
    /// Chip + Stack + Bsd.
    pub core: Image,
    /// Plus w5500-iface (DHCP, DNS).
    pub ours: Image,
    /// smoltcp over MACRAW.
    pub smol: Image,
}

/// Sockets in our stack (hardware sockets and BSD slots).
const OUR_SOCKETS: u64 = 8;
/// smoltcp socket buffers per direction in the probe (bytes).
const SMOL_BUF: u64 = 2048;
/// UDP packet metadata entries per direction in the probe.
const SMOL_UDP_META: u64 = 4;

fn u16le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn cstr(b: &[u8], at: usize) -> String {
    let s = b.get(at..).unwrap_or(&[]);
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// Read the section sizes and `SIZEOF_*` symbols of a 32-bit little-endian ELF file.
pub fn parse_elf(b: &[u8]) -> Result<Image, String> {
    if b.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 1, 1]) {
        return Err("not a 32-bit little-endian ELF file".into());
    }
    let bad = || "truncated ELF file".to_string();
    let shoff = u32le(b, 0x20).ok_or_else(bad)? as usize;
    let shentsize = u16le(b, 0x2E).ok_or_else(bad)? as usize;
    let shnum = u16le(b, 0x30).ok_or_else(bad)? as usize;
    let shstrndx = u16le(b, 0x32).ok_or_else(bad)? as usize;
    struct Sh {
        name: u64,
        ty: u64,
        offset: u64,
        size: u64,
        link: u64,
    }
    let mut shs = Vec::new();
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        shs.push(Sh {
            name: u32le(b, h).ok_or_else(bad)?,
            ty: u32le(b, h + 4).ok_or_else(bad)?,
            offset: u32le(b, h + 16).ok_or_else(bad)?,
            size: u32le(b, h + 20).ok_or_else(bad)?,
            link: u32le(b, h + 24).ok_or_else(bad)?,
        });
    }
    let strtab_off = shs.get(shstrndx).ok_or_else(bad)?.offset as usize;
    let names: Vec<String> = shs
        .iter()
        .map(|s| cstr(b, strtab_off + s.name as usize))
        .collect();
    let mut img = Image::default();
    let mut sizes_idx = None;
    for (i, (s, n)) in shs.iter().zip(&names).enumerate() {
        match n.as_str() {
            ".vector_table" | ".text" => img.text += s.size,
            ".rodata" | ".ARM.exidx" | ".ARM.extab" => img.rodata += s.size,
            ".data" => img.data += s.size,
            ".bss" => img.bss += s.size,
            ".sizes" => sizes_idx = Some(i as u64),
            _ => {}
        }
    }
    // Symbol table: SIZEOF_* symbols in `.sizes`.
    for s in shs.iter().filter(|s| s.ty == 2) {
        let str_off = shs.get(s.link as usize).ok_or_else(bad)?.offset as usize;
        for k in 0..(s.size / 16) as usize {
            let e = s.offset as usize + k * 16;
            let name = cstr(b, str_off + u32le(b, e).ok_or_else(bad)? as usize);
            let size = u32le(b, e + 8).ok_or_else(bad)?;
            let shndx = u16le(b, e + 14).ok_or_else(bad)?;
            if let Some(n) = name.strip_prefix("SIZEOF_") {
                if Some(shndx) == sizes_idx {
                    img.sizes.push((n.to_string(), size));
                }
            }
        }
    }
    img.sizes.sort();
    Ok(img)
}

/// Longest the probe build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(900);

/// Build the probes (their own workspace under `rust/w5500-bench/footprint`) and measure.
pub fn measure(rust_dir: &Path) -> Result<Footprint, String> {
    let dir = rust_dir.join("w5500-bench/footprint");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        // The probe workspace's own configuration decides target, flags and target dir.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo: {e}"))?;
    let t0 = Instant::now();
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() > BUILD_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the probe build took too long".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("cargo: {e}")),
        }
    };
    let err = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "the probe build failed (thumbv7em-none-eabihf installed?): {}",
            err.lines().take(5).collect::<Vec<_>>().join(" / ")
        ));
    }
    let out = rust_dir.join("target/footprint/thumbv7em-none-eabihf/release");
    let load = |name: &str| -> Result<Image, String> {
        let p = out.join(name);
        let b = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        parse_elf(&b).map_err(|e| format!("{name}: {e}"))
    };
    Ok(Footprint {
        base: load("probe-base")?,
        core: load("probe-ours-core")?,
        ours: load("probe-ours")?,
        smol: load("probe-smoltcp")?,
    })
}

/// Flash and RAM above the baseline.
fn net(i: &Image, base: &Image) -> (u64, u64) {
    (
        i.flash().saturating_sub(base.flash()),
        i.ram().saturating_sub(base.ram()),
    )
}

/// Our per-socket RAM: the `Stack` is the table of 8 hardware-socket entries and 8 BSD
/// slots (plus a few fixed fields, counted here too); the chip keeps the socket buffers.
fn ours_per_socket(f: &Footprint) -> u64 {
    f.ours
        .size("STACK")
        .saturating_sub(f.ours.size("CHIP"))
        .div_ceil(OUR_SOCKETS)
}

/// smoltcp's RAM per TCP and per UDP socket: the socket-set entry plus its buffers.
fn smol_per_socket(f: &Footprint) -> (u64, u64) {
    let st = f.smol.size("SOCKET_STORAGE");
    (
        st + 2 * SMOL_BUF,
        st + 2 * SMOL_BUF + 2 * SMOL_UDP_META * f.smol.size("UDP_META"),
    )
}

fn kb(b: u64) -> String {
    format!("{:.1} KB", b as f64 / 1024.0)
}

/// For a person.
pub fn print(f: &Footprint) {
    for (name, i) in [
        ("baseline", &f.base),
        ("ours (Chip+Stack+Bsd)", &f.core),
        ("ours (+ iface, DHCP, DNS)", &f.ours),
        ("smoltcp-macraw", &f.smol),
    ] {
        let (fl, ram) = net(i, &f.base);
        println!(
            "{name:<27} flash {:>7} B  static RAM {:>6} B  (above baseline: flash {fl} B, RAM {ram} B)",
            i.flash(),
            i.ram()
        );
    }
    let (tcp, udp) = smol_per_socket(f);
    println!(
        "per socket: ours {} B (Stack {} B / {OUR_SOCKETS}); smoltcp TCP {tcp} B, UDP {udp} B (2 KB buffers each way)",
        ours_per_socket(f),
        f.ours.size("STACK")
    );
}

/// The footprint section and its goal lines.
pub fn markdown(f: &Result<Footprint, String>) -> (String, Vec<String>) {
    let mut s = String::new();
    let _ = writeln!(s, "## Footprint (thumbv7em-none-eabihf, opt-level \"s\")\n");
    let f = match f {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(s, "Not measured in this run: {e}.\n");
            return (s, Vec::new());
        }
    };
    let _ = writeln!(s, "Probe binaries in `rust/w5500-bench/footprint/` (their own Cargo workspace; `cd rust/w5500-bench/footprint && cargo build --release`), linked for a Cortex-M4F with LTO, one codegen unit and `panic = \"abort\"`. Each calls every public entry point of its stack on inputs read from a device register (so nothing is optimised away) and keeps all state in statics; the SPI device is a polled data register. *baseline*: runtime and SPI device only. *ours (core)*: `Chip` + `Stack` + `Bsd` with a trivial `Os`. *ours (full)*: plus `w5500-iface` (`Iface`: link, DHCP client with address probe, DNS resolver with an 8-entry cache, `getaddrinfo`). *smoltcp-macraw*: smoltcp 0.14 (`medium-ethernet`, `proto-ipv4`, TCP, UDP, DHCPv4, DNS sockets; no alloc) with one socket of each kind, 2 KB buffers each way for TCP and UDP (the chip's default per-socket plan, which the host must hold with MACRAW), and a MACRAW device (socket 0, 1514-byte RX and TX frame buffers). Flash = `.text` + `.rodata` + `.data` initialisers (+ vector table, `.ARM.exidx`); static RAM = `.data` + `.bss`; *driver* columns are above the baseline. Stack (call) depth is not included.\n");
    let _ = writeln!(
        s,
        "| probe | flash B | static RAM B | driver flash | driver static RAM |\n|---|---:|---:|---:|---:|"
    );
    for (name, i) in [
        ("baseline", &f.base),
        ("ours (core: Chip + Stack + Bsd)", &f.core),
        ("ours (full: + Iface, DHCP, DNS)", &f.ours),
        ("smoltcp-macraw (TCP+UDP+DHCP+DNS)", &f.smol),
    ] {
        let (fl, ram) = net(i, &f.base);
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {fl} B ({}) | {ram} B ({}) |",
            i.flash(),
            i.ram(),
            kb(fl),
            kb(ram)
        );
    }
    let per = ours_per_socket(f);
    let (tcp, udp) = smol_per_socket(f);
    let _ = writeln!(s);
    let _ = writeln!(s, "RAM by part (`size_of` on the target):\n");
    let _ = writeln!(s, "| part | bytes |\n|---|---:|");
    for (n, v) in [
        (
            "ours: `Stack` (8 hardware-socket entries + 8 BSD slots)",
            f.ours.size("STACK"),
        ),
        (
            "ours: `Iface` (all of the full probe's state)",
            f.ours.size("IFACE"),
        ),
        ("ours: of which `dhcp::Client`", f.ours.size("DHCP")),
        (
            "ours: of which `dns::Resolver<8>` (8-entry cache)",
            f.ours.size("RESOLVER"),
        ),
        ("smoltcp: `Interface`", f.smol.size("INTERFACE")),
        (
            "smoltcp: `SocketStorage` (one socket-set entry)",
            f.smol.size("SOCKET_STORAGE"),
        ),
        ("smoltcp: `tcp::Socket`", f.smol.size("TCP_SOCKET")),
        ("smoltcp: `udp::Socket`", f.smol.size("UDP_SOCKET")),
        ("smoltcp: `dhcpv4::Socket`", f.smol.size("DHCP_SOCKET")),
        ("smoltcp: `dns::Socket`", f.smol.size("DNS_SOCKET")),
        (
            "smoltcp: MACRAW device (frame buffers)",
            f.smol.size("MACRAW"),
        ),
    ] {
        let _ = writeln!(s, "| {n} | {v} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Per-socket RAM: ours {per} B (`Stack` / {OUR_SOCKETS}: one hardware-socket entry and one BSD slot, the stack's few fixed fields spread over them; the socket buffers are in the chip); smoltcp {tcp} B per TCP socket and {udp} B per UDP socket (socket-set entry + 2 KB buffers each way, + packet metadata for UDP).\n");
    let mut goals = Vec::new();
    let (fl, ram) = net(&f.ours, &f.base);
    let (cfl, cram) = net(&f.core, &f.base);
    goals.push(format!(
        "Driver flash ≤24 KB (full feature set: Chip, Stack, Bsd, Iface with DHCP and DNS; thumbv7em, opt-level \"s\"): {} ({}; core Chip+Stack+Bsd alone {}; smoltcp-macraw with TCP+UDP+DHCP+DNS {})",
        met(fl <= 24 * 1024),
        kb(fl),
        kb(cfl),
        kb(net(&f.smol, &f.base).0)
    ));
    let fixed = ram.saturating_sub(OUR_SOCKETS * per);
    let cfixed = cram.saturating_sub(OUR_SOCKETS * per);
    goals.push(format!(
        "Static RAM ≤2 KB + 128 B per socket: {} ({per} B per socket; fixed {fixed} B for the full feature set, of which the DNS resolver {} B, the DHCP client {} B, other `Iface` state (datagram buffer, event queue, configuration) {} B; core Chip+Stack+Bsd: fixed {cfixed} B, {})",
        met(per <= 128 && fixed <= 2048),
        f.ours.size("RESOLVER"),
        f.ours.size("DHCP"),
        f.ours
            .size("IFACE")
            .saturating_sub(f.ours.size("RESOLVER") + f.ours.size("DHCP") + f.ours.size("STACK")),
        if per <= 128 && cfixed <= 2048 { "met" } else { "not met" }
    ));
    (s, goals)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ELF reader rejects what is not a 32-bit little-endian ELF file (ELF spec, e_ident).
    #[test]
    fn elf_reader_rejects_other_files() {
        assert!(parse_elf(b"not an elf").is_err());
        assert!(parse_elf(&[0x7f, b'E', b'L', b'F', 2, 1, 0, 0]).is_err());
        // A header that points past its end is an error, not a panic.
        let mut h = vec![0u8; 0x34];
        h[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1]);
        h[0x20] = 0xff;
        h[0x2E] = 40;
        h[0x30] = 3;
        assert!(parse_elf(&h).is_err());
    }
}
