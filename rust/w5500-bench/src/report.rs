//! The person's table, docs/BENCHMARKS.md and the SVG plot.

use std::fmt::Write as _;

use crate::env::Buffers;
use crate::model::{self, CLOCKS_MHZ};
use crate::work::{Driver, Row, Run, Work};

fn pct(a: u64, b: u64) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

/// SPI bytes beyond payload, in % of payload.
pub fn overhead(run: &Run) -> f64 {
    100.0 * (run.spi.bytes() as f64 - run.payload as f64) / run.payload.max(1) as f64
}

/// Lowest ratio of modeled throughput to the payload-only bound over the clocks.
pub fn worst_efficiency(r: &Row, run: &Run) -> f64 {
    CLOCKS_MHZ
        .iter()
        .map(|&f| model::throughput(run, f) / model::payload_bound(&r.work, f))
        .fold(f64::INFINITY, f64::min)
}

/// The table for a person.
pub fn print_row(r: &Row) {
    match &r.run {
        Ok(run) if r.work.is_service() => println!(
            "{:<15} {:<16} {:>2}K {:>7} B/op {:>8.2} txn/{:<10} poll {:>6} txn  {:.1} ms simulated",
            r.driver.name(),
            r.work.name(),
            r.buffers.kb(),
            run.spi.bytes() / run.ops.max(1),
            run.spi.txns() as f64 / run.ops.max(1) as f64,
            r.work.op_name(),
            run.spi.poll.txns,
            run.sim_us as f64 / 1000.0 / run.ops.max(1) as f64,
        ),
        Ok(run) => println!(
            "{:<15} {:<16} {:>2}K {:>8.2}% {:>8.2} txn/{:<10} poll {:>6} txn  {}",
            r.driver.name(),
            r.work.name(),
            r.buffers.kb(),
            overhead(run),
            run.spi.txns() as f64 / run.ops.max(1) as f64,
            r.work.op_name(),
            run.spi.poll.txns,
            CLOCKS_MHZ
                .iter()
                .map(|&f| format!("{:>5.1}", model::throughput(run, f)))
                .collect::<Vec<_>>()
                .join(" ")
                + " Mbit/s"
        ),
        Err(e) => println!(
            "{:<15} {:<16} {:>2}K FAILED: {e}",
            r.driver.name(),
            r.work.name(),
            r.buffers.kb()
        ),
    }
}

fn find<'a>(rows: &'a [Row], d: Driver, w: &Work, b: Buffers) -> Option<&'a Run> {
    rows.iter()
        .find(|r| r.driver == d && r.work == *w && r.buffers == b)
        .and_then(|r| r.run.as_ref().ok())
}

/// Everything the markdown needs besides the rows.
pub struct Extra {
    /// `uname -a`.
    pub uname: String,
    /// CPU model.
    pub cpu: String,
    /// Commit.
    pub commit: String,
    /// Quick run?
    pub quick: bool,
    /// w5500-hl on the datasheet-faithful model: (workload, buffers, outcome).
    pub hl_strict: Vec<(String, usize, String)>,
    /// CPU section (markdown), if measured.
    pub cpu_md: Option<String>,
    /// Footprint section (markdown), if measured.
    pub footprint_md: Option<String>,
    /// Goal lines contributed by the footprint measurement.
    pub footprint_goals: Vec<String>,
}

