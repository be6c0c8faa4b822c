//! Bulk import throughput against a plain tantivy index and segmentation alone, on the same
//! cores and the same text.
//!
//! Builds corpora of 100 and 200 MB of policy text (generated at bench time, never
//! committed), then measures, interleaved in one run:
//! 1. a plain tantivy index of the same files with the same kind of fields — jieba words with
//!    frequencies and characters with positions (gongwen's tokenizers over the folded text),
//!    the text stored — and nothing else: no repair, no metadata, no archive;
//! 2. `gongwen import` of the corpus into a fresh data directory, in a child process: read,
//!    hash, decode, repair, extract, fold, segment, index, archive, commit;
//! 3. jieba-rs segmenting the folded text of every document (search mode, no HMM: what the
//!    analyzer does), on all cores;
//!
//! and reports MB/s, documents/s, the ratio of the import to the plain index, the import's peak memory (its heap,
//! sampled, and its peak RSS, which also counts index files mapped while segments merge) and
//! the index size on disk. Run on two corpus sizes, the peak memory shows whether it follows
//! the writer budget or the corpus. (The peak RSS of children is a maximum over every child
//! run so far.)
//!
//! `cargo bench --bench import`

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gongwen::index::dir_size;
use rayon::prelude::*;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// MB/s of jieba-rs alone over the folded text of `dir`'s files, without and with its HMM for
/// unknown words (the analyzer runs without).
fn segmentation_only(dir: &Path) -> (f64, f64) {
    let texts: Vec<String> = files(dir)
        .par_iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("UTF-8 corpus");
            gongwen::lang::fold::fold_for_search(&text)
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let jieba = gongwen::lang::lexicon::jieba();
    let rate = |hmm: bool| {
        let started = Instant::now();
        let tokens: usize = texts
            .par_iter()
            .map(|t| jieba.cut_for_search(t, hmm).len())
            .sum();
        let seconds = started.elapsed().as_secs_f64();
        assert!(tokens > bytes / 10, "segmentation produced {tokens} tokens");
        bytes as f64 / 1e6 / seconds
    };
    (rate(false), rate(true))
}

struct ImportRun {
    seconds: f64,
    bytes: u64,
    documents: u64,
    peak_rss_mb: f64,
    peak_anon_mb: Option<f64>,
    index_mb: f64,
}

/// The anonymous (heap) part of a process's resident memory, in MB (Linux).
fn anon_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Peak resident memory of finished child processes, in MB.
fn children_peak_rss_mb() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn import(corpus: &Path) -> ImportRun {
    let data = tempfile::tempdir().expect("temp data dir");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["import", "--json", "--data"])
        .arg(data.path())
        .arg(corpus)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gongwen import");
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak: Option<f64> = None;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(mb) = anon_rss_mb(pid) {
                    peak = Some(peak.map_or(mb, |p: f64| p.max(mb)));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            peak
        })
    };
    let output = child.wait_with_output().expect("import finishes");
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak_anon_mb = sampler.join().expect("sampler");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["failed"].as_array().map(Vec::len), Some(0));
    ImportRun {
        seconds,
        bytes: report["bytes"].as_u64().expect("bytes"),
        documents: report["documents_indexed"].as_u64().expect("documents"),
        peak_rss_mb: children_peak_rss_mb(),
        peak_anon_mb,
        index_mb: dir_size(&data.path().join("index")) as f64 / 1e6,
    }
}

/// Documents a corpus made by `common::corpus` holds, counted from its files, not by the pipeline:
/// each sample regulation is one document, each copy of the bundled compilation five (its
/// five `第N篇`).
pub fn expected_documents(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .map(|name| match name {
            n if n.ends_with(".md") => 1,
            n if n.ends_with("compilation.txt") => 5,
            _ => 0,
        })
        .sum()
}

/// A plain tantivy index of `dir`'s files with the index's layout of text (words, characters
/// with positions, character pairs, the text stored), files read and folded on all cores. Returns its speed in
/// MB/s.
fn plain_index(dir: &Path) -> f64 {
    use tantivy::schema::{IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
    let indexed = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let mut schema = Schema::builder();
    let words = schema.add_text_field(
        "words",
        indexed(gongwen::analysis::WORDS, IndexRecordOption::WithFreqs),
    );
    let chars = schema.add_text_field(
        "chars",
        indexed(
            gongwen::analysis::CHARS,
            IndexRecordOption::WithFreqsAndPositions,
        ),
    );
    let grams = schema.add_text_field(
        "grams",
        indexed(gongwen::analysis::GRAMS, IndexRecordOption::Basic),
    );
    let stored = schema.add_text_field("text", STORED);
    let target = tempfile::tempdir().expect("plain index dir");
    let index = tantivy::Index::create_in_dir(target.path(), schema.build()).expect("index");
    gongwen::analysis::register(&index, Default::default());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let writer: tantivy::IndexWriter = index
        .writer_with_num_threads(threads, 256 * 1024 * 1024)
        .expect("writer");
    let started = Instant::now();
    let bytes: usize = files(dir)
        .par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("UTF-8 corpus");
            let folded = gongwen::lang::fold::fold_for_search(&text);
            let mut doc = tantivy::TantivyDocument::default();
            doc.add_text(words, &folded);
            doc.add_text(grams, &folded);
            doc.add_text(chars, &folded);
            doc.add_text(stored, &text);
            writer.add_document(doc).expect("add");
            text.len()
        })
        .sum();
    let mut writer = writer;
    writer.commit().expect("commit");
    writer.wait_merging_threads().expect("merge");
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for size in [100_000_000u64, 200_000_000] {
        let corpus = common::corpus(size);
        let mb = dir_size(&corpus) as f64 / 1e6;
        let plain = plain_index(&corpus);
        let run = import(&corpus);
        let (segment, segment_hmm) = segmentation_only(&corpus);
        assert_eq!(
            run.documents,
            expected_documents(&corpus),
            "every document of the corpus indexed"
        );
        let import_mbs = run.bytes as f64 / 1e6 / run.seconds;
        println!("corpus {mb:.0} MB, {cores} cores");
        println!("  plain tantivy index, same fields: {plain:.1} MB/s");
        println!(
            "  jieba-rs segmentation alone: {segment:.1} MB/s as the analyzer runs it (no HMM), {segment_hmm:.1} MB/s with HMM"
        );
        println!(
            "  gongwen import: {import_mbs:.1} MB/s, {:.0} documents/s, {:.1} s for {} documents",
            run.documents as f64 / run.seconds,
            run.seconds,
            run.documents
        );
        println!(
            "  import / plain index: {:.2}; import / segmentation: {:.2} (against segmentation with HMM: {:.2})",
            import_mbs / plain,
            import_mbs / segment,
            import_mbs / segment_hmm
        );
        let anon = run
            .peak_anon_mb
            .map_or_else(|| "n/a".to_string(), |mb| format!("{mb:.0} MB"));
        println!(
            "  peak heap (anonymous RSS) {anon}, peak RSS incl. mapped index files {:.0} MB, index {:.0} MB on disk",
            run.peak_rss_mb, run.index_mb
        );
    }
}
