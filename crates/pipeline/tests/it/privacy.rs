//! Pseudonymisation at landing against the Graph simulator: a lake synced with
//! `caller_number`, `callee_number`, `user_principal_name` (and `office_location`, a column that
//! keeps its Parquet statistics) pseudonymised holds none of the values the simulator served —
//! checked by scanning every file's bytes, the Parquet pages decompressed — while the same value
//! gets the same token in every table and run, phone numbers keep their country calling code,
//! and the refusals (no key, another key, another setting, a lake holding rows, `keep_raw`) stop
//! a run before it fetches anything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use pstn_lake_graph_sim::{ApiVersion, Function, RunningSim, Tenant};
use pstn_lake_pipeline::{
    Days, Error, IngestOptions, Input, Lake, NoProgress, Privacy, PrivacyKeys, Pseudonymiser,
    SyncOptions, Table, ingest, table_spec,
};
use pstn_lake_sink::{CALLING_CODES, PrivacySetting, TOKEN_PREFIX, read_day};
use serde_json::Value;

use crate::beta_logs::sync_sim;
use crate::helpers::*;

const FIRST: &str = "2026-06-01";
const DAYS: u32 = 4;
const VAR: &str = "PSTN_LAKE_TEST_PSEUDONYM_KEY";
const KEY: &str = "a test key, long enough: 5f1c0e7b9a";
const COLUMNS: [&str; 4] = [
    "caller_number",
    "callee_number",
    "user_principal_name",
    "office_location",
];
/// The number the simulator serves, as a JSON number, in row 2 of every Direct Routing page.
const BAD_NUMBER: &str = "442079460999";

fn privacy() -> Privacy {
    Privacy::new(COLUMNS, VAR).unwrap()
}

fn keys() -> PrivacyKeys {
    PrivacyKeys::given([(VAR, KEY)])
}

/// What the test computes the expected tokens with (the HMAC itself is checked against RFC 4231
/// and Python's hmac in the sink's unit tests).
fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(PrivacySetting::new(COLUMNS, VAR), KEY.as_bytes())
}

fn sim_config() -> pstn_lake_graph_sim::SimConfig {
    config(FIRST, DAYS, 60)
        // A charge too large for the lake: the row is quarantined as served.
        .with_bad_value(Function::Pstn, 3, "charge", Some("1e9223372036854775807"))
        // A pseudonymised property of the wrong type: quarantined, its message quoting it.
        .with_bad_value(Function::DirectRouting, 2, "callerNumber", Some(BAD_NUMBER))
}

fn days(from: NaiveDate, to: NaiveDate, tables: &[Table]) -> Days {
    Days::default()
        .with_tables(tables.iter().copied())
        .with_from(Some(from))
        .with_to(Some(to))
}

const TABLES: [Table; 3] = [Table::PstnCalls, Table::DirectRoutingCalls, Table::Users];

/// A sync of `from..=to` (and the directory as of `to`), as of the day after `to`.
async fn sync_days(
    sim: &RunningSim,
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    options: SyncOptions,
) -> pstn_lake_pipeline::Result<pstn_lake_pipeline::SyncReport> {
    sim.set_directory_day(to);
    let options = options
        .with_days(days(from, to, &TABLES))
        .with_today(to.succ_opt().unwrap());
    sync_sim(sim, lake, &options, &NoProgress).await
}

fn private() -> SyncOptions {
    SyncOptions::default()
        .with_privacy(Some(privacy()))
        .with_privacy_keys(keys())
}

