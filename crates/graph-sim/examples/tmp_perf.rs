use pstn_lake_graph_sim::*;
fn main() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let t = Tenant::new(TenantConfig::new(42, day, 10, 100_000));
    for (f, v) in [(Function::Pstn, ApiVersion::V1), (Function::Pstn, ApiVersion::Beta), (Function::DirectRouting, ApiVersion::Beta)] {
        let start = std::time::Instant::now();
        let mut bytes = 0usize; let mut pages = 0;
        t.write_pages(f, v, day, day + chrono::Duration::days(9), 1000, |p| { bytes += p.len(); pages += 1; });
        let el = start.elapsed();
        println!("{f:?} {v:?}: {pages} pages, {} MB, {:.0} B/row, {:?}", bytes / 1_000_000, bytes as f64 / 1e6, el);
        let start = std::time::Instant::now();
        let e = t.expected(f, day, day + chrono::Duration::days(9));
        println!("  expected {} rows in {:?}", e.len(), start.elapsed());
    }
    let s = String::from_utf8(t.rows_json(Function::Pstn, ApiVersion::Beta, day)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    println!("{}", serde_json::to_string_pretty(&v[1]).unwrap());
    println!("{}", serde_json::to_string_pretty(&v[5]).unwrap());
    let s = String::from_utf8(t.rows_json(Function::DirectRouting, ApiVersion::Beta, day)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    println!("{}", serde_json::to_string_pretty(&v[0]).unwrap());
    let failed = v.as_array().unwrap().iter().find(|r| r["startDateTime"].is_null()).unwrap();
    println!("{}", serde_json::to_string_pretty(failed).unwrap());
}
