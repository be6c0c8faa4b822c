//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gongwen::index::{LiveIndex, SearchIndex};
use gongwen::ingest::Pipeline;
use gongwen::model::Document;
use gongwen::store::DataDir;
use gongwen::write::{ImportReport, Quiet, WriteOptions, Writes};
use serde_json::Value;

/// A path inside the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A fixture file's text.
pub fn fixture(relative: &str) -> String {
    let path = repo_path("tests/fixtures").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A directory of the shared samples, or `None` (with a notice) where they are not installed.
pub fn samples_dir(sub: &str) -> Option<PathBuf> {
    let dir = repo_path("../shared/samples").join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        notice(&format!(
            "{} is absent; skipping what needs it",
            dir.display()
        ));
        None
    }
}

/// Tells the person running the tests that something is skipped: straight to the process's
/// stderr, since the test harness captures `eprintln!` and a skip must be seen.
pub fn notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "notice: {message}");
}

/// Every file below `dir` (none when it cannot be read), sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The bundled seed compilation, as the repository names it.
pub const SEED: &str = "corpus/compilation-pudong-2006-2010.txt";

/// The seed compilation run through the pipeline (once per test binary).
pub fn ingest_seed() -> Vec<Document> {
    static DOCS: OnceLock<Vec<Document>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let bytes = std::fs::read(repo_path(SEED)).expect("the seed is bundled");
        Pipeline::default()
            .ingest_bytes(SEED, &bytes)
            .expect("the seed ingests")
    })
    .clone()
}

/// `value` with full-width ，；：（） folded to ASCII, for comparisons that ignore width.
pub fn width_folded(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(
            s.chars()
                .map(|c| match c {
                    '，' => ',',
                    '；' => ';',
                    '：' => ':',
                    '（' => '(',
                    '）' => ')',
                    c => c,
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(width_folded).collect()),
        other => other.clone(),
    }
}

/// Imports `paths` into the data directory `data` through the one write path.
pub fn import_into(data: &Path, paths: &[PathBuf], options: WriteOptions) -> ImportReport {
    let data = DataDir::new(data);
    let live = LiveIndex::open(&data).expect("index");
    Writes::new(data, options)
        .import(&live, paths, &Quiet)
        .expect("import")
}

/// The live index of the data directory `data`.
pub fn open_live(data: &Path) -> SearchIndex {
    SearchIndex::open_live(&DataDir::new(data)).expect("the index opens")
}

/// Waits for `condition`, checking it every 50 ms, for at most a minute (a bound on a hang,
/// not a timing the test depends on).
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