/// The values of `column` the simulator serves, by row id (rows naming none are left out).
type Served = BTreeMap<(Table, &'static str), BTreeMap<String, String>>;

/// What the simulator served for the call tables' days `from..=to` and its directory on `to`.
fn served(tenant: &Tenant, from: NaiveDate, to: NaiveDate, out: &mut Served) {
    for (table, function) in [
        (Table::PstnCalls, Function::Pstn),
        (Table::DirectRoutingCalls, Function::DirectRouting),
    ] {
        for d in from.iter_days().take_while(|d| *d <= to) {
            let rows: Value =
                serde_json::from_slice(&tenant.rows(function, ApiVersion::V1, d)).unwrap();
            for row in rows.as_array().unwrap() {
                let id = row["id"].as_str().unwrap().to_owned();
                for (property, column) in [
                    ("callerNumber", "caller_number"),
                    ("calleeNumber", "callee_number"),
                    ("userPrincipalName", "user_principal_name"),
                ] {
                    if let Some(v) = row[property].as_str() {
                        let values = out.entry((table, column)).or_default();
                        values.insert(id.clone(), v.to_owned());
                    }
                }
            }
        }
    }
    for user in tenant.directory(to) {
        let values = out
            .entry((Table::Users, "user_principal_name"))
            .or_default();
        values.insert(user.id.clone(), user.user_principal_name.clone());
        if let Some(office) = user.office_location {
            let values = out.entry((Table::Users, "office_location")).or_default();
            values.insert(user.id.clone(), office);
        }
    }
}

/// The values of `column` the lake holds, by row id, over every day of `table`.
async fn landed(lake: &Lake, table: Table, column: &str) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for d in lake.days(table.name()).await.unwrap() {
        for batch in read_day(lake, &table_spec(table), d).await.unwrap() {
            let ids = batch.column_by_name("id").unwrap();
            let ids = arrow::array::AsArray::as_string::<i32>(ids.as_ref());
            let values = batch.column_by_name(column).unwrap();
            let values = arrow::array::AsArray::as_string::<i32>(values.as_ref());
            for (id, value) in ids.iter().zip(values.iter()) {
                out.insert(id.unwrap().to_owned(), value.map(str::to_owned));
            }
        }
    }
    out
}

/// Byte strings looked for in every file of a lake.
struct Needles {
    /// By their first 4 bytes.
    by_prefix: HashMap<[u8; 4], Vec<Vec<u8>>>,
    count: usize,
}

impl Needles {
    /// Values of at least 8 bytes: a shorter one (a short code such as `112`, 7 digits of a
    /// local number) can occur by chance in any binary file, ids and tokens (those are checked
    /// value by value instead).
    fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Needles {
        let mut by_prefix: HashMap<[u8; 4], Vec<Vec<u8>>> = HashMap::new();
        let set: BTreeSet<&str> = values.into_iter().filter(|v| v.len() >= 8).collect();
        for v in &set {
            let b = v.as_bytes();
            by_prefix
                .entry([b[0], b[1], b[2], b[3]])
                .or_default()
                .push(b.to_vec());
        }
        Needles {
            by_prefix,
            count: set.len(),
        }
    }

    /// The needles `hay` holds.
    fn found_in(&self, hay: &[u8], out: &mut BTreeSet<String>) {
        for i in 0..hay.len().saturating_sub(3) {
            let Some(needles) = self
                .by_prefix
                .get(&[hay[i], hay[i + 1], hay[i + 2], hay[i + 3]])
            else {
                continue;
            };
            for n in needles {
                if hay[i..].starts_with(n) {
                    out.insert(String::from_utf8_lossy(n).into_owned());
                }
            }
        }
    }
}

/// Every file under `dir`.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The needles found in the lake's files: their bytes, and for Parquet files (data files,
/// Delta checkpoints) every page decompressed too (data pages are zstd-compressed, so the
/// bytes alone would hide a value). Also returns how many files and pages were read.
fn scan(lake: &Path, needles: &Needles) -> (BTreeSet<String>, usize, usize) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut all = Vec::new();
    files(lake, &mut all);
    let (mut found, mut pages) = (BTreeSet::new(), 0);
    for file in &all {
        let bytes = std::fs::read(file).unwrap();
        needles.found_in(&bytes, &mut found);
        if file.extension().is_some_and(|e| e == "parquet") {
            let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
            for g in 0..reader.metadata().num_row_groups() {
                let group = reader.get_row_group(g).unwrap();
                for c in 0..group.num_columns() {
                    for page in group.get_column_page_reader(c).unwrap() {
                        needles.found_in(page.unwrap().buffer(), &mut found);
                        pages += 1;
                    }
                }
            }
        }
    }
    (found, all.len(), pages)
}

