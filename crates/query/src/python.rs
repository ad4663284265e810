//! Python's standard library as an independent reader of what the output formats write: its `csv`
//! module for CSV, its `html.parser` for the HTML page (the property tests' counterparts).

use std::path::Path;

/// Each file at `paths` as Python's `csv` module reads it (strictly, as a file opened with
/// `newline=''`, the way its documentation says to): rows of cells, the header first.
pub(crate) fn csv_rows(paths: &[&Path]) -> Vec<Vec<Vec<String>>> {
    ask("csv", paths)
}

/// One event of an HTML parse: a start tag with its attributes, an end tag, text (adjacent text
/// joined, character references resolved), or anything else (a declaration, a comment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Html {
    Start {
        tag: String,
        attrs: Vec<(String, Option<String>)>,
    },
    End {
        tag: String,
    },
    Text {
        text: String,
    },
    Other {
        text: String,
    },
}

/// Each file at `paths` as Python's `html.parser` reads it, as events.
pub(crate) fn html_events(paths: &[&Path]) -> Vec<Vec<Html>> {
    ask("html", paths)
}

/// Reads requests (`{"kind": "csv" or "html", "paths": [...]}`), a line each, and answers each with
/// a line of JSON (`{"read": [...]}`, or `{"error": "..."}` if a file could not be read); ends at
/// the end of its input.
const SCRIPT: &str = r#"
import csv, json, sys
from html.parser import HTMLParser

class Events(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events = []
    def handle_starttag(self, tag, attrs):
        self.events.append({"kind": "start", "tag": tag, "attrs": attrs})
    def handle_startendtag(self, tag, attrs):
        self.events.append({"kind": "other", "text": "<" + tag + "/>"})
    def handle_endtag(self, tag):
        self.events.append({"kind": "end", "tag": tag})
    def handle_data(self, data):
        if self.events and self.events[-1]["kind"] == "text":
            self.events[-1]["text"] += data
        else:
            self.events.append({"kind": "text", "text": data})
    def handle_comment(self, data):
        self.events.append({"kind": "other", "text": "<!--" + data + "-->"})
    def handle_decl(self, decl):
        self.events.append({"kind": "other", "text": "<!" + decl + ">"})
    def handle_pi(self, data):
        self.events.append({"kind": "other", "text": "<?" + data + ">"})
    def unknown_decl(self, data):
        self.events.append({"kind": "other", "text": "<![" + data + "]>"})

def read(kind, path):
    with open(path, newline="", encoding="utf-8") as f:
        if kind == "csv":
            return list(csv.reader(f, strict=True))
        parser = Events()
        parser.feed(f.read())
        parser.close()
        return parser.events

for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"read": [read(request["kind"], p) for p in request["paths"]]}
    except Exception as e:
        answer = {"error": repr(e)}
    print(json.dumps(answer), flush=True)
"#;

/// Asks the one Python process of this test run (started on first use, with `python3` from
/// `PATH`: the test tools' virtualenv under `scripts/test`) to read the files at `paths` as
/// `kind`. The process ends when the test run does (its input closes).
fn ask<T: serde::de::DeserializeOwned>(kind: &str, paths: &[&Path]) -> T {
    use std::io::{BufRead, Write};
    use std::process::{Child, Command, Stdio};
    use std::sync::Mutex;

    static PYTHON: Mutex<Option<(Child, std::io::BufReader<std::process::ChildStdout>)>> =
        Mutex::new(None);
    let mut python = PYTHON
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (child, answers) = python.get_or_insert_with(|| {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect(
                "python3 runs (the property tests read the outputs back with its standard library)",
            );
        let answers = std::io::BufReader::new(child.stdout.take().expect("piped"));
        (child, answers)
    });
    let request = serde_json::json!({
        "kind": kind,
        "paths": paths.iter().map(|p| p.to_str().expect("a UTF-8 temporary path")).collect::<Vec<_>>(),
    });
    let stdin = child.stdin.as_mut().expect("piped");
    writeln!(stdin, "{request}").expect("python3 reads its requests");
    let mut answer = String::new();
    answers.read_line(&mut answer).expect("python3 answers");
    assert!(
        !answer.is_empty(),
        "python3 stopped (its error is above) reading {kind}: {paths:?}"
    );
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Answer<T> {
        Read(T),
        Error(String),
    }
    match serde_json::from_str(&answer).expect("python3 answers with JSON") {
        Answer::Read(read) => read,
        Answer::Error(e) => panic!("python3 could not read {kind}: {e}"),
    }
}
