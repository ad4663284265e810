//! `pstn-lake ingest`: land saved Graph pages into the lake.
//!
//! Files are read and decoded on every core; decoded pages are handed to the sink in input order
//! (so when two files hold the same `id`, the later file wins), and nothing is written to the lake
//! until every input has decoded cleanly: bad input changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use pstn_lake_fetch::{DecodedPage, PageDecoder, Table};
use pstn_lake_sink::{LakeLock, Landing, LandingSummary, TableSpec};

use crate::common::{LakeArg, Ui, leave_no_empty_lake};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Graph page files, folders (every *.json below them) or - for standard input. A file may
    /// hold one page or several pages one after another.
    #[arg(required = true, value_name = "PATH|DIR|-")]
    pub inputs: Vec<String>,

    /// The table (pstn_calls or direct_routing_calls) of pages without an `@odata.context` line
    /// (saved by hand or by another tool); a page that has one lands in the table it names. A page whose
    /// properties are mostly not columns of this table is refused.
    #[arg(long, value_name = "TABLE")]
    pub table: Option<Table>,

    #[command(flatten)]
    pub lake: LakeArg,

    /// Decoding threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Megabytes of decoded rows held in memory before the largest held day is encoded early
    /// (days are encoded to a local temporary folder as soon as they stop receiving rows anyway).
    #[arg(long, value_name = "MB", default_value_t = 128)]
    pub memory_mb: usize,
}

/// The sink's view of a Graph table.
pub fn table_spec(table: Table) -> TableSpec {
    let schema = table.schema();
    let columns = |keep: fn(&str) -> bool| -> Vec<String> {
        schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|name| keep(name))
            .collect()
    };
    let (no_statistics, no_dictionary) = (columns(without_statistics), columns(without_dictionary));
    TableSpec::new(
        table.name(),
        schema,
        "id",
        table.partition_columns().iter().copied(),
        "start_date_time",
    )
    .with_no_statistics(no_statistics)
    .with_no_dictionary(no_dictionary)
}

/// Columns whose values are (nearly) unique within a day: identifiers, phone numbers, addresses
/// and timestamps. A dictionary for them costs hashing and memory, and the writer drops it once it
/// outgrows a page anyway.
fn without_dictionary(column: &str) -> bool {
    matches!(
        column,
        "id" | "call_id" | "correlation_id" | "transferor_correlation_id" | "conference_id"
    ) || column.ends_with("_number")
        || column.ends_with("_address")
        || column.ends_with("_date_time")
}

/// Identifiers, phone numbers, addresses, names and the JSON of unknown properties: string columns
/// whose min/max prune nothing in a file sorted by time, and cost 9% of a landing to compute
/// (BENCHMARKS.md). Codes, currencies, countries, call types and trunks keep their statistics.
fn without_statistics(column: &str) -> bool {
    column == "id"
        || column.ends_with("_id")
        || column.ends_with("_number")
        || column.ends_with("_address")
        || matches!(
            column,
            "user_principal_name"
                | "user_display_name"
                | "destination_name"
                | pstn_lake_fetch::EXTRA_PROPERTIES
        )
}

/// One unit of input: a file or standard input.
#[derive(Debug, Clone)]
enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    fn name(&self) -> String {
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
                read().with_context(|| format!("cannot read `{}`", p.display()))
            }
            Input::Stdin => {
                std::io::stdin()
                    .read_to_end(buf)
                    .context("cannot read standard input")?;
                Ok(())
            }
        }
    }
}

