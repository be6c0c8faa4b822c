//! Query latency on an index of at least 100 MB of policy text: 1-, 2- and 3-word queries, each
//! with facet counts, top-10 hits, stored documents and snippets. Prints p50/p99 per class,
//! then criterion's estimates.
//!
//! `cargo bench --bench search`

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gongwen::index::{LiveIndex, SearchIndex};
use gongwen::search::{self, SearchRequest};
use gongwen::store::DataDir;
use gongwen::write::{Quiet, WriteOptions, Writes};

const CORPUS_BYTES: u64 = 100_000_000;

const QUERIES: &[&[&str]] = &[
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

fn open_index() -> SearchIndex {
    let corpus = common::corpus(CORPUS_BYTES);
    let data_dir = corpus.with_extension("search-data");
    let data = DataDir::new(&data_dir);
    if let Ok(index) = SearchIndex::open_live(&data)
        && index.num_docs() > 0
    {
        return index;
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

fn latency(c: &mut Criterion) {
    let index = open_index();
    eprintln!(
        "index: {} documents, {:.0} MB on disk",
        index.num_docs(),
        index.size_on_disk() as f64 / 1e6
    );
    for (words, queries) in QUERIES.iter().enumerate() {
        let mut timings = Vec::new();
        for _ in 0..20 {
            for q in *queries {
                let started = Instant::now();
                let response = search::search(&index, &request(q)).expect("search");
                timings.push(started.elapsed());
                assert!(response.total > 0, "{q} matches nothing");
                assert!(!response.facets.year.is_empty());
            }
        }
        timings.sort();
        eprintln!(
            "{}-word queries with facets: p50 {:.2} ms, p99 {:.2} ms ({} runs)",
            words + 1,
            percentile(&timings, 0.5).as_secs_f64() * 1e3,
            percentile(&timings, 0.99).as_secs_f64() * 1e3,
            timings.len()
        );
    }
    let mut group = c.benchmark_group("search");
    for (words, queries) in QUERIES.iter().enumerate() {
        group.bench_function(format!("{}_word_with_facets", words + 1), |b| {
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
