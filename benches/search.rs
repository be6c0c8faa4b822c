//! Query latency on an index of policy text (the sample regulations replicated to at least
//! 100 MB, or to the sizes in `GONGWEN_BENCH_CORPUS_MB`, e.g. `60,480`): 1-, 2- and 3-word
//! queries, pasted fragments of 8–12 characters and titles, each with facet counts, top-10
//! hits and snippets. Prints p50/p99 per class and size, then criterion's estimates on the
//! first size, and how long the archive's relations take to build. Writes the fragment and title queries to `target/bench-data/known-items.txt`
//! for `benches/wrk-search.lua`, and with `GONGWEN_BENCH_QUERIES_ONLY` set stops there
//! (`benches/wrk.sh` uses that). `GONGWEN_BENCH_ROUNDS` sets how often each class's queries
//! run for the percentiles (default: about 2,000 queries a class), `GONGWEN_BENCH_CLASS` runs
//! one class only (`1_word`, `2_word`, `3_word`, `fragment`, `title`).
//!
//! `cargo bench --bench search`

mod common;
// Shared with the ranking test, which also reads the samples' ids.
#[allow(dead_code)]
#[path = "../tests/integration/known_items.rs"]
mod known_items;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gongwen::index::{LiveIndex, SearchIndex};
use gongwen::search::{self, SearchRequest};
use gongwen::store::DataDir;
use gongwen::write::{Quiet, WriteOptions, Writes};

const CORPUS_MB: u64 = 100;

const WORD_QUERIES: &[&[&str]] = &[
    &[
        "条例",
        "人民政府",
        "监督",
        "罚款",
        "环境",
        "浦东",
        "代表",
        "登记",
        "安全",
        "教育",
    ],
    &[
        "人民政府 监督",
        "环境 保护",
        "法律 责任",
        "安全 生产",
        "行政 处罚",
        "代表 选举",
        "食品 安全",
        "城市 规划",
        "社会 保障",
        "知识 产权",
    ],
    &[
        "人民政府 监督 检查",
        "环境 保护 罚款",
        "代表 大会 常务委员会",
        "安全 生产 责任",
        "行政 许可 申请",
        "城市 规划 管理",
        "消费者 权益 保护",
        "劳动 合同 工资",
        "河道 管理 污染",
        "道路 交通 安全",
    ],
];

fn open_index(mb: u64) -> SearchIndex {
    let corpus = common::corpus(mb * 1_000_000);
    let data_dir = corpus.with_extension("search-data");
    let data = DataDir::new(&data_dir);
    match SearchIndex::open_live(&data) {
        Ok(index) if index.num_docs() > 0 => return index,
        // Built by another schema version, say: built again.
        _ => {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
    }
    let started = Instant::now();
    let live = LiveIndex::open(&data).expect("bench index");
    let report = Writes::new(data.clone(), WriteOptions::default())
        .import(&live, std::slice::from_ref(&corpus), &Quiet)
        .expect("bench import");
    drop(live);
    eprintln!(
        "built the bench index: {} documents, {:.0} MB, {:.1} s",
        report.documents_indexed,
        report.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    SearchIndex::open_live(&data).expect("bench index")
}

fn request(q: &str) -> SearchRequest {
    SearchRequest {
        q: q.to_string(),
        ..SearchRequest::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A class of queries: its name and its queries.
type Class = (String, Vec<String>);

fn classes() -> Vec<Class> {
    let mut out: Vec<Class> = WORD_QUERIES
        .iter()
        .enumerate()
        .map(|(i, qs)| {
            (
                format!("{}_word", i + 1),
                qs.iter().map(|q| q.to_string()).collect(),
            )
        })
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let samples = root.join("../shared/samples/documents");
    if !samples.join("manifest.jsonl").exists() {
        eprintln!(
            "notice: {} is absent; no fragment or title queries",
            samples.display()
        );
        return out;
    }
    let loaded = known_items::load(&samples);
    let fragments = known_items::fragments(&loaded, gongwen::analysis::query_words, 7);
    let titles = known_items::titles(&loaded);
    let lines: Vec<&str> = fragments
        .iter()
        .chain(&titles)
        .map(|k| k.query.as_str())
        .collect();
    let file = root.join("target/bench-data/known-items.txt");
    std::fs::create_dir_all(root.join("target/bench-data")).expect("bench data dir");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the known-item queries");
    eprintln!(
        "wrote {} queries for benches/wrk-search.lua to {}",
        lines.len(),
        file.display()
    );
    let queries = |items: &[known_items::KnownItem]| -> Vec<String> {
        items.iter().map(|k| k.query.clone()).collect()
    };
    out.push(("fragment".to_string(), queries(&fragments)));
    out.push(("title".to_string(), queries(&titles)));
    out
}

fn sizes() -> Vec<u64> {
    std::env::var("GONGWEN_BENCH_CORPUS_MB")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![CORPUS_MB])
}

fn latency(c: &mut Criterion) {
    let classes = classes();
    if std::env::var_os("GONGWEN_BENCH_QUERIES_ONLY").is_some() {
        return;
    }
    let sizes = sizes();
    for &mb in &sizes {
        let index = open_index(mb);
        // The archive's relations are built on a reader generation's first search.
        let started = Instant::now();
        let relations = index.relations(&index.searcher()).expect("relations");
        eprintln!(
            "index: {} documents, {:.0} MB on disk; relations of {} documents built in {:.0} ms",
            index.num_docs(),
            index.size_on_disk() as f64 / 1e6,
            relations.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        let only = std::env::var("GONGWEN_BENCH_CLASS").ok();
        for (name, queries) in &classes {
            if only.as_ref().is_some_and(|only| only != name) {
                continue;
            }
            let rounds = std::env::var("GONGWEN_BENCH_ROUNDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or((2000 / queries.len()).max(1));
            let mut timings = Vec::new();
            for _ in 0..rounds {
                for q in queries {
                    let started = Instant::now();
                    let response = search::search(&index, &request(q)).expect("search");
                    timings.push(started.elapsed());
                    assert!(response.total > 0, "{q} matches nothing");
                }
            }
            timings.sort();
            eprintln!(
                "{mb} MB, {name} queries with facets and snippets: p50 {:.2} ms, p99 {:.2} ms ({} runs)",
                percentile(&timings, 0.5).as_secs_f64() * 1e3,
                percentile(&timings, 0.99).as_secs_f64() * 1e3,
                timings.len()
            );
        }
    }
    let index = open_index(sizes[0]);
    let mut group = c.benchmark_group("search");
    for (name, queries) in &classes {
        group.bench_function(format!("{name}_with_facets"), |b| {
            let mut next = queries.iter().cycle();
            b.iter(|| {
                let q = next.next().expect("cycle");
                let response = search::search(&index, &request(black_box(q))).expect("search");
                assert!(response.total > 0);
                response
            })
        });
    }
    group.finish();
}

criterion_group!(benches, latency);
criterion_main!(benches);