/// Asserts `token` is what the lake's key gives `original` in `column`, and that a phone number
/// kept its calling code; returns the code kept, if any.
fn assert_token(p: &Pseudonymiser, column: &str, original: &str, token: &str) -> Option<String> {
    if original.is_empty() {
        assert_eq!(token, "", "{column}: the empty string stays empty");
        return None;
    }
    let phone = column.ends_with("_number");
    let want = if phone {
        p.phone_token(original)
    } else {
        p.token(original)
    };
    assert_eq!(token, want, "{column} {original}");
    let (code, rest) = match token.split_once('_') {
        Some((code, _)) if code.starts_with('+') => (Some(code), &token[code.len() + 1..]),
        _ => (None, token),
    };
    let hex = rest.strip_prefix(TOKEN_PREFIX).unwrap();
    assert!(
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    if let Some(code) = code {
        assert!(phone && original.starts_with(code), "{original} {token}");
        assert!(CALLING_CODES.contains(&&code[1..]), "{code}");
    }
    code.map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pseudonymised_lake_holds_no_served_value_and_keeps_grouping_and_calling_codes() {
    let sim = start(sim_config()).await;
    let (dir, lake) = lake();
    let tenant = sim.tenant();
    let (first, last) = (
        day(FIRST),
        day(FIRST) + chrono::Days::new(u64::from(DAYS) - 1),
    );
    let middle = first + chrono::Days::new(1);

    // Two syncs: the first two days, then the last two (with the lake's setting, unasked).
    let started = std::time::Instant::now();
    let report = sync_days(&sim, &lake, first, middle, private())
        .await
        .unwrap();
    assert!(report.rows[&Table::PstnCalls] > 50, "{report}");
    assert!(!report.quarantined.is_empty(), "{report}");
    let unasked = SyncOptions::default().with_privacy_keys(keys());
    sync_days(&sim, &lake, middle.succ_opt().unwrap(), last, unasked)
        .await
        .unwrap();
    let sync_time = started.elapsed();

    let mut want = Served::new();
    served(tenant, first, middle, &mut want);
    let early = want.clone();
    served(tenant, middle.succ_opt().unwrap(), last, &mut want);

    // Every value the lake holds is the token of the value served, in every table, and the same
    // value has the same token everywhere: (column kind, original) -> token is one-to-one.
    let p = pseudonymiser();
    let mut tokens: HashMap<(bool, String), String> = HashMap::new();
    let mut originals: HashMap<String, String> = HashMap::new();
    let mut tables_of: HashMap<String, BTreeSet<Table>> = HashMap::new();
    let mut codes = BTreeSet::new();
    let mut checked = 0;
    for ((table, column), values) in &want {
        let got = landed(&lake, *table, column).await;
        for (id, original) in values {
            let Some(token) = got.get(id) else {
                // Quarantined rows are not in the table.
                continue;
            };
            let token = token.as_deref().unwrap();
            codes.extend(assert_token(&p, column, original, token));
            if original.is_empty() {
                continue;
            }
            let phone = column.ends_with("_number");
            let was = tokens.insert((phone, original.clone()), token.to_owned());
            assert!(was.is_none_or(|t| t == token), "{original}: two tokens");
            let was = originals.insert(token.to_owned(), original.clone());
            assert!(was.is_none_or(|o| o == *original), "{token}: two originals");
            tables_of
                .entry(original.clone())
                .or_default()
                .insert(*table);
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked} values checked");
    // Grouping: as many distinct tokens as distinct values served.
    assert_eq!(tokens.len(), originals.len());
    // The same user in every table: a name in all three.
    assert!(tables_of.values().any(|t| t.len() == 3), "{tables_of:?}");
    // The same value in both syncs.
    let late: BTreeSet<&String> = want
        .iter()
        .flat_map(|(k, v)| v.iter().filter(|(id, _)| !early[k].contains_key(*id)))
        .map(|(_, o)| o)
        .collect();
    assert!(
        early
            .values()
            .flat_map(|v| v.values())
            .any(|o| late.contains(o)),
        "a value served in both syncs"
    );
    // Calling codes kept: +1 and several others (the simulator dials many countries).
    assert!(codes.contains("+1") && codes.len() >= 5, "{codes:?}");
    let masked = want
        .values()
        .flat_map(|v| v.values())
        .find(|o| o.starts_with('+') && o.ends_with('*'))
        .expect("the simulator masks some numbers");
    assert!(p.phone_token(masked).starts_with('+'), "{masked}");

    // No file of the lake holds a value served, its Parquet pages read decompressed.
    let mut values: Vec<&str> = want
        .values()
        .flat_map(|v| v.values())
        .map(String::as_str)
        .collect();
    values.push(BAD_NUMBER);
    let needles = Needles::new(values);
    assert!(needles.count > 500, "{} values looked for", needles.count);
    let started = std::time::Instant::now();
    let (found, files_read, pages) = scan(&dir.path().join("lake"), &needles);
    assert!(found.is_empty(), "served values in the lake: {found:?}");
    assert!(pages > 50, "{pages} pages read");
    let scan_time = started.elapsed();

    // The quarantine holds the set-aside rows with tokens in place of their values.
    let quarantined = dir.path().join("lake/_pstn_lake/quarantine");
    let mut kept = Vec::new();
    files(&quarantined, &mut kept);
    let text: String = kept
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dr_bad = lines
        .iter()
        .find(|l| l["table"] == "direct_routing_calls")
        .expect("the Direct Routing row with a number for callerNumber");
    assert!(
        dr_bad["error"].as_str().unwrap().contains("withheld"),
        "{dr_bad}"
    );
    let row: Value = serde_json::from_str(dr_bad["json"].as_str().unwrap()).unwrap();
    assert_eq!(row["callerNumber"], p.token(BAD_NUMBER), "{row}");
    let pstn_bad = lines
        .iter()
        .find(|l| l["table"] == "pstn_calls")
        .expect("the PSTN row with a huge charge");
    // The value the lake refused is kept as served.
    let json = pstn_bad["json"].as_str().unwrap();
    assert!(json.contains(r#""charge":1e9223372036854775807"#), "{json}");
    let json = json.replace("1e9223372036854775807", "0");
    let row: Value = serde_json::from_str(&json).unwrap();
    let id = row["id"].as_str().unwrap();
    let served_number = &want[&(Table::PstnCalls, "callee_number")][id];
    assert_eq!(row["calleeNumber"], p.phone_token(served_number), "{row}");

    // Parquet statistics are those of the tokens: office_location keeps its min/max.
    let users_day = lake.days("users").await.unwrap()[0];
    let file = dir
        .path()
        .join(format!("lake/users/snapshot_date={users_day}/data.parquet"));
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
            .unwrap();
    let meta = parquet::file::reader::FileReader::metadata(&reader);
    let column = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == "office_location")
        .unwrap();
    let stats = meta.row_group(0).column(column).statistics().unwrap();
    let min = String::from_utf8(stats.min_bytes_opt().unwrap().to_vec()).unwrap();
    assert!(min.starts_with(TOKEN_PREFIX), "{min}");

    record_figures(
        "privacy",
        &format!(
            "privacy: 2 syncs of {DAYS} days in {:.2} s; {checked} values checked against their \
             tokens; {} served values looked for in {files_read} files and {pages} Parquet pages in \
             {:.2} s: none found",
            sync_time.as_secs_f64(),
            needles.count,
            scan_time.as_secs_f64()
        ),
    );
}

/// The scanner sees values through Parquet's compression: the same days landed without
/// pseudonymisation hold the values it looks for (so finding none above means none is there).
#[tokio::test(flavor = "multi_thread")]
async fn the_scan_finds_the_served_values_in_a_lake_landed_in_cleartext() {
    let sim = start(sim_config()).await;
    let (dir, lake) = lake();
    let first = day(FIRST);
    sync_days(&sim, &lake, first, first, SyncOptions::default())
        .await
        .unwrap();
    let mut want = Served::new();
    served(sim.tenant(), first, first, &mut want);
    let needles = Needles::new(
        want.iter()
            .filter(|((t, _), _)| *t != Table::Users)
            .flat_map(|(_, v)| v.values())
            .map(String::as_str),
    );
    let (found, _, _) = scan(&dir.path().join("lake"), &needles);
    assert_eq!(found.len(), needles.count, "every value served is found");
    // Not in the raw bytes alone: the pages are compressed.
    let mut raw = BTreeSet::new();
    let mut all = Vec::new();
    files(&dir.path().join("lake/pstn_calls"), &mut all);
    for f in all {
        needles.found_in(&std::fs::read(f).unwrap(), &mut raw);
    }
    assert!(
        raw.len() < needles.count / 2,
        "{} of {}",
        raw.len(),
        needles.count
    );
}

fn lake_error(err: &Error) -> &pstn_lake_sink::Error {
    match err {
        Error::Lake(e) => e,
        other => panic!("not a lake error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_is_refused_before_it_fetches_without_the_key_with_another_key_or_setting() {
    let sim = start(sim_config()).await;
    let (dir, lake) = lake();
    let first = day(FIRST);
    let no_requests = |sim: &RunningSim, before: u64| {
        assert_eq!(sim.stats().graph_requests, before, "nothing fetched");
    };

    // No key: nothing fetched, no lake left behind.
    let options = private().with_privacy_keys(PrivacyKeys::given([("OTHER_VAR", KEY)]));
    let err = sync_days(&sim, &lake, first, first, options)
        .await
        .unwrap_err();
    assert!(
        matches!(lake_error(&err), pstn_lake_sink::Error::PrivacyKeyMissing { var } if var == VAR),
        "{err}"
    );
    no_requests(&sim, 0);
    assert!(!dir.path().join("lake").exists());
    // A run that fails after the setting was recorded (Graph refuses the credentials) leaves no
    // lake behind either.
    let options = private()
        .with_days(days(first, first, &TABLES))
        .with_today(first.succ_opt().unwrap());
    let c = sim.config();
    let wrong = pstn_lake_pipeline::Credentials::with_secret(&c.tenant_id, &c.client_id, "wrong");
    let err = pstn_lake_pipeline::sync(
        &lake,
        graph(&sim),
        wrong,
        &options,
        &NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("getting a token"), "{err}");
    assert!(!dir.path().join("lake").exists(), "{err}");
    // A key too short.
    let options = private().with_privacy_keys(PrivacyKeys::given([(VAR, "short")]));
    let err = sync_days(&sim, &lake, first, first, options)
        .await
        .unwrap_err();
    assert!(
        matches!(
            lake_error(&err),
            pstn_lake_sink::Error::PrivacyKeyShort { .. }
        ),
        "{err}"
    );

    // A lake pseudonymised with KEY.
    sync_days(&sim, &lake, first, first, private())
        .await
        .unwrap();
    let requests = sim.stats().graph_requests;
    let record = std::fs::read_to_string(dir.path().join("lake/_pstn_lake/privacy.json")).unwrap();
    assert!(record.contains(VAR) && !record.contains(KEY), "{record}");

    // Another key.
    let wrong = PrivacyKeys::given([(VAR, "another key, just as long as the first")]);
    let err = sync_days(
        &sim,
        &lake,
        first,
        first,
        private().with_privacy_keys(wrong),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            lake_error(&err),
            pstn_lake_sink::Error::PrivacyKeyMismatch { .. }
        ),
        "{err}"
    );
    assert!(
        !format!("{err} {err:?}").contains("just as long"),
        "{err:?}"
    );
    no_requests(&sim, requests);

    // Another setting, named with the lake's.
    let other = Privacy::new(["caller_number"], VAR).unwrap();
    let options = SyncOptions::default()
        .with_privacy(Some(other))
        .with_privacy_keys(keys());
    let err = sync_days(&sim, &lake, first, first, options)
        .await
        .unwrap_err();
    assert!(
        matches!(
            lake_error(&err),
            pstn_lake_sink::Error::PrivacyMismatch { .. }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("pseudonymises callee_number, caller_number, office_location, user_principal_name (key in $PSTN_LAKE_TEST_PSEUDONYM_KEY), not caller_number (key in"),
        "{message}"
    );
    no_requests(&sim, requests);

    // The raw archive, asked for or not.
    let err = sync_days(&sim, &lake, first, first, private().with_keep_raw(true))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::KeepRawPseudonymised { .. }), "{err}");
    assert!(err.to_string().contains("leave out --keep-raw"), "{err}");
    let unasked = SyncOptions::default()
        .with_privacy_keys(keys())
        .with_keep_raw(true);
    let err = sync_days(&sim, &lake, first, first, unasked)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::KeepRawPseudonymised { .. }), "{err}");
    no_requests(&sim, requests);
    assert!(!dir.path().join("lake/_raw").exists());

    // A column no table has, named before anything runs.
    let err = Privacy::new(["caller_nmber"], VAR).unwrap_err();
    assert!(matches!(err, Error::PrivacyColumn { .. }), "{err}");
    assert!(err.to_string().contains("`caller_nmber`"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn privacy_is_refused_on_a_lake_holding_rows_or_a_raw_archive() {
    let sim = start(sim_config()).await;
    let first = day(FIRST);
    for keep_raw in [false, true] {
        let (dir, lake) = lake();
        let plain = SyncOptions::default().with_keep_raw(keep_raw);
        sync_days(&sim, &lake, first, first, plain).await.unwrap();
        let requests = sim.stats().graph_requests;
        let err = sync_days(&sim, &lake, first, first, private())
            .await
            .unwrap_err();
        assert!(
            matches!(
                lake_error(&err),
                pstn_lake_sink::Error::PrivacyOnLakeWithData { .. }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("direct_routing_calls, pstn_calls, users"),
            "{message}"
        );
        assert!(message.contains("a raw archive") == keep_raw, "{message}");
        assert!(message.contains("Give a new lake's location"), "{message}");
        assert_eq!(sim.stats().graph_requests, requests);
        assert!(!dir.path().join("lake/_pstn_lake/privacy.json").exists());
    }
}

/// Saved pages written as the simulator serves them, one file a page.
fn save_pages(tenant: &Tenant, function: Function, from: NaiveDate, to: NaiveDate, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut n = 0;
    tenant.write_pages(function, ApiVersion::V1, from, to, 100, |page| {
        n += 1;
        std::fs::write(dir.join(format!("page-{n:03}.json")), page).unwrap();
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_pseudonymises_saved_pages_as_sync_does() {
    let sim = start(config(FIRST, 2, 60)).await;
    let tenant = sim.tenant();
    let (first, last) = (day(FIRST), day(FIRST).succ_opt().unwrap());
    let pages = tempfile::tempdir().unwrap();
    save_pages(
        tenant,
        Function::Pstn,
        first,
        last,
        &pages.path().join("pstn"),
    );
    save_pages(
        tenant,
        Function::DirectRouting,
        first,
        last,
        &pages.path().join("dr"),
    );

    // Ingested with privacy, and synced with it into another lake: the same tokens.
    let (dir, ingested) = lake();
    let inputs = Input::expand(&[pages.path().display().to_string()]).unwrap();
    let options = IngestOptions::default()
        .with_privacy(Some(privacy()))
        .with_privacy_keys(keys())
        .with_threads(Some(2));
    let report = ingest(&ingested, &inputs, &options, &NoProgress)
        .await
        .unwrap();
    assert!(report.rows_in > 100, "{report}");
    let (_synced_dir, synced) = lake();
    let options = private()
        .with_days(days(first, last, &Table::CALLS))
        .with_today(last.succ_opt().unwrap());
    sync_sim(&sim, &synced, &options, &NoProgress)
        .await
        .unwrap();
    let mut want = Served::new();
    served(tenant, first, last, &mut want);
    let p = pseudonymiser();
    for table in Table::CALLS {
        for column in ["caller_number", "callee_number", "user_principal_name"] {
            let got = landed(&ingested, table, column).await;
            assert_eq!(
                got,
                landed(&synced, table, column).await,
                "{table}.{column}"
            );
            for (id, original) in &want[&(table, column)] {
                assert_token(&p, column, original, got[id].as_deref().unwrap());
            }
        }
    }
    let needles = Needles::new(
        want.iter()
            .filter(|((t, _), _)| *t != Table::Users)
            .flat_map(|(_, v)| v.values())
            .map(String::as_str),
    );
    let (found, _, _) = scan(&dir.path().join("lake"), &needles);
    assert!(found.is_empty(), "{found:?}");

    // Saved directory pages, ingested without asking: the lake's setting applies, and a second
    // full listing compares equal to the pseudonymised snapshot (nothing written).
    let users = tenant.directory(last);
    let page = serde_json::json!({
        "value": users.iter().map(|u| serde_json::json!({
            "id": u.id, "userPrincipalName": u.user_principal_name,
            "displayName": u.display_name, "officeLocation": u.office_location,
            "accountEnabled": u.account_enabled,
        })).collect::<Vec<_>>()
    });
    let file = pages.path().join("users.json");
    std::fs::write(&file, page.to_string()).unwrap();
    let inputs = Input::expand(&[file.display().to_string()]).unwrap();
    let options = IngestOptions::default()
        .with_table(Some(Table::Users))
        .with_day(Some(last))
        .with_privacy_keys(keys());
    let report = ingest(&ingested, &inputs, &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.tables[&Table::Users].rows_in, users.len() as u64);
    let got = landed(&ingested, Table::Users, "user_principal_name").await;
    for u in &users {
        assert_token(
            &p,
            "user_principal_name",
            &u.user_principal_name,
            got[&u.id].as_deref().unwrap(),
        );
    }
    let report = ingest(&ingested, &inputs, &options, &NoProgress)
        .await
        .unwrap();
    assert!(report.tables.is_empty(), "unchanged: {report}");
    // Without the key, the lake's setting cannot be applied: refused before anything lands.
    let options = options.with_privacy_keys(PrivacyKeys::given::<_, String, String>([]));
    let err = ingest(&ingested, &inputs, &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            lake_error(&err),
            pstn_lake_sink::Error::PrivacyKeyMissing { .. }
        ),
        "{err}"
    );
}

#[cfg(feature = "delta")]
#[tokio::test(flavor = "multi_thread")]
async fn a_pseudonymised_delta_lake_holds_no_served_value_either() {
    let sim = start(sim_config()).await;
    let (dir, lake) = lake();
    let first = day(FIRST);
    let options = private().with_table_format(Some(pstn_lake_pipeline::TableFormat::Delta));
    sync_days(&sim, &lake, first, first, options).await.unwrap();
    assert!(dir.path().join("lake/pstn_calls/_delta_log").is_dir());
    let mut want = Served::new();
    served(sim.tenant(), first, first, &mut want);
    let p = pseudonymiser();
    let got = landed(&lake, Table::PstnCalls, "caller_number").await;
    for (id, original) in &want[&(Table::PstnCalls, "caller_number")] {
        if let Some(token) = got.get(id) {
            assert_token(&p, "caller_number", original, token.as_deref().unwrap());
        }
    }
    let mut values: Vec<&str> = want
        .values()
        .flat_map(|v| v.values())
        .map(String::as_str)
        .collect();
    values.push(BAD_NUMBER);
    let needles = Needles::new(values);
    let (found, files, _) = scan(&dir.path().join("lake"), &needles);
    assert!(found.is_empty(), "{found:?}");
    assert!(files > 5, "{files}");
}
