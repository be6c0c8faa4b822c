//! Throughput of the whole ingestion pipeline (decode → split → repair → extract → fold) on the
//! bundled damaged compilation, and on the sample regulations when they are installed; then
//! time and peak heap on large inputs — the compilation's text joined into one damaged line of
//! 1 and 5 MB, and the compilation repeated into files of 25 and 100 MB — which must both grow
//! linearly with the size.
//!
//! `cargo bench --bench pipeline`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use gongwen::ingest::{Pipeline, sha256_hex};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `System::alloc`, with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SEED: &str = "corpus/compilation-pudong-2006-2010.txt";

fn pipeline(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seed = std::fs::read(root.join(SEED)).expect("bundled corpus");
    let pipeline = Pipeline::default();
    // Load the lexicon and tables outside the measurement.
    assert_eq!(
        pipeline.ingest_bytes(SEED, &seed).map(|d| d.len()).ok(),
        Some(5)
    );

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Bytes(seed.len() as u64));
    group.bench_function("damaged_compilation", |b| {
        b.iter(|| {
            let docs = pipeline
                .ingest_bytes(SEED, black_box(&seed))
                .expect("ingests");
            assert_eq!(docs.len(), 5);
            docs
        })
    });

    let samples = root.join("../shared/samples/documents");
    match std::fs::read_dir(&samples) {
        Ok(entries) => {
            let files: Vec<(String, Vec<u8>)> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?)))
                .collect();
            let bytes: usize = files.iter().map(|f| f.1.len()).sum();
            group.throughput(Throughput::Bytes(bytes as u64));
            group.sample_size(10);
            group.bench_function("sample_regulations", |b| {
                b.iter(|| {
                    let docs: usize = files
                        .iter()
                        .map(|(name, bytes)| {
                            pipeline.ingest_bytes(name, bytes).expect("ingests").len()
                        })
                        .sum();
                    assert_eq!(docs, files.len());
                    docs
                })
            });
        }
        Err(_) => eprintln!(
            "notice: {} is absent; benchmarking the bundled corpus only",
            samples.display()
        ),
    }
    group.finish();
}

/// Ingests `bytes` (documents dropped as they come, as the importer hands them on) and prints
/// the time and the peak heap above what was in use before.
fn measure(label: &str, name: &str, bytes: &[u8]) -> (f64, f64) {
    let sha256 = sha256_hex(bytes);
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let started = Instant::now();
    let documents = Pipeline {
        max_file_bytes: u64::MAX,
    }
    .ingest_each(name, bytes, &sha256, drop)
    .expect("ingests");
    let seconds = started.elapsed().as_secs_f64();
    let peak_mb = (PEAK.load(Ordering::Relaxed) - before) as f64 / 1e6;
    assert!(documents > 0, "{label}: no documents");
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "  {label}: {mb:.0} MB in {seconds:.2} s ({:.1} MB/s), {documents} documents, peak heap {peak_mb:.0} MB",
        mb / seconds
    );
    (seconds, peak_mb)
}

/// Time and memory on large inputs, printed as a table.
fn large_inputs(seed: &[u8]) {
    // Load the lexicon and tables before anything is measured.
    measure("warm-up", "seed.txt", seed);
    println!("large inputs (one thread, documents dropped as they come):");
    let text = String::from_utf8_lossy(seed).replace(['\r', '\n'], " ");
    let line = |bytes: usize| -> Vec<u8> {
        let mut out = text.repeat(bytes / text.len() + 1);
        let cut = (0..=bytes)
            .rev()
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(0);
        out.truncate(cut);
        out.into_bytes()
    };
    let (one, _) = measure("one damaged line", "line.txt", &line(1_000_000));
    let (five, _) = measure("one damaged line", "line.txt", &line(5_000_000));
    println!("    5 MB / 1 MB time: {:.1} (linear: 5)", five / one);
    let file = |bytes: usize| -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes + seed.len());
        while out.len() < bytes {
            out.extend_from_slice(seed);
            out.push(b'\n');
        }
        out
    };
    let (quarter, quarter_peak) = measure("damaged compilation file", "big.txt", &file(25_000_000));
    let (hundred, hundred_peak) =
        measure("damaged compilation file", "big.txt", &file(100_000_000));
    println!(
        "    100 MB / 25 MB time: {:.1} (linear: 4); peak heap {quarter_peak:.0} → {hundred_peak:.0} MB (bounded: no growth)",
        hundred / quarter
    );
}

criterion_group!(benches, pipeline);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seed = std::fs::read(root.join(SEED)).expect("bundled corpus");
    large_inputs(&seed);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
