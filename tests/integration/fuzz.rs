//! The fuzz campaign: generated queries through the parser (and a share of them through the
//! whole search), and generated and mutated files through decode → repair → split → extract.
//! Every case must end without a panic and within a time bound; an abort (a stack overflow)
//! ends the whole run, which fails it.
//!
//! `cargo test` runs a small budget. The full campaign, with a seed and budgets of its own:
//!
//! ```text
//! GONGWEN_FUZZ_QUERIES=1000000 GONGWEN_FUZZ_FILES=100000 GONGWEN_FUZZ_SEED=7 \
//!     GONGWEN_FUZZ_CASE_MS=2000 cargo test --release --test integration fuzz -- --nocapture
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gongwen::index::SearchIndex;
use gongwen::ingest::Pipeline;
use gongwen::search::{self, SearchRequest, query};

use crate::known_items::SplitMix;
use crate::support::{repo_path, samples_dir};

/// The longest a single case may take (`GONGWEN_FUZZ_CASE_MS`; the default allows for an
/// unoptimised build, where it catches hangs rather than slow cases).
fn case_bound() -> Duration {
    Duration::from_millis(budget("GONGWEN_FUZZ_CASE_MS", 20_000) as u64)
}

fn budget(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Draws reproducible from its seed ([`SplitMix`]).
struct Rng(SplitMix);

impl Rng {
    fn from_env() -> Rng {
        Rng(SplitMix(budget("GONGWEN_FUZZ_SEED", 20_261_202) as u64))
    }

    fn next(&mut self) -> u64 {
        self.0.next()
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.below(n)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Any scalar value, weighted towards what queries and files hold.
    fn char(&mut self) -> char {
        let ranges: &[(u32, u32)] = &[
            (0x20, 0x7E),
            (0x4E00, 0x9FFF),
            (0x3000, 0x303F),
            (0xFF00, 0xFFEF),
            (0x0, 0x1F),
            (0x300, 0x36F),
            (0x590, 0x6FF),
            (0x1F300, 0x1FAFF),
            (0xE000, 0xF8FF),
            (0x10000, 0x10FFFF),
            (0xFFF0, 0xFFFF),
        ];
        let (lo, hi) = *self.pick(ranges);
        let c = lo + (self.next() % u64::from(hi - lo + 1)) as u32;
        char::from_u32(c).unwrap_or('\u{FFFD}')
    }
}

const WORDS: &[&str] = &[
    "拥军",
    "优属",
    "浦东",
    "通知",
    "意见",
    "办法",
    "人民政府",
    "春节",
    "的",
    "和",
    "工作",
    "條例",
    "區",
    "浦府辦",
    "双拥",
    "第一条",
    "2010",
    "98号",
    "公告",
    "国务院",
    "a",
    "Z9",
];
const FIELDS: &[&str] = &[
    "title", "issuer", "number", "type", "subject", "year", "date", "TITLE", "foo", "x",
];
const VALUES: &[&str] = &[
    "2008",
    "2006..2010",
    "..2009-06",
    "2008-01-01..2010-12-31",
    "2010-02-30",
    "2010..2009",
    "..",
    "浦府办[2010]98号",
    "浦府辦(2010)98號",
    "浦府办?2010?98号",
    "浦东新区人民政府",
    "通知",
    "，",
    "",
];

/// A query from the grammar of the query language, with damage thrown in.
fn query(rng: &mut Rng, depth: usize) -> String {
    let choice = if depth > 60 {
        rng.below(4)
    } else {
        rng.below(13)
    };
    match choice {
        0 => rng.pick(WORDS).to_string(),
        1 => (0..rng.below(6)).map(|_| rng.char()).collect(),
        2 => format!("\"{}\"", query(rng, depth + 1)),
        3 => format!("{}:{}", rng.pick(FIELDS), rng.pick(VALUES)),
        4 => format!("NOT {}", query(rng, depth + 1)),
        5 => format!("-{}", query(rng, depth + 1)),
        6 => format!("({})", query(rng, depth + 1)),
        7 => format!("{} OR {}", query(rng, depth + 1), query(rng, depth + 1)),
        8 => format!("{} AND {}", query(rng, depth + 1), query(rng, depth + 1)),
        9 => format!("{} {}", query(rng, depth + 1), query(rng, depth + 1)),
        10 => {
            let n = rng.below(500);
            let unit = *rng.pick(&["(", ")", "-", "NOT ", "\"", "“", "OR ", "的"]);
            format!("{}{}", unit.repeat(n), query(rng, depth + 1))
        }
        11 => {
            let mut q = query(rng, depth + 1);
            for _ in 0..rng.below(4) {
                let at = rng.below(q.chars().count() + 1);
                let byte = q.char_indices().nth(at).map_or(q.len(), |(b, _)| b);
                q.insert(byte, rng.char());
            }
            q
        }
        _ => rng.pick(VALUES).to_string(),
    }
}

fn seed_index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| crate::search::build_index(&[repo_path("corpus")]).0)
}

