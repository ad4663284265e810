//! Ingest: land saved Graph pages (files, folders of them, standard input) into the lake.
//!
//! Inputs are read and decoded on several threads; decoded pages are handed to the sink in input
//! order (so when two inputs hold the same `id`, the later input wins), and nothing is written to
//! the lake until every input has decoded cleanly: bad input changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pstn_lake_fetch::{DecodedPage, PageDecoder, Table};
use pstn_lake_sink::{Lake, Landing, PrivacyKeys, Pseudonymiser, TableFormat};

use crate::check::{check_rows, check_table};
use crate::lake::{leave_no_empty_lake, locked};
use crate::sync::write_unknown;
use crate::{Error, Privacy, Progress, Result, table_spec};

/// One unit of input: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file of one or more pages.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Input {
    /// The inputs `args` name: `-` is standard input, a folder every `*.json` file below it (in
    /// name order), anything else a file.
    pub fn expand(args: &[String]) -> Result<Vec<Input>> {
        let mut out = Vec::new();
        for arg in args {
            if arg == "-" {
                out.push(Input::Stdin);
                continue;
            }
            let path = Path::new(arg);
            let meta = std::fs::metadata(path).map_err(|source| Error::Read {
                path: arg.clone(),
                source,
            })?;
            if !meta.is_dir() {
                out.push(Input::File(path.to_owned()));
                continue;
            }
            let mut files = Vec::new();
            collect_json(path, &mut files).map_err(|source| Error::List {
                path: arg.clone(),
                source,
            })?;
            if files.is_empty() {
                return Err(Error::NoPageFiles { path: arg.clone() });
            }
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        }
        Ok(out)
    }

    /// The input's name in messages.
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".into(),
        }
    }

    /// Reads the whole input into `buf` (cleared first; a worker reuses one buffer for all its
    /// inputs, which spares a fresh allocation, and its page faults, per file).
    fn read_into(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        match self {
            Input::File(p) => {
                let mut read = || -> std::io::Result<()> {
                    let mut file = std::fs::File::open(p)?;
                    let len = file.metadata().map_or(0, |m| m.len());
                    buf.reserve(usize::try_from(len).unwrap_or(0));
                    file.read_to_end(buf)?;
                    Ok(())
                };
                read().map_err(|source| Error::Read {
                    path: p.display().to_string(),
                    source,
                })
            }
            Input::Stdin => {
                std::io::stdin()
                    .read_to_end(buf)
                    .map_err(Error::ReadStdin)?;
                Ok(())
            }
        }
    }
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    table: Option<Table>,
    threads: Option<usize>,
    memory_budget: usize,
    table_format: Option<TableFormat>,
    day: Option<NaiveDate>,
    privacy: Option<Privacy>,
    keys: PrivacyKeys,
}

impl Default for IngestOptions {
    /// Tables from each page's `@odata.context`, a decoding thread per core, 128 MB of rows held.
    fn default() -> Self {
        IngestOptions {
            table: None,
            threads: None,
            memory_budget: 128 * 1024 * 1024,
            table_format: None,
            day: None,
            privacy: None,
            keys: PrivacyKeys::from_env(),
        }
    }
}

impl IngestOptions {
    /// The table of pages without an `@odata.context`.
    pub fn with_table(mut self, table: Option<Table>) -> Self {
        self.table = table;
        self
    }

    /// The UTC day the pages of a window-totals table (`pstn_dialout_report`, whose rows are
    /// totals over the requested window and say nothing of it) were requested for; other tables'
    /// rows carry their own day and ignore it.
    pub fn with_day(mut self, day: Option<NaiveDate>) -> Self {
        self.day = day;
        self
    }

    /// Decoding threads (`None`: one per core).
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }

    /// Bytes of decoded rows held in memory before the largest held day is encoded early.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// The table format of a new lake (default Parquet); an existing lake keeps its own, and
    /// another one named here is refused.
    pub fn with_table_format(mut self, format: Option<TableFormat>) -> Self {
        self.table_format = format;
        self
    }

    /// Pseudonymise these columns at landing (docs/privacy.md). A new lake records the setting;
    /// a lake with one keeps it and refuses another; `None` (the default) lands with the lake's
    /// setting, if it has one. Refused on a lake that holds rows landed without it.
    pub fn with_privacy(mut self, privacy: Option<Privacy>) -> Self {
        self.privacy = privacy;
        self
    }

    /// Where the pseudonymisation key is read (default: the environment variable the setting
    /// names).
    pub fn with_privacy_keys(mut self, keys: PrivacyKeys) -> Self {
        self.keys = keys;
        self
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// The lake written.
    pub lake: String,
    /// Inputs read.
    pub inputs: usize,
    /// Pages decoded.
    pub pages: usize,
    /// Rows decoded and handed to the lake.
    pub rows_in: u64,
    /// What was written, per table that received rows.
    pub tables: BTreeMap<Table, TableIngested>,
    /// Row properties the schema does not know (kept in `extra_properties`), with row counts.
    pub unknown: BTreeMap<String, u64>,
    /// How long the ingest took.
    pub elapsed: Duration,
}