fn met(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

/// The goal lines.
pub fn goals(rows: &[Row], works: &[Work]) -> Vec<String> {
    let mut g = Vec::new();
    for (b, limit) in [(Buffers::K16, 1.0), (Buffers::K2, 2.0)] {
        let worst = works
            .iter()
            .filter(|w| w.is_bulk())
            .filter_map(|w| find(rows, Driver::Ours, w, b).map(|r| (w.name(), overhead(r))))
            .fold(None::<(String, f64)>, |acc, x| match acc {
                Some(a) if a.1 >= x.1 => Some(a),
                _ => Some(x),
            });
        if let Some((name, o)) = worst {
            g.push(format!(
                "Bulk TCP, {} KB buffers: ≤{limit}% SPI bytes beyond payload: {} (worst {o:.2}%, {name})",
                b.kb(),
                met(o <= limit)
            ));
        }
    }
    if let Some(w) = works.iter().find(|w| matches!(w, Work::Echo { .. })) {
        let v: Vec<f64> = [Buffers::K2, Buffers::K16]
            .iter()
            .filter_map(|b| find(rows, Driver::Ours, w, *b))
            .map(|r| r.spi.txns() as f64 / r.ops.max(1) as f64)
            .collect();
        let worst = v.iter().cloned().fold(0.0, f64::max);
        g.push(format!(
            "64-byte request/response ≤12 SPI transactions (INTn wired): {} ({worst:.2} per round trip)",
            met(worst <= 12.0)
        ));
    }
    let mut worst_eff = (f64::INFINITY, String::new());
    for w in works.iter().filter(|w| w.is_bulk()) {
        for b in [Buffers::K2, Buffers::K16] {
            if let Some(run) = find(rows, Driver::Ours, w, b) {
                let row = Row {
                    driver: Driver::Ours,
                    work: *w,
                    buffers: b,
                    run: Ok(*run),
                };
                let e = worst_efficiency(&row, run);
                if e < worst_eff.0 {
                    worst_eff = (e, format!("{} {} KB", w.name(), b.kb()));
                }
            }
        }
    }
    g.push(format!(
        "Bulk TCP modeled throughput ≥95% of the payload-only bound at every clock (10–80 MHz, {} µs CS): {} (worst {:.1}%, {})",
        model::CS_US,
        met(worst_eff.0 >= 0.95),
        100.0 * worst_eff.0,
        worst_eff.1
    ));
    let mut losses = Vec::new();
    let mut compared = 0;
    for w in works {
        for b in [Buffers::K2, Buffers::K16] {
            if let (Some(o), Some(h)) =
                (find(rows, Driver::Ours, w, b), find(rows, Driver::Hl, w, b))
            {
                compared += 1;
                if o.spi.bytes() >= h.spi.bytes() || o.spi.txns() >= h.spi.txns() {
                    losses.push(format!(
                        "{} {}K ({:.0}% bytes, {:.0}% txns of hl's)",
                        w.name(),
                        b.kb(),
                        pct(o.spi.bytes(), h.spi.bytes()),
                        pct(o.spi.txns(), h.spi.txns())
                    ));
                }
            }
        }
    }
    g.push(format!(
        "Fewer SPI bytes and transactions than w5500-hl on every workload: {} ({} of {compared} comparisons lost{}{})",
        met(losses.is_empty() && compared > 0),
        losses.len(),
        if losses.is_empty() { "" } else { ": " },
        losses.join("; ")
    ));
    let mut ratios = Vec::new();
    for w in works.iter().filter(|w| w.is_bulk()) {
        for b in [Buffers::K2, Buffers::K16] {
            if let (Some(o), Some(s)) = (
                find(rows, Driver::Ours, w, b),
                find(rows, Driver::Smoltcp, w, b),
            ) {
                ratios.push((
                    s.spi.bytes() as f64 / o.spi.bytes().max(1) as f64,
                    s.spi.txns() as f64 / o.spi.txns().max(1) as f64,
                    format!("{} {}K", w.name(), b.kb()),
                ));
            }
        }
    }
    if let Some(min_b) = ratios.iter().min_by(|a, b| a.0.total_cmp(&b.0)) {
        let min_t = ratios
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|r| r.1)
            .unwrap_or(0.0);
        g.push(format!(
            "≥2x fewer SPI bytes than smoltcp over MACRAW on bulk TCP: {} (smoltcp clocks {:.2}x our bytes at worst, {}; transactions: {:.1}x at worst)",
            met(min_b.0 >= 2.0),
            min_b.0,
            min_b.2,
            min_t
        ));
    }
    g
}