/// Runs `case`, failing on a panic or on a case over the time bound; returns its duration.
fn run_case(label: &str, input: &dyn std::fmt::Debug, case: impl FnOnce()) -> Duration {
    let started = Instant::now();
    if catch_unwind(AssertUnwindSafe(case)).is_err() {
        panic!("{label} panicked on {input:?}");
    }
    let took = started.elapsed();
    assert!(took < case_bound(), "{label} took {took:?} on {input:?}");
    took
}

#[test]
fn fuzz_the_query_parser_and_search() {
    let cases = budget("GONGWEN_FUZZ_QUERIES", 3_000);
    let mut rng = Rng::from_env();
    let index = seed_index();
    let (mut slowest, mut refused, mut searched) = (Duration::ZERO, 0usize, 0usize);
    let started = Instant::now();
    for n in 0..cases {
        let q = query(&mut rng, 0);
        let q: String = q.chars().take(search::MAX_QUERY_CHARS).collect();
        let took = run_case("the parser", &q, || {
            if query::parse(&q).is_err() {
                refused += 1;
            }
        });
        slowest = slowest.max(took);
        // One in forty through the whole search: building the query, collecting, snippets.
        if n % 40 == 0 {
            let request = SearchRequest {
                q: q.clone(),
                limit: 20,
                ..SearchRequest::default()
            };
            let took = run_case("search", &q, || {
                let _ = search::search(index, &request);
            });
            slowest = slowest.max(took);
            searched += 1;
        }
    }
    eprintln!(
        "fuzz: {cases} queries ({refused} refused as malformed, {searched} searched) in {:.1} s, 0 panics, slowest case {slowest:?}",
        started.elapsed().as_secs_f64()
    );
}

/// Texts to build files from: the bundled seed, and the sample regulations and legacy files
/// where they are installed.
fn sources() -> Vec<Vec<u8>> {
    let mut out = vec![std::fs::read(repo_path(crate::support::SEED)).expect("seed")];
    for sub in ["documents", "encodings"] {
        let Some(dir) = samples_dir(sub) else {
            continue;
        };
        let files = crate::support::files_below(&dir);
        for entry in files
            .iter()
            .filter(|p| p.extension().is_none_or(|x| x != "jsonl"))
        {
            if let Ok(bytes) = std::fs::read(entry) {
                out.push(bytes);
            }
        }
    }
    out
}

const DAMAGE: &[&str] = &[
    "(qū)",
    "?",
    "?jǐn)",
    "〔",
    "〕",
    "\n",
    "\r\n",
    " ",
    "第二篇：",
    "第十篇:",
    "<div>",
    "</p>",
    "# ",
    "<!-- INFO END -->",
    "\u{0}",
    "锟斤拷",
    "二Ο一Ο年",
    "主题词：",
    "抄送：",
    "（共印100份）",
    "浦府辦?2010?98號",
];

