//! Decode throughput: Graph page bytes → Arrow record batches with the exact schema.
//!
//!     cargo bench -p pstn-lake-fetch --bench decode [-- ROWS]
//!
//! Generates ROWS (default 200,000) beta `pstnCallLogRow` rows as 1,000-row pages with the
//! simulator (seed 42), then decodes every page on one thread and on every core, three times
//! each, and prints the median rows/s and MB/s. Nothing is timed inside a test.

use std::time::Instant;

use chrono::NaiveDate;
use pstn_lake_fetch::PageDecoder;
use pstn_lake_graph_sim::{ApiVersion, Function, Tenant, TenantConfig};

fn main() {
    let rows: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let days = rows.div_ceil(100_000).max(1);
    let first = NaiveDate::from_ymd_opt(2026, 8, 1).expect("valid");
    let tenant = Tenant::new(TenantConfig::new(42, first, days, rows / days));
    let mut pages: Vec<Vec<u8>> = Vec::new();
    tenant.write_pages(
        Function::Pstn,
        ApiVersion::Beta,
        first,
        tenant.config().last_day(),
        1000,
        |p| pages.push(p),
    );
    let bytes: usize = pages.iter().map(Vec::len).sum();
    let total_rows = decode_all(&pages[..], 1);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "decoding {total_rows} pstnCallLogRow rows ({:.0} MB of Graph beta pages, {} pages)",
        bytes as f64 / 1e6,
        pages.len()
    );
    println!("| threads | median (s) | rows/s | MB/s |");
    println!("|---:|---:|---:|---:|");
    for threads in [1, cores] {
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let started = Instant::now();
                let n = decode_all(&pages, threads);
                assert_eq!(n, total_rows);
                started.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let t = times[1];
        println!(
            "| {threads} | {t:.3} | {:.0} | {:.0} |",
            total_rows as f64 / t,
            bytes as f64 / 1e6 / t
        );
    }
}

/// Decodes every page on `threads` threads; returns the rows decoded.
fn decode_all(pages: &[Vec<u8>], threads: usize) -> usize {
    let decoder = PageDecoder::new();
    let chunk = pages.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = pages
            .chunks(chunk)
            .map(|part| {
                let decoder = &decoder;
                scope.spawn(move || {
                    part.iter()
                        .map(|p| decoder.decode(p).expect("valid page").rows)
                        .sum::<usize>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum()
    })
}