/// What an ingest wrote to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableIngested {
    /// Rows handed in.
    pub rows_in: u64,
    /// The days written, in day order.
    pub days: Vec<DayWritten>,
}

/// One day an ingest wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWritten {
    /// The day.
    pub day: NaiveDate,
    /// Rows the day held before.
    pub rows_before: u64,
    /// Rows handed in for the day (before de-duplication).
    pub rows_in: u64,
    /// Rows the day holds now.
    pub rows_after: u64,
}

impl TableIngested {
    /// Rows the written days hold now.
    pub fn rows_after(&self) -> u64 {
        self.days.iter().map(|d| d.rows_after).sum()
    }
}

impl std::fmt::Display for IngestReport {
    /// The summary line, a line per table, and one for unknown properties.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elapsed = self.elapsed.as_secs_f64();
        write!(
            f,
            "ingested {} rows from {} inputs ({} pages) in {elapsed:.2} s ({:.0} rows/s) into {}",
            self.rows_in,
            self.inputs,
            self.pages,
            self.rows_in as f64 / elapsed.max(1e-9),
            self.lake
        )?;
        for (table, t) in &self.tables {
            let day = |d: Option<&DayWritten>| d.map(|d| d.day.to_string()).unwrap_or_default();
            write!(
                f,
                "\n  {table}: {} rows in, {} days written ({} .. {}), {} rows in those days now",
                t.rows_in,
                t.days.len(),
                day(t.days.first()),
                day(t.days.last()),
                t.rows_after()
            )?;
        }
        write_unknown(f, &self.unknown)
    }
}

/// Decodes every page of `bytes` (one page or several one after another) with `decoder`, and
/// refuses a page that does not look like its table or holds a row the lake cannot hold; `name`
/// says where the bytes came from, for error messages, which also name the page.
pub fn decode_pages(decoder: &PageDecoder, bytes: &[u8], name: &str) -> Result<Vec<DecodedPage>> {
    let pages = decoder.decode_pages(bytes, &format!("`{name}`"))?;
    for (n, page) in pages.iter().enumerate() {
        check_table(page, name, n + 1)?;
        check_rows(page, name, n + 1)?;
    }
    Ok(pages)
}

