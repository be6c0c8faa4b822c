//! A realistic corpus for benchmarks, generated at bench time (never committed): the sample
//! regulations (or the bundled compilation where they are absent) copied until the corpus
//! reaches a size, each copy carrying its own note so that every file has its own bytes and so
//! its own document ids.

use std::path::{Path, PathBuf};

/// The directory of a generated corpus of at least `min_bytes`, made on first use.
pub fn corpus(min_bytes: u64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root
        .join("target/bench-data")
        .join(format!("corpus-{}mb", min_bytes / 1_000_000));
    let done = dir.join(".complete");
    if done.exists() {
        return dir;
    }
    let sources = sources(root);
    assert!(
        !sources.is_empty(),
        "no source documents for the bench corpus"
    );
    std::fs::create_dir_all(&dir).expect("bench corpus dir");
    let mut written = 0u64;
    let mut copy = 0usize;
    while written < min_bytes {
        for (name, bytes) in &sources {
            let mut varied = bytes.clone();
            varied.extend_from_slice(format!("\n（汇编副本第{copy}号）\n").as_bytes());
            let file = dir.join(format!("{copy:04}-{name}"));
            std::fs::write(&file, &varied).expect("write bench file");
            written += varied.len() as u64;
        }
        copy += 1;
    }
    std::fs::write(&done, written.to_string()).expect("mark corpus complete");
    dir
}

fn sources(root: &Path) -> Vec<(String, Vec<u8>)> {
    let samples = root.join("../shared/samples/documents");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&samples)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .filter_map(|p| {
                    let name = p.file_name()?.to_str()?.to_string();
                    Some((name, std::fs::read(&p).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty() {
        eprintln!(
            "notice: {} is absent; the bench corpus is made of the bundled compilation",
            samples.display()
        );
        let seed = root.join("corpus/compilation-pudong-2006-2010.txt");
        if let Ok(bytes) = std::fs::read(&seed) {
            out.push(("compilation.txt".to_string(), bytes));
        }
    }
    out.sort();
    out
}