fn expand(inputs: &[String]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for input in inputs {
        if input == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = Path::new(input);
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{input}`"))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            collect_json(path, &mut files).with_context(|| format!("cannot list `{input}`"))?;
            if files.is_empty() {
                bail!("`{input}` holds no *.json files");
            }
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        } else {
            out.push(Input::File(path.to_owned()));
        }
    }
    Ok(out)
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

/// Decodes every page of one input, read into `buf`.
fn decode_input(
    decoder: &PageDecoder,
    input: &Input,
    buf: &mut Vec<u8>,
) -> Result<Vec<DecodedPage>> {
    input.read_into(buf)?;
    decode_pages(decoder, buf, &input.name())
}

/// Decodes every page of `bytes` (one page or several one after another); `name` says where the
/// bytes came from, for error messages, which also name the page.
pub fn decode_pages(decoder: &PageDecoder, bytes: &[u8], name: &str) -> Result<Vec<DecodedPage>> {
    let pages = decoder.decode_pages(bytes, &format!("`{name}`"))?;
    for (n, page) in pages.iter().enumerate() {
        check_table(page).with_context(|| format!("page {} of `{name}`", n + 1))?;
    }
    Ok(pages)
}

/// Refuses a page whose rows are mostly properties its table does not have (a page of another
/// table given with `--table`, or without its `@odata.context`), naming the table it looks like.
fn check_table(page: &DecodedPage) -> Result<()> {
    let unknown = &page.unknown_properties;
    if unknown.is_empty() {
        return Ok(());
    }
    // The table's columns that the page fills, for at least one row.
    let columns = page.table.schema();
    let known = columns
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name() != pstn_lake_fetch::EXTRA_PROPERTIES)
        .filter(|(i, _)| {
            page.batches
                .iter()
                .any(|b| b.column(*i).null_count() < b.num_rows())
        })
        .count();
    if unknown.len() <= known {
        return Ok(());
    }
    let like = Table::ALL
        .into_iter()
        .filter(|t| *t != page.table)
        .map(|t| {
            let shared = unknown
                .keys()
                .filter(|k| t.properties().iter().any(|p| p.graph_name == k.as_str()))
                .count();
            (shared, t)
        })
        .max()
        .filter(|(shared, _)| 2 * shared >= unknown.len());
    let names: Vec<&str> = unknown.keys().map(String::as_str).collect();
    let hint = match like {
        Some((_, t)) => format!(
            "it looks like a {t} page: pass --table {t}, or leave out --table when the page has its @odata.context"
        ),
        None => "it does not look like a page of any table pstn-lake knows".to_owned(),
    };
    bail!(
        "{} of its {} properties are not columns of {} ({}); {hint}",
        unknown.len(),
        unknown.len() + known,
        page.table,
        names.join(", ")
    )
}

async fn commit(landings: BTreeMap<Table, Landing>) -> Result<Vec<(Table, LandingSummary)>> {
    let mut summaries = Vec::new();
    for (table, landing) in landings {
        let summary = landing.commit().await.with_context(|| {
            format!(
                "writing {table} failed: days written before the failure are complete, the failing day is unchanged; re-run the same command to finish"
            )
        })?;
        summaries.push((table, summary));
    }
    Ok(summaries)
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let started = Instant::now();
    let lake = args.lake.open()?;
    lake.check().await?;
    let inputs = expand(&args.inputs)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, inputs.len().max(1));
    let decoder = PageDecoder::new().with_table(args.table);
    let progress = ui.progress("ingest");

    let mut landings: BTreeMap<Table, Landing> = BTreeMap::new();
    let mut unknown: BTreeMap<String, u64> = BTreeMap::new();
    let mut pages = 0usize;
    let budget = args.memory_mb * 1024 * 1024;

    // Workers decode inputs and send (index, pages); the receiver puts them back in input order.
    let (result_tx, result_rx) =
        mpsc::sync_channel::<(usize, Result<Vec<DecodedPage>>)>(threads * 2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcome: Result<()> = std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = result_tx.clone();
            let (inputs, decoder, next) = (&inputs, &decoder, &next);
            scope.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let failed = {
                        let result = decode_input(decoder, input, &mut buf);
                        let failed = result.is_err();
                        if tx.send((i, result)).is_err() {
                            break;
                        }
                        failed
                    };
                    if failed {
                        // Stop handing out work: the run fails anyway.
                        next.store(inputs.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
        drop(result_tx);
        let mut waiting: HashMap<usize, Vec<DecodedPage>> = HashMap::new();
        let mut expected = 0usize;
        for (i, result) in result_rx.iter() {
            waiting.insert(i, result?);
            while let Some(decoded) = waiting.remove(&expected) {
                for page in decoded {
                    pages += 1;
                    for (k, n) in page.unknown_properties {
                        *unknown.entry(k).or_default() += n;
                    }
                    let landing = landings.entry(page.table).or_insert_with(|| {
                        Landing::new(lake.clone(), table_spec(page.table))
                            .with_memory_budget(budget)
                    });
                    for batch in &page.batches {
                        landing.push(batch).with_context(|| {
                            format!("`{}`: cannot place a row", inputs[expected].name())
                        })?;
                    }
                }
                expected += 1;
                progress.set_message(format!("{expected}/{} files, {pages} pages", inputs.len()));
            }
        }
        Ok(())
    });
    // Dropping the receiver on error makes the workers stop at their next send.
    outcome.context("nothing was written to the lake")?;
    progress.set_message("writing days");

    let total_rows: usize = landings.values().map(Landing::rows).sum();
    for landing in landings.values_mut() {
        landing
            .finish_encoding()
            .context("nothing was written to the lake")?;
    }
    // Decoding and encoding are over: what their allocator settings kept would only swell the
    // merges of days the lake already holds.
    crate::alloc::tune_for_merging();
    let summaries = leave_no_empty_lake(&lake, async {
        let lock = LakeLock::acquire(&lake, "ingest").await?;
        let committed = commit(landings).await;
        let released = lock.release().await;
        let summaries = committed?;
        released.context("releasing the lake lock failed")?;
        Ok(summaries)
    })
    .await?;
    progress.finish_and_clear();

    let elapsed = started.elapsed().as_secs_f64();
    ui.summary(format!(
        "ingested {total_rows} rows from {} inputs ({pages} pages) in {elapsed:.2} s ({:.0} rows/s) into {}",
        inputs.len(),
        total_rows as f64 / elapsed.max(1e-9),
        lake.url()
    ));
    for (table, s) in &summaries {
        let first = s
            .days
            .first()
            .map(|d| d.day.to_string())
            .unwrap_or_default();
        let last = s.days.last().map(|d| d.day.to_string()).unwrap_or_default();
        ui.summary(format!(
            "  {table}: {} rows in, {} days written ({first} .. {last}), {} rows in those days now",
            s.rows_in,
            s.days.len(),
            s.rows_after()
        ));
    }
    if !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|(k, n)| format!("{k} ({n} rows)"))
            .collect();
        ui.summary(format!(
            "  properties the schema does not know, kept in the extra_properties column: {}",
            list.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_free_text_go_without_statistics_codes_keep_them() {
        let pstn = table_spec(Table::PstnCalls).no_statistics;
        for column in [
            "id",
            "call_id",
            "caller_number",
            "user_principal_name",
            "extra_properties",
        ] {
            assert!(pstn.iter().any(|c| c == column), "{column}");
        }
        for column in [
            "currency",
            "usage_country_code",
            "call_type",
            "start_date_time",
            "charge",
        ] {
            assert!(!pstn.iter().any(|c| c == column), "{column}");
        }
        let dr = table_spec(Table::DirectRoutingCalls).no_statistics;
        assert!(dr.iter().any(|c| c == "correlation_id"));
        assert!(!dr.iter().any(|c| c == "trunk_fully_qualified_domain_name"));
    }

    #[test]
    fn unique_columns_go_without_a_dictionary_repeated_ones_keep_it() {
        let pstn = table_spec(Table::PstnCalls).no_dictionary;
        for column in [
            "id",
            "call_id",
            "caller_number",
            "callee_number",
            "start_date_time",
            "end_date_time",
            "client_public_ip_v4_address",
        ] {
            assert!(pstn.iter().any(|c| c == column), "{column}");
        }
        for column in [
            "user_id",
            "user_principal_name",
            "currency",
            "usage_country_code",
            "charge",
            "duration",
        ] {
            assert!(!pstn.iter().any(|c| c == column), "{column}");
        }
        let dr = table_spec(Table::DirectRoutingCalls).no_dictionary;
        for column in ["correlation_id", "invite_date_time", "failure_date_time"] {
            assert!(dr.iter().any(|c| c == column), "{column}");
        }
        assert!(!dr.iter().any(|c| c == "trunk_fully_qualified_domain_name"));
    }
}
