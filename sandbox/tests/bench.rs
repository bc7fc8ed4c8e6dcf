//! Feed throughput and memory (ignored by default; run in an optimised build):
//! `cargo test --profile sandbox -p samsara-sandbox --test sandbox -- --ignored --nocapture`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::Sandbox;

/// One keep-alive GET; returns the body.
fn get(conn: &mut BufReader<TcpStream>, path: &str) -> Vec<u8> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer sandbox-token\r\n\r\n");
    conn.get_mut().write_all(req.as_bytes()).unwrap();
    let mut len = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    body
}

fn cursor(body: &[u8]) -> (String, bool) {
    let s = std::str::from_utf8(body).unwrap();
    let i = s.rfind("\"endCursor\":\"").unwrap() + 13;
    let j = s[i..].find('"').unwrap();
    (s[i..i + j].to_string(), s.ends_with("\"hasNextPage\":true}}"))
}

#[test]
#[ignore = "benchmark; run explicitly in an optimised build"]
fn feed_throughput() {
    let sb = Sandbox::start(&[
        "--vehicles",
        "1000",
        "--days",
        "1",
        "--start",
        "2026-11-02T14:00:00Z",
        "--rate-limits",
        "off",
    ]);
    let addr = sb.url.trim_start_matches("http://").to_string();
    let start_cursor = {
        let mut c = BufReader::new(TcpStream::connect(&addr).unwrap());
        cursor(&get(&mut c, "/fleet/vehicles/stats/feed?types=gps")).0
    };
    sb.advance(6 * 3600);
    for clients in [1, 2] {
        let rate = run_clients(&addr, &start_cursor, clients, Duration::from_secs(3));
        // The documented floor: 2,000 full pages/s on one connection (docs/sandbox.md).
        assert!(rate >= 2_000.0, "{rate:.0} pages/s on {clients} connection(s)");
    }
}

/// Walks the feed from `start_cursor` on `clients` keep-alive connections for `budget`; pages/s.
fn run_clients(addr: &str, start_cursor: &str, clients: usize, budget: Duration) -> f64 {
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, start_cursor) = (addr.to_string(), start_cursor.to_string());
            std::thread::spawn(move || {
                let mut c = BufReader::new(TcpStream::connect(&addr).unwrap());
                let (mut cur, mut pages, mut bytes) = (start_cursor.clone(), 0u64, 0u64);
                let t0 = Instant::now();
                while t0.elapsed() < budget {
                    let body = get(
                        &mut c,
                        &format!("/fleet/vehicles/stats/feed?types=gps&after={cur}"),
                    );
                    bytes += body.len() as u64;
                    pages += 1;
                    let (next, more) = cursor(&body);
                    cur = if more { next } else { start_cursor.clone() };
                }
                (pages, bytes, t0.elapsed().as_secs_f64())
            })
        })
        .collect();
    let (mut pages, mut bytes, mut secs) = (0, 0, 0.0f64);
    for h in handles {
        let (p, b, s) = h.join().unwrap();
        pages += p;
        bytes += b;
        secs = secs.max(s);
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = pages as f64 / secs;
    #[allow(clippy::print_stderr, clippy::cast_precision_loss)]
    {
        eprintln!("feed: {pages} pages of 512 gps points in {secs:.2}s over {clients} connection(s) = {rate:.0} pages/s, {:.0} MB/s", bytes as f64 / secs / 1e6);
    }
    rate
}

/// Resident set size of a process in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
#[ignore = "memory check; run explicitly in an optimised build"]
fn memory_stays_flat_over_a_day_of_gps() {
    let sb = Sandbox::start(&[
        "--vehicles",
        "1000",
        "--days",
        "1",
        "--start",
        "2026-11-02T00:00:00Z",
        "--rate-limits",
        "off",
    ]);
    let addr = sb.url.trim_start_matches("http://").to_string();
    let mut c = BufReader::new(TcpStream::connect(&addr).unwrap());
    let (mut cur, _) = cursor(&get(&mut c, "/fleet/vehicles/stats/feed?types=gps"));
    let before = rss_kib(sb.pid());
    let mut pages = 0u64;
    for _ in 0..24 {
        sb.advance(3600);
        loop {
            let body = get(
                &mut c,
                &format!("/fleet/vehicles/stats/feed?types=gps&after={cur}"),
            );
            pages += 1;
            let (next, more) = cursor(&body);
            cur = next;
            if !more {
                break;
            }
        }
    }
    let after = rss_kib(sb.pid());
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "memory: {pages} pages (a day of 5 s GPS for 1000 vehicles): RSS {before} KiB -> {after} KiB"
        );
    }
    assert!(pages > 3000);
    assert!(
        after < before + 32 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}