/// A file made from `sources`: a slice of one, maybe re-encoded, then mutated.
fn file(rng: &mut Rng, sources: &[Vec<u8>]) -> (String, Vec<u8>) {
    let source = rng.pick(sources);
    let len = 1 + rng.below(source.len().min(24_000));
    let start = rng.below(source.len() - len + 1);
    let mut bytes = source[start..start + len].to_vec();
    if rng.chance(30) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let encoding = *rng.pick(&[
            encoding_rs::GBK,
            encoding_rs::GB18030,
            encoding_rs::BIG5,
            encoding_rs::UTF_16LE,
            encoding_rs::UTF_16BE,
        ]);
        bytes = match encoding {
            e if e == encoding_rs::UTF_16LE => {
                text.encode_utf16().flat_map(u16::to_le_bytes).collect()
            }
            e if e == encoding_rs::UTF_16BE => {
                text.encode_utf16().flat_map(u16::to_be_bytes).collect()
            }
            e => e.encode(&text).0.into_owned(),
        };
        if rng.chance(30) {
            let bom: &[u8] = match encoding {
                e if e == encoding_rs::UTF_16LE => &[0xFF, 0xFE],
                e if e == encoding_rs::UTF_16BE => &[0xFE, 0xFF],
                _ => &[0xEF, 0xBB, 0xBF],
            };
            bytes.splice(0..0, bom.iter().copied());
        }
    }
    for _ in 0..rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 => bytes
                .splice(at..at, rng.pick(DAMAGE).bytes())
                .for_each(drop),
            3 => {
                let other = rng.pick(sources);
                let take = rng.below(other.len().min(4_000));
                bytes
                    .splice(at..at, other[..take].iter().copied())
                    .for_each(drop);
            }
            4 => bytes.retain(|&b| b != b'\n'),
            5 => {
                let n = rng.below(20_000);
                let open = "<div>".repeat(n);
                bytes.splice(at..at, open.bytes()).for_each(drop);
            }
            _ => bytes.truncate(at),
        }
    }
    let name = rng
        .pick(&["a.txt", "b.html", "c.md", "d_big5.txt", "gbk/e.txt", "f"])
        .to_string();
    (name, bytes)
}

/// A large file: hundreds of kilobytes to megabytes, as one long line or many, in one
/// encoding or with UTF-8 and GBK lines mixed, so that pieces of long lines, documents cut
/// into parts and per-line decoding are exercised.
fn large_file(rng: &mut Rng, sources: &[Vec<u8>]) -> (String, Vec<u8>) {
    let source: &Vec<u8> = rng.pick(sources);
    let text = String::from_utf8_lossy(source).into_owned();
    let target = 300_000 + rng.below(2_700_000);
    let mut out = String::with_capacity(target + text.len());
    while out.len() < target {
        out.push_str(&text);
    }
    if rng.chance(50) {
        out = out.replace(['\n', '\r'], "");
    }
    let bytes = match rng.below(5) {
        0 => encoding_rs::GBK.encode(&out).0.into_owned(),
        1 => out.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        2 => {
            // Two UTF-8 lines, then the rest in GBK.
            let mut mixed = "第一条 为了规范口岸开放，制定本条例。\n第二条 本条例所称口岸。\n"
                .as_bytes()
                .to_vec();
            mixed.extend_from_slice(&encoding_rs::GBK.encode(&out).0);
            mixed
        }
        _ => out.into_bytes(),
    };
    ("large.txt".to_string(), bytes)
}

#[test]
fn fuzz_decode_repair_split_extract() {
    let cases = budget("GONGWEN_FUZZ_FILES", 200);
    let sources = sources();
    let mut rng = Rng::from_env();
    let pipeline = Pipeline::default();
    let (mut slowest, mut failed, mut documents, mut bytes_in) = (Duration::ZERO, 0, 0, 0);
    let started = Instant::now();
    for n in 0..cases {
        let (name, bytes) = if n % 100 == 50 {
            large_file(&mut rng, &sources)
        } else {
            file(&mut rng, &sources)
        };
        bytes_in += bytes.len();
        let took = run_case("the pipeline", &(&name, bytes.len()), || {
            match pipeline.ingest_bytes(&name, &bytes) {
                Ok(docs) => {
                    let mut ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    assert_eq!(ids.len(), docs.len(), "distinct ids");
                    let mut previous_end = 0;
                    for doc in &docs {
                        assert!(!doc.text.trim().is_empty(), "no empty document");
                        assert!(!doc.text.contains('\u{0}'), "no NUL");
                        assert!(
                            doc.text.len() <= gongwen::ingest::MAX_DOCUMENT_BYTES * 2,
                            "documents are capped"
                        );
                        let [from, to] = doc.source.byte_range;
                        assert!(from <= to && to <= bytes.len(), "byte range in the file");
                        if [from, to] != [0, bytes.len()] {
                            assert!(from >= previous_end, "documents follow each other");
                            previous_end = to;
                        }
                    }
                    documents += docs.len();
                }
                Err(_) => failed += 1,
            }
        });
        slowest = slowest.max(took);
    }
    eprintln!(
        "fuzz: {cases} files ({:.1} MB, {documents} documents, {failed} refused with an error) in {:.1} s, 0 panics, slowest case {slowest:?}",
        bytes_in as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}