/// The markdown document.
pub fn markdown(rows: &[Row], works: &[Work], x: &Extra) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Generated by `scripts/bench` (`cargo run --release -p w5500-bench{}`); do not edit by hand.\n",
        if x.quick { " -- --quick" } else { "" }
    );
    let _ = writeln!(s, "- Commit: `{}`", x.commit);
    let _ = writeln!(s, "- Machine: `{}`", x.uname);
    let _ = writeln!(s, "- CPU: {}", x.cpu);
    let _ = writeln!(
        s,
        "- Run: {}\n",
        if x.quick {
            "**quick** (reduced sizes, for CI)"
        } else {
            "full"
        }
    );
    let _ = writeln!(s, "## Goals\n");
    for l in goals(rows, works).iter().chain(x.footprint_goals.iter()) {
        let _ = writeln!(s, "- {l}");
    }
    let _ = writeln!(s, "\n{}\n", include_str!("../METHOD.md"));
    let _ = writeln!(s, "{}\n", include_str!("../BASELINE.md"));
    let _ = writeln!(s, "{}\n", include_str!("../ANALYSIS.md"));
    let _ = writeln!(s, "{}\n", include_str!("../WHOLE-IMAGE.md"));
    let _ = writeln!(s, "{}\n", include_str!("../NOTDONE.md"));
    let _ = writeln!(s, "## SPI efficiency and modeled throughput\n");
    let _ = writeln!(
        s,
        "![modeled throughput against SPI clock](bench-throughput.svg)\n"
    );
    let _ = writeln!(
        s,
        "Columns: payload (application bytes, both directions, verified); SPI bytes beyond payload (% of payload); transactions per operation; the split of SPI bytes and transactions into registers / buffers / polling; modeled payload throughput at 10, 20, 40, 80 MHz (Mbit/s) with, in brackets, its share of the payload-only bound (SPI clock, capped by 100 Mbit/s Ethernet: {:.1} Mbit/s for full TCP segments).\n",
        model::ethernet_bound(&Work::TcpRecv(1))
    );
    for w in works.iter().filter(|w| !w.is_service()) {
        let _ = writeln!(s, "### {} ({} per operation)\n", w.name(), w.op_name());
        let _ = writeln!(
            s,
            "| driver | buf | payload B | SPI B | beyond payload | txn/op | regs B/txn | bufs B/txn | poll B/txn | 10 MHz | 20 MHz | 40 MHz | 80 MHz |"
        );
        let _ = writeln!(
            s,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for b in [Buffers::K2, Buffers::K16] {
            for d in Driver::ALL {
                let Some(r) = rows
                    .iter()
                    .find(|r| r.driver == d && r.work == *w && r.buffers == b)
                else {
                    continue;
                };
                match &r.run {
                    Ok(run) => {
                        let tp: Vec<String> = CLOCKS_MHZ
                            .iter()
                            .map(|&f| {
                                let t = model::throughput(run, f);
                                format!("{t:.1} ({:.0}%)", 100.0 * t / model::payload_bound(w, f))
                            })
                            .collect();
                        let _ = writeln!(
                            s,
                            "| {} | {}K | {} | {} | {:.2}% | {:.2} | {}/{} | {}/{} | {}/{} | {} |",
                            d.name(),
                            b.kb(),
                            run.payload,
                            run.spi.bytes(),
                            overhead(run),
                            run.spi.txns() as f64 / run.ops.max(1) as f64,
                            run.spi.regs.bytes,
                            run.spi.regs.txns,
                            run.spi.bufs.bytes,
                            run.spi.bufs.txns,
                            run.spi.poll.bytes,
                            run.spi.poll.txns,
                            tp.join(" | ")
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(
                            s,
                            "| {} | {}K | failed: {} | | | | | | | | | | |",
                            d.name(),
                            b.kb(),
                            e.replace('|', "/")
                        );
                    }
                }
            }
        }
        let _ = writeln!(s);
    }
    service_tables(&mut s, rows, works);
    if !x.hl_strict.is_empty() {
        let _ = writeln!(s, "## w5500-hl on the datasheet-faithful chip model\n");
        let _ = writeln!(s, "The w5500-hl figures above are taken with the simulator's torn 16-bit reads off and commands accepted at once, because w5500-hl reads `Sn_TX_FSR`/`Sn_RX_RSR` once (datasheet §3.2 asks for a repeated read until two agree) and never waits for `Sn_CR` to clear. On the faithful model (the one our driver and smoltcp run on) it gives:\n");
        let _ = writeln!(s, "| workload | buf | outcome |\n|---|---|---|");
        for (w, b, o) in &x.hl_strict {
            let _ = writeln!(s, "| {w} | {b}K | {} |", o.replace('|', "/"));
        }
        let _ = writeln!(s);
    }
    if let Some(c) = &x.cpu_md {
        let _ = writeln!(s, "{c}");
    }
    if let Some(f) = &x.footprint_md {
        let _ = writeln!(s, "{f}");
    }
    s
}

/// DHCP lease and DNS lookup: SPI traffic per exchange (no payload, no throughput model).
fn service_tables(s: &mut String, rows: &[Row], works: &[Work]) {
    let services: Vec<&Work> = works.iter().filter(|w| w.is_service()).collect();
    if services.is_empty() {
        return;
    }
    let _ = writeln!(s, "## DHCP lease and DNS lookup\n");
    let _ = writeln!(s, "Against the standard LAN's servers (DHCP on the gateway, 10.77.0.1; DNS A query for `http.sim.lan` to the gateway), 2 KB socket buffers, measured from the first call to the client until it has the lease / the answer (socket open and close included; the chip was brought up without measuring). *ours* = `w5500-iface`'s `Iface` (sans-IO DHCP client and resolver of `w5500-netsvc` on `Bsd`), with its shipping defaults: it follows the link (`PHYCFGR`) and, before it uses an offered address, probes it with ARP (RFC 2131 §4.4.1: three ARP requests 200 ms apart, a one-byte UDP datagram from a service socket while SIPR is 0.0.0.0), which w5500-dhcp and smoltcp do not do. *w5500-hl* = w5500-dhcp 0.7 (`process` on INTn or its timer) and w5500-dns 0.5. *smoltcp-macraw* = smoltcp's DHCPv4 and DNS sockets over the MACRAW port (smoltcp also resolves the server's MAC with ARP itself, through SPI).\n");
    let _ = writeln!(
        s,
        "| workload | driver | SPI B/op | txn/op | regs B/txn | bufs B/txn | poll B/txn | simulated ms |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for w in services {
        for d in Driver::ALL {
            for r in rows.iter().filter(|r| r.driver == d && r.work == *w) {
                match &r.run {
                    Ok(run) => {
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} | {} | {}/{} | {}/{} | {}/{} | {:.1} |",
                            w.name(),
                            d.name(),
                            run.spi.bytes() / run.ops.max(1),
                            run.spi.txns() / run.ops.max(1),
                            run.spi.regs.bytes,
                            run.spi.regs.txns,
                            run.spi.bufs.bytes,
                            run.spi.bufs.txns,
                            run.spi.poll.bytes,
                            run.spi.poll.txns,
                            run.sim_us as f64 / 1000.0
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(
                            s,
                            "| {} | {} | failed: {} | | | | | |",
                            w.name(),
                            d.name(),
                            e.replace('|', "/")
                        );
                    }
                }
            }
        }
    }
    let _ = writeln!(s);
}