/// Lands `inputs` into `lake`: decodes them all (nothing is written when one fails), then writes
/// their days holding the lake lock.
pub async fn ingest(
    lake: &Lake,
    inputs: &[Input],
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let started = Instant::now();
    lake.check().await?;
    let mut report = leave_no_empty_lake(lake, land(lake, inputs, options, progress)).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Decodes `inputs`, places their rows, then commits every table holding the lake lock. The
/// pipeline's one use of [`Landing`].
async fn land(
    lake: &Lake,
    inputs: &[Input],
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let mut report = IngestReport {
        lake: lake.url().to_string(),
        inputs: inputs.len(),
        ..IngestReport::default()
    };
    if let Some(table) = options.table.filter(|t| t.is_snapshot()) {
        return Box::pin(land_snapshot(lake, inputs, options, table, report)).await;
    }
    // Checked before decoding (the rows are pseudonymised as they are decoded), recorded under
    // the lock.
    let privacy = settle(lake, options, false).await?;
    let mut landings: BTreeMap<Table, Landing> = BTreeMap::new();
    let mut decoder = PageDecoder::new().with_table(options.table);
    if let Some(day) = options.day {
        decoder = decoder.with_window(day, day.succ_opt().expect("a day before the end of time"));
    }
    let (threads, pseudonymiser) = (options.threads, privacy.as_ref());
    let decoded = decode_in_order(inputs, &decoder, threads, pseudonymiser, |i, pages| {
        for page in pages {
            report.pages += 1;
            for (k, n) in page.unknown_properties {
                *report.unknown.entry(k).or_default() += n;
            }
            let landing = landings.entry(page.table).or_insert_with(|| {
                Landing::new(lake.clone(), table_spec(page.table))
                    .with_memory_budget(options.memory_budget)
            });
            for batch in &page.batches {
                landing.push(batch).map_err(|source| Error::Place {
                    input: inputs[i].name(),
                    source: Box::new(source),
                })?;
            }
        }
        progress.inputs_decoded(i + 1, inputs.len(), report.pages);
        Ok(())
    });
    let encoded = decoded.and_then(|()| {
        landings
            .values_mut()
            .try_for_each(|landing| landing.finish_encoding().map_err(Error::from))
    });
    encoded.map_err(|e| Error::NothingWritten(Box::new(e)))?;
    report.rows_in = landings.values().map(|l| l.rows() as u64).sum();
    progress.ingest_writing();
    locked(lake, "ingest", options.table_format, async {
        let settled = settle(lake, options, true).await?;
        if settled.as_ref().map(Pseudonymiser::setting)
            != privacy.as_ref().map(Pseudonymiser::setting)
        {
            return Err(Error::PrivacyChanged {
                lake: lake.url().to_string(),
            });
        }
        for (table, landing) in landings {
            let summary = landing.commit().await.map_err(|source| Error::Commit {
                table,
                source: Box::new(source),
            })?;
            let days = summary.days.iter().map(|d| DayWritten {
                day: d.day,
                rows_before: d.rows_before as u64,
                rows_in: d.rows_in as u64,
                rows_after: d.rows_after as u64,
            });
            report.tables.insert(
                table,
                TableIngested {
                    rows_in: summary.rows_in as u64,
                    days: days.collect(),
                },
            );
        }
        Ok(())
    })
    .await?;
    Ok(report)
}

/// `ingest --table users --day D`: the pages (`GET /users` or `/users/delta` pages, saved) are
/// a listing of the whole directory on day `D`. They are all decoded first (nothing is written
/// when one fails), then applied to the latest snapshot on or before `D` as a full listing (a
/// user it does not list has left) and written as the snapshot of `D` when that differs.
async fn land_snapshot(
    lake: &Lake,
    inputs: &[Input],
    options: &IngestOptions,
    table: Table,
    mut report: IngestReport,
) -> Result<IngestReport> {
    let Some(day) = options.day else {
        return Err(Error::NoSnapshotDay { table });
    };
    let mut rows = Vec::new();
    let mut buf = Vec::new();
    for input in inputs {
        input.read_into(&mut buf)?;
        for (n, range) in pstn_lake_fetch::split_pages(&buf).enumerate() {
            let page = pstn_lake_fetch::directory::decode_page(&buf[range]).map_err(|source| {
                Error::SnapshotPage {
                    input: input.name(),
                    page: n + 1,
                    source: Box::new(source),
                }
            })?;
            report.pages += 1;
            for (k, n) in page.unknown_properties {
                *report.unknown.entry(k).or_default() += n;
            }
            rows.extend(page.rows);
        }
    }
    let rows_in = rows.len() as u64;
    report.rows_in = rows_in;
    let written = locked(lake, "ingest", options.table_format, async {
        let privacy = settle(lake, options, true).await?;
        let encoding = pstn_lake_sink::EncodeSlots::new(1);
        let previous = crate::directory::previous(lake, table, day).await?;
        let privacy = privacy.as_ref();
        crate::directory::land(lake, table, day, previous, rows, true, &encoding, privacy).await
    })
    .await?;
    if let Some((before, users)) = written {
        report.tables.insert(
            table,
            TableIngested {
                rows_in,
                days: vec![DayWritten {
                    day,
                    rows_before: before as u64,
                    rows_in,
                    rows_after: users as u64,
                }],
            },
        );
    }
    Ok(report)
}

/// The pseudonymiser an ingest lands with: the lake's setting or the one asked for (see
/// [`crate::privacy::settle`]), recorded when `record`.
async fn settle(
    lake: &Lake,
    options: &IngestOptions,
    record: bool,
) -> Result<Option<Pseudonymiser>> {
    crate::privacy::settle(lake, options.privacy.as_ref(), &options.keys, false, record).await
}

/// Decodes `inputs` on `threads` threads (default: one per core), pseudonymises their rows with
/// `privacy` ([`crate::privacy::page`]) and hands each input's pages to `each` in input order,
/// with the input's index. Stops at the first error (of decoding or of `each`).
fn decode_in_order(
    inputs: &[Input],
    decoder: &PageDecoder,
    threads: Option<usize>,
    privacy: Option<&Pseudonymiser>,
    mut each: impl FnMut(usize, Vec<DecodedPage>) -> Result<()>,
) -> Result<()> {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, inputs.len().max(1));
    // Workers decode inputs and send (index, pages); the receiver puts them back in input order.
    let (result_tx, result_rx) =
        mpsc::sync_channel::<(usize, Result<Vec<DecodedPage>>)>(threads * 2);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = result_tx.clone();
            let next = &next;
            scope.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let result = input
                        .read_into(&mut buf)
                        .and_then(|()| decode_pages(decoder, &buf, &input.name()))
                        .and_then(|pages| {
                            pages
                                .into_iter()
                                .map(|page| crate::privacy::page(privacy, page))
                                .collect()
                        });
                    let failed = result.is_err();
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                    if failed {
                        // Stop handing out work: the run fails anyway.
                        next.store(inputs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
        drop(result_tx);
        let mut waiting: HashMap<usize, Vec<DecodedPage>> = HashMap::new();
        let mut expected = 0usize;
        // Returning early drops the receiver, which makes the workers stop at their next send.
        for (i, result) in result_rx {
            waiting.insert(i, result?);
            while let Some(decoded) = waiting.remove(&expected) {
                each(expected, decoded)?;
                expected += 1;
            }
        }
        Ok(())
    })
}
