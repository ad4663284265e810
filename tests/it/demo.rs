//! `pstn-lake demo`: it replaces only lakes it made.

use crate::helpers::*;

fn demo(lake: &std::path::Path) -> Run {
    run(&[
        "demo",
        "--lake",
        lake.to_str().unwrap(),
        "--days",
        "2",
        "--calls-per-day",
        "5",
    ])
}

#[test]
fn demo_replaces_its_own_lakes_and_never_another() {
    // A lake `ingest` made, with data: refused, every file kept.
    let (dir, lake) = lake_with_rows(&[pstn_row(
        "mine",
        "2026-11-01T08:00:00Z",
        "0.1",
        "EUR",
        "CH",
        60,
    )]);
    let before = snapshot(&lake);
    let out = demo(&lake).fails();
    assert!(
        out.stderr
            .contains("holds a lake that `pstn-lake demo` did not make"),
        "{}",
        out.stderr
    );
    assert!(
        snapshot(&lake) == before,
        "the demo changed a lake it did not make"
    );
    assert_eq!(
        sql_rows(&lake, "SELECT id FROM pstn_calls"),
        vec![vec!["mine".to_owned()]]
    );

    // Any other folder that is not empty: refused too.
    let folder = dir.path().join("notes");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("todo.txt"), "keep me").unwrap();
    let out = demo(&folder).fails();
    assert!(out.stderr.contains("is not empty"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(folder.join("todo.txt")).unwrap(),
        "keep me"
    );

    // A new folder, then the same folder again: the demo replaces its own lake.
    let demo_lake = dir.path().join("pstn-lake-demo");
    demo(&demo_lake).ok();
    assert!(demo_lake.join("_pstn_lake/demo").is_file());
    std::fs::write(demo_lake.join("stale.txt"), "from the first demo").unwrap();
    demo(&demo_lake).ok();
    assert!(
        !demo_lake.join("stale.txt").exists(),
        "the demo lake was not replaced"
    );
    assert!(demo_lake.join("pstn_calls").is_dir());
}

/// The README's examples that follow the demo work after it: each `pstn-lake report|sql|schema|
/// shell|ddl` line of its Query section, run as written (through `sh`, in a folder where `demo`
/// made `./pstn-lake-demo`), succeeds.
#[test]
fn the_readme_examples_work_after_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["demo", "--days", "2", "--calls-per-day", "5"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let query = &readme[readme.find("## Query").unwrap()..readme.find("## Tables").unwrap()];
    let examples: Vec<&str> = query
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| {
            [
                "pstn-lake report",
                "pstn-lake sql",
                "pstn-lake schema",
                "pstn-lake shell",
            ]
            .iter()
            .any(|p| l.starts_with(p) || l.contains(&format!("| {p}")))
        })
        .map(|l| l.split("  #").next().unwrap().trim())
        .collect();
    assert!(examples.len() >= 10, "{examples:?}");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pstn-lake"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for example in examples {
        let out = std::process::Command::new("sh")
            .args(["-c", example])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("PSTN_LAKE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