/// The SVG: modeled throughput of bulk TCP receive against SPI clock, per driver and
/// buffer plan, with the payload-only bound.
/// One plotted line: label, colour, dash pattern, points.
type Series<'a> = (String, String, &'a str, Vec<(f64, f64)>);

pub fn svg(rows: &[Row], work: &Work) -> String {
    let (w, h) = (760.0, 460.0);
    let (x0, y0, x1, y1) = (70.0, 30.0, 540.0, 400.0);
    let xmax = 80.0;
    let ymax = 90.0;
    let px = |mhz: f64| x0 + (x1 - x0) * mhz / xmax;
    let py = |mbit: f64| y1 - (y1 - y0) * mbit / ymax;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" font-size="14">Modeled payload throughput, {} ({} µs per transaction)</text>"#,
        x0,
        work.name(),
        model::CS_US
    );
    for t in [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0] {
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{t}</text>"##,
            x0 - 6.0,
            py(t) + 4.0,
            y = py(t)
        );
    }
    for f in [0.0, 10.0, 20.0, 40.0, 80.0] {
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#eee"/><text x="{x}" y="{}" text-anchor="middle">{f}</text>"##,
            y1 + 16.0,
            x = px(f)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">SPI clock (MHz)</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">Mbit/s</text>"#,
        (x0 + x1) / 2.0,
        y1 + 34.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        x1 - x0,
        y1 - y0
    );
    let mut series: Vec<Series> = vec![(
        "payload-only bound".into(),
        "#000".into(),
        "4 3",
        (1..=80)
            .map(|f| (f as f64, model::payload_bound(work, f as f64)))
            .collect(),
    )];
    let colors = [
        ("#1f77b4", Driver::Ours),
        ("#d62728", Driver::Hl),
        ("#2ca02c", Driver::Smoltcp),
    ];
    for (c, d) in colors {
        for (b, dash) in [(Buffers::K16, ""), (Buffers::K2, "6 3")] {
            if let Some(run) = find(rows, d, work, b) {
                series.push((
                    format!("{} {}K", d.name(), b.kb()),
                    c.to_string(),
                    dash,
                    (1..=80)
                        .map(|f| (f as f64, model::throughput(run, f as f64)))
                        .collect(),
                ));
            }
        }
    }
    for (i, (name, color, dash, pts)) in series.iter().enumerate() {
        let d: Vec<String> = pts
            .iter()
            .map(|(f, t)| format!("{:.1},{:.1}", px(*f), py(t.min(ymax))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
            d.join(" ")
        );
        let ly = y0 + 10.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="555" y1="{ly}" x2="590" y2="{ly}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="596" y="{}">{name}</text>"#,
            ly + 4.0
        );
        for &f in CLOCKS_MHZ.iter() {
            if let Some((_, t)) = pts.iter().find(|(x, _)| *x == f) {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"#,
                    px(f),
                    py(t.min(ymax))
                );
            }
        }
    }
    let _ = writeln!(s, "</svg>");
    s
}
