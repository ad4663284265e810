//! The bad-input corpus (issue 12): inputs `pstn-lake ingest` must refuse, each named in its
//! message with its row, `id` and field, leaving the lake as it was.
//!
//! `tests/corpus/bad/` holds one bad input per file, and beside them `expected.tsv` gives for each
//! the exit code and the fragments its message must hold; the inputs too large to keep there (a
//! 50 MB string, pages of thousands of rows) have `generated-` names and are written by
//! [`generate`] into a temporary folder. Each input is landed into a lake holding one good day,
//! from its file and (the kept ones) from standard input, and must fail with its exit code and one
//! short message that names the input and holds every fragment, the lake byte for byte unchanged.
//! To add a case, put its file in `tests/corpus/bad/` (or its generator in [`generate`]) and its
//! line in `expected.tsv`: a file without a line, or a line without a file, fails the test.
//! `tests/corpus/good/` holds inputs close to bad ones that land by design (a UTF-8 byte order
//! mark, pages of both tables in one file, an id sent twice: the later row wins), with the rows
//! each must land in its own `expected.tsv`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::helpers::*;

/// The inputs [`generate`] writes, too large to keep in the repository.
const GENERATED: [&str; 5] = [
    "generated-50mb-string-as-start-date-time.json",
    "generated-50mb-digits-as-charge.json",
    "generated-50mb-unclosed-string.json",
    "generated-missing-start-in-row-1500.json",
    "generated-missing-id-in-row-1000-of-page-2.json",
];

/// The longest message a refused input may get, whatever the input quotes (a cause keeps 4000
/// bytes of a long value: its ends).
const MAX_MESSAGE: usize = 8192;

fn corpus(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind)
}

/// The lines of a corpus folder's `expected.tsv` (comments and blank lines left out), split at
/// tabs.
fn manifest(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("expected.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The names of a corpus folder's inputs: every file but `expected.tsv`.
fn inputs(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "expected.tsv")
        .collect()
}

/// The input named `name` of [`GENERATED`].
fn generate(name: &str) -> Vec<u8> {
    let huge = || "7".repeat(50 << 20);
    let row = |id: &str| pstn_row(id, "2026-11-09T08:00:00Z", "0.10", "EUR", "DE", 60);
    // A good row, then one whose `field` is the JSON text `raw`.
    let bad_field = |field: &str, raw: &str| {
        let mut bad = row("r1");
        bad[field] = Value::from("__raw__");
        pstn_page(&[row("r0"), bad]).replace("\"__raw__\"", raw)
    };
    // `rows` rows, the one at `at` without `field`.
    let rows_without = |rows: usize, at: usize, field: &str| -> Vec<Value> {
        (0..rows)
            .map(|i| {
                let mut r = row(&format!("r{i}"));
                if i == at {
                    r.as_object_mut().unwrap().remove(field);
                }
                r
            })
            .collect()
    };
    let page = match name {
        "generated-50mb-string-as-start-date-time.json" => {
            bad_field("startDateTime", &format!("\"{}\"", huge()))
        }
        "generated-50mb-digits-as-charge.json" => bad_field("charge", &huge()),
        "generated-50mb-unclosed-string.json" => format!(
            "{{\"@odata.context\": \"{PSTN_CONTEXT}\", \"value\": [{{\"id\": \"r0\", \"callId\": \"{}",
            huge()
        ),
        "generated-missing-start-in-row-1500.json" => {
            pstn_page(&rows_without(2000, 1500, "startDateTime"))
        }
        "generated-missing-id-in-row-1000-of-page-2.json" => format!(
            "{}\n{}\n",
            pstn_page(&[row("p1")]),
            pstn_page(&rows_without(2000, 1000, "id"))
        ),
        other => panic!("no generator for {other}"),
    };
    page.into_bytes()
}

/// Every file of the lake with its bytes, and every folder: a failed run leaves neither a changed
/// file nor an empty folder.
fn state(lake: &Path) -> (Vec<(PathBuf, Vec<u8>)>, Vec<PathBuf>) {
    let mut folders = Vec::new();
    let mut stack = vec![lake.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                folders.push(path);
            }
        }
    }
    folders.sort();
    (snapshot(lake), folders)
}

/// Checks that a run refused its input as `expected.tsv` says: no panic, the exit code, one short
/// error line naming the input (`` `path` `` or `` `<stdin>` ``), saying nothing was written and
/// holding every fragment.
#[track_caller]
fn check_refused(what: &str, out: &Run, code: i32, input: &str, fragments: &[String]) {
    assert!(
        out.code != 101 && !out.stderr.contains("panicked"),
        "{what}: pstn-lake panicked: {}",
        out.stderr
    );
    assert_eq!(
        out.code, code,
        "{what}: the exit code; stderr: {}",
        out.stderr
    );
    assert!(
        out.stderr.len() <= MAX_MESSAGE,
        "{what}: a message of {} bytes: {}…",
        out.stderr.len(),
        &out.stderr[..MAX_MESSAGE.min(out.stderr.len())]
    );
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    let [message] = errors[..] else {
        panic!("{what}: not one error line: {}", out.stderr)
    };
    let always = [input, "nothing was written to the lake"];
    for needle in always
        .into_iter()
        .chain(fragments.iter().map(String::as_str))
    {
        assert!(
            message.contains(needle),
            "{what}: `{needle}` not in: {message}"
        );
    }
}

