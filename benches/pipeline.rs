//! Throughput of the whole ingestion pipeline (decode → split → repair → extract → fold) on the
//! bundled damaged compilation, and on the sample regulations when they are installed.
//!
//! `cargo bench --bench pipeline`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gongwen::ingest::Pipeline;

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

criterion_group!(benches, pipeline);
criterion_main!(benches);