#[test]
fn every_bad_input_is_refused_naming_its_file_row_and_field_and_the_lake_is_unchanged() {
    let dir = corpus("bad");
    let expected = manifest(&dir);
    let files = inputs(&dir);
    let generated: BTreeSet<String> = GENERATED.iter().map(|n| (*n).to_owned()).collect();
    let listed: BTreeSet<String> = expected.iter().map(|line| line[0].clone()).collect();
    assert_eq!(listed.len(), expected.len(), "an input listed twice");
    assert!(
        files.is_disjoint(&generated),
        "a generated input is also a file"
    );
    let unlisted: Vec<_> = files
        .union(&generated)
        .filter(|n| !listed.contains(*n))
        .collect();
    assert!(
        unlisted.is_empty(),
        "inputs without a line in tests/corpus/bad/expected.tsv: {unlisted:?}"
    );
    let missing: Vec<_> = listed
        .iter()
        .filter(|n| !files.contains(*n) && !generated.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "lines of tests/corpus/bad/expected.tsv without their input: {missing:?}"
    );
    assert!(expected.len() >= 60, "only {} inputs", expected.len());

    let (tmp, lake) = lake_with_rows(&[pstn_row(
        "keep",
        "2026-11-01T08:00:00Z",
        "0.10",
        "EUR",
        "DE",
        60,
    )]);
    let lake_arg = lake.to_str().unwrap();
    let before = state(&lake);
    let (mut with_row, mut from_stdin) = (0, 0);
    for line in &expected {
        let [name, code, fragments @ ..] = &line[..] else {
            panic!("a line without an exit code: {line:?}")
        };
        let code: i32 = code.parse().expect("an exit code");
        assert!(!fragments.is_empty(), "{name}: no fragment to look for");
        with_row += usize::from(fragments.iter().any(|f| f.starts_with("row ")));
        let is_generated = generated.contains(name);
        let path = if is_generated {
            let path = tmp.path().join(name);
            std::fs::write(&path, generate(name)).unwrap();
            path
        } else {
            dir.join(name)
        };
        let out = run(&["ingest", path.to_str().unwrap(), "--lake", lake_arg]);
        let named = format!("`{}`", path.display());
        check_refused(name, &out, code, &named, fragments);
        assert!(state(&lake) == before, "{name}: the lake changed");
        if is_generated {
            std::fs::remove_file(&path).unwrap();
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let out = run_with_stdin(&["ingest", "-", "--lake", lake_arg], &bytes);
        let what = format!("{name} from stdin");
        check_refused(&what, &out, code, "`<stdin>`", fragments);
        assert!(state(&lake) == before, "{what}: the lake changed");
        from_stdin += 1;
    }
    let n = expected.len();
    record_figures(
        "corpus-bad",
        &format!(
            "bad-input corpus: {n} inputs tried, {n} refused with file/row/field named ({with_row} \
             with a row), lake unchanged after each; {from_stdin} also from stdin"
        ),
    );
}

#[test]
fn every_good_corpus_input_lands_exactly_its_rows() {
    let dir = corpus("good");
    // file → table → rows
    let mut want: BTreeMap<String, BTreeMap<String, Vec<Vec<String>>>> = BTreeMap::new();
    for line in manifest(&dir) {
        let [name, table, row @ ..] = &line[..] else {
            panic!("a line without a table: {line:?}")
        };
        let rows = want.entry(name.clone()).or_default();
        rows.entry(table.clone()).or_default().push(row.to_vec());
    }
    assert_eq!(
        want.keys().cloned().collect::<BTreeSet<_>>(),
        inputs(&dir),
        "the files of tests/corpus/good and the lines of its expected.tsv differ"
    );
    for (name, tables) in &want {
        let tmp = tempfile::tempdir().unwrap();
        let lake = tmp.path().join("lake");
        ingest(&dir.join(name), &lake);
        for (table, query) in [
            (
                "pstn_calls",
                "SELECT id, CAST(call_date AS VARCHAR), charge FROM pstn_calls ORDER BY id",
            ),
            (
                "direct_routing_calls",
                "SELECT id, CAST(call_date AS VARCHAR) FROM direct_routing_calls ORDER BY id",
            ),
        ] {
            match tables.get(table) {
                Some(rows) => {
                    let mut rows = rows.clone();
                    rows.sort();
                    assert_eq!(sql_rows(&lake, query), rows, "{name}: {table}");
                }
                None => assert!(!lake.join(table).exists(), "{name}: rows in {table}"),
            }
        }
    }
    record_figures(
        "corpus-good",
        &format!(
            "good-input corpus: {} inputs landed exactly their rows",
            want.len()
        ),
    );
}
