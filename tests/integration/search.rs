//! Search over the seed compilation (every query of the seed's query set) and over the 300
//! sample regulations (known-item ranking).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use gongwen::index::SearchIndex;
use gongwen::search::{self, Filters, SearchRequest, SearchResponse, Sort};
use serde::Deserialize;

use gongwen::write::WriteOptions;

use crate::support::{fixture, import_into, ingest_seed, open_live, repo_path, samples_dir};

/// An index of `paths` in a temporary data directory that lives as long as the test binary.
pub fn build_index(paths: &[PathBuf]) -> (SearchIndex, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let options = WriteOptions {
        heap_bytes: 64 * 1024 * 1024,
        ..WriteOptions::default()
    };
    let report = import_into(&dir, paths, options);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    (open_live(&dir), dir)
}

fn seed_index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| build_index(&[repo_path("corpus")]).0)
}

fn run(index: &SearchIndex, q: &str, filters: Filters) -> SearchResponse {
    let request = SearchRequest {
        q: q.to_string(),
        filters,
        limit: 10,
        ..SearchRequest::default()
    };
    search::search(index, &request).unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[derive(Deserialize)]
struct SeedQuery {
    q: String,
    filters: SeedFilters,
    expect_top: Vec<usize>,
    why: String,
}

#[derive(Deserialize, Default)]
struct SeedFilters {
    issuer: Option<String>,
    year: Option<i32>,
    date_from: Option<String>,
    date_to: Option<String>,
    doc_number: Option<String>,
}

impl SeedFilters {
    fn to_filters(&self) -> Filters {
        Filters {
            issuer: self.issuer.clone(),
            year: self.year,
            date_from: self.date_from.as_deref().map(|d| d.parse().expect("date")),
            date_to: self.date_to.as_deref().map(|d| d.parse().expect("date")),
            doc_number: self
                .doc_number
                .as_deref()
                .map(|n| n.parse().expect("number")),
            ..Filters::default()
        }
    }
}

#[test]
fn every_seed_query_finds_its_documents_first() {
    let index = seed_index();
    let ids: Vec<String> = ingest_seed().into_iter().map(|d| d.id).collect();
    let queries: Vec<SeedQuery> =
        serde_json::from_str(&fixture("seed/queries.json")).expect("queries");
    assert_eq!(queries.len(), 25);
    for query in &queries {
        let response = run(index, &query.q, query.filters.to_filters());
        let expected: HashSet<&str> = query
            .expect_top
            .iter()
            .map(|&i| ids[i - 1].as_str())
            .collect();
        let top: HashSet<&str> = response
            .hits
            .iter()
            .take(expected.len())
            .map(|h| h.id.as_str())
            .collect();
        assert_eq!(
            top,
            expected,
            "query {:?} {:?}: {}\n got {:?}",
            query.q,
            query.filters.to_filters(),
            query.why,
            response.hits.iter().map(|h| &h.title).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_cited_number_is_not_the_documents_own() {
    let index = seed_index();
    let filters = Filters {
        doc_number: Some("沪委办〔2008〕12号".parse().unwrap()),
        ..Filters::default()
    };
    assert_eq!(run(index, "", filters).total, 0);
    let own = Filters {
        doc_number: Some("浦委辦發(2008)12號".parse().unwrap()),
        ..Filters::default()
    };
    assert_eq!(run(index, "", own).total, 1);
}

#[test]
fn scripts_and_forms_find_the_same_documents() {
    let index = seed_index();
    let ids = |q: &str| -> Vec<String> {
        run(index, q, Filters::default())
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    let simplified = ids("拥军优属");
    assert!(!simplified.is_empty());
    assert_eq!(ids("擁軍優屬"), simplified);
    assert_eq!(ids("擁军优屬"), simplified);
    assert_eq!(ids("浦东"), ids("浦東"));
    assert!(ids("浦东").len() >= 4, "a word inside 浦东新区 is found");
    let single = ids("擁");
    assert!(
        single.contains(&simplified[0]),
        "a single character is found"
    );
}

#[test]
fn quoted_phrases_match_only_adjacent_characters() {
    let index = seed_index();
    assert!(run(index, "\"拥军优属\"", Filters::default()).total >= 1);
    // 优属 and 拥军 both occur, but never as 优属拥军 … in that order without a gap.
    assert_eq!(run(index, "\"优属实事\"", Filters::default()).total, 0);
    assert!(run(index, "优属 实事", Filters::default()).total >= 1);
    // Characters separated by punctuation are not adjacent.
    assert_eq!(run(index, "\"元旦春节\"", Filters::default()).total, 0);
    assert!(run(index, "元旦 春节", Filters::default()).total >= 1);
}

#[test]
fn the_query_language_composes() {
    let index = seed_index();
    let total = |q: &str| run(index, q, Filters::default()).total;
    assert_eq!(total("type:总结"), 1);
    assert_eq!(total("type:通知"), 3);
    assert_eq!(total("type:通知 OR type:意见"), 4);
    assert_eq!(
        total("通知 -type:通知"),
        1,
        "only the work summary mentions a 通知"
    );
    assert_eq!(total("year:2008"), 2);
    assert_eq!(total("year:2007..2008"), 3);
    assert_eq!(total("date:2008-01-01..2008-12-31"), 2);
    assert_eq!(total("issuer:浦東新區人民政府"), 1);
    assert_eq!(total("subject:民政"), 1);
    assert_eq!(total("number:西工委辦[2008]3號"), 1);
    assert_eq!(total("title:总结"), 1);
    assert_eq!(total("(浦东 OR 西乡) 协作"), 1);
    assert_eq!(total(""), 5);
}

#[test]
fn facets_count_the_filtered_result_set() {
    let index = seed_index();
    let response = run(index, "", Filters::default());
    let year: Vec<(String, u64)> = response
        .facets
        .year
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    assert_eq!(
        year,
        [
            ("2010".to_string(), 1),
            ("2008".to_string(), 2),
            ("2007".to_string(), 1)
        ]
    );
    let filtered = run(
        index,
        "",
        Filters {
            year: Some(2008),
            ..Filters::default()
        },
    );
    let types: Vec<(String, u64)> = filtered
        .facets
        .doc_type
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    assert_eq!(types, [("通知".to_string(), 2)]);
    assert!(
        filtered
            .facets
            .subject
            .iter()
            .any(|f| f.value == "政治纪律")
    );
}

#[test]
fn pagination_sorting_and_snippets() {
    let index = seed_index();
    let page = |offset: usize, limit: usize, sort: Sort| {
        search::search(
            index,
            &SearchRequest {
                q: String::new(),
                offset,
                limit,
                sort,
                ..SearchRequest::default()
            },
        )
        .expect("search")
    };
    let all = page(0, 10, Sort::DateDesc);
    assert_eq!(all.total, 5);
    let dates: Vec<Option<String>> = all
        .hits
        .iter()
        .map(|h| h.date.map(|d| d.to_string()))
        .collect();
    assert_eq!(dates[0].as_deref(), Some("2010-12-31"));
    assert_eq!(dates[4], None, "undated documents come last");
    let asc = page(0, 10, Sort::DateAsc);
    assert_eq!(
        asc.hits[0].date.map(|d| d.to_string()).as_deref(),
        Some("2007-07-13")
    );
    assert_eq!(asc.hits[4].date, None);
    let second = page(2, 2, Sort::DateDesc);
    assert_eq!(second.total, 5);
    assert_eq!(second.hits.len(), 2);
    assert_eq!(second.hits[0].id, all.hits[2].id);
    assert!(page(5, 10, Sort::DateDesc).hits.is_empty());

    let hit = &run(index, "擁軍優屬", Filters::default()).hits[0];
    assert!(
        hit.snippet.contains("<mark>擁軍優屬</mark>"),
        "{}",
        hit.snippet
    );
    assert!(!hit.snippet.contains("<b>"));
}

#[test]
fn malformed_queries_and_parameters_are_errors() {
    let index = seed_index();
    let error = |q: &str, limit: usize| {
        search::search(
            index,
            &SearchRequest {
                q: q.to_string(),
                limit,
                ..SearchRequest::default()
            },
        )
        .expect_err(q)
        .to_string()
    };
    assert!(error("\"拥军", 10).contains("never closed"));
    assert!(error("拥军 (", 10).contains("never closed"));
    assert!(error("date:2010-02-30", 10).contains("not a date"));
    assert!(error("foo:1", 10).contains("unknown field"));
    assert!(error("拥军", 101).contains("limit"));
    assert!(error(&"拥".repeat(1001), 10).contains("longer than"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, .. proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn arbitrary_queries_never_panic(q in "[ 拥军优属浦府办〔〕()（）\\[\\]\"“”:-OR ANDNOTtitle:issuer:number:year:date:type:subject:2010..98号-]{0,40}") {
        let _ = search::search(seed_index(), &SearchRequest { q, ..SearchRequest::default() });
    }
}

#[derive(Deserialize)]
struct Sample {
    file: String,
    title: String,
}

/// Candidate phrases of a document's body: the first sixteen characters of each sentence
/// after the header, without quotation marks.
fn body_phrases(text: &str) -> Vec<String> {
    let Some(body) = text.split("<!-- INFO END -->").nth(1) else {
        return Vec::new();
    };
    body.split(['。', '\n'])
        .map(str::trim)
        .filter(|s| !s.starts_with('#') && s.chars().count() >= 24)
        .map(|s| {
            s.chars()
                .filter(|c| !"\"“”「」『』()".contains(*c))
                .skip(4)
                .take(16)
                .collect()
        })
        .collect()
}

#[test]
fn sample_regulations_are_found_by_title_and_by_phrase() {
    let Some(dir) = samples_dir("documents") else {
        return;
    };
    let (index, _) = build_index(std::slice::from_ref(&dir));
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("manifest");
    let samples: Vec<Sample> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("manifest line"))
        .collect();
    assert_eq!(index.num_docs(), 300);
    let rank = |q: &str, accept: &dyn Fn(&search::Hit) -> bool| -> Option<usize> {
        let response = run(&index, q, Filters::default());
        response.hits.iter().position(accept).map(|p| p + 1)
    };
    let texts: Vec<(String, String)> = samples
        .iter()
        .map(|s| {
            let text = std::fs::read_to_string(dir.join(&s.file)).expect("sample");
            (s.title.clone(), text)
        })
        .collect();
    // A distinctive phrase: one no document with another title contains.
    let distinctive = |title: &str, text: &str| -> Option<String> {
        body_phrases(text).into_iter().find(|phrase| {
            texts.iter().all(|(other_title, other)| {
                other_title == title || !other.contains(phrase.as_str())
            })
        })
    };
    let (mut title_rr, mut phrase_rr, mut phrases) = (0.0, 0.0, 0);
    let mut misses = Vec::new();
    for (sample, (_, text)) in samples.iter().zip(&texts) {
        let same_title = |h: &search::Hit| h.title.as_deref() == Some(sample.title.as_str());
        match rank(&sample.title, &same_title) {
            Some(r) => title_rr += 1.0 / r as f64,
            None => misses.push(sample.title.clone()),
        }
        if let Some(phrase) = distinctive(&sample.title, text) {
            phrases += 1;
            if let Some(r) = rank(&phrase, &same_title) {
                phrase_rr += 1.0 / r as f64;
            }
        }
    }
    let title_mrr = title_rr / samples.len() as f64;
    let phrase_mrr = phrase_rr / phrases as f64;
    println!(
        "known-item MRR over {} sample regulations: titles {title_mrr:.3}, body phrases {phrase_mrr:.3} ({phrases} phrases)",
        samples.len()
    );
    assert!(misses.is_empty(), "titles not found: {misses:?}");
    assert!(title_mrr >= 0.95, "title MRR {title_mrr}");
    assert!(phrase_mrr >= 0.9, "phrase MRR {phrase_mrr}");
}

/// The seed's five documents as their golden files describe them: metadata from
/// `expected-metadata.json`, text from `expected-repaired-simplified.txt` cut at its headers.
struct Golden {
    meta: Vec<serde_json::Value>,
    texts: Vec<String>,
}

fn golden() -> Golden {
    let meta: Vec<serde_json::Value> =
        serde_json::from_str(&fixture("seed/expected-metadata.json")).expect("golden metadata");
    let text = fixture("seed/expected-repaired-simplified.txt");
    let mut texts: Vec<String> = Vec::new();
    for line in text.lines() {
        if gongwen::ingest::split::is_section_header(line) || texts.is_empty() {
            texts.push(String::new());
        }
        if let Some(current) = texts.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert_eq!((meta.len(), texts.len()), (5, 5));
    Golden { meta, texts }
}

impl Golden {
    /// The 1-based indexes of the documents for which `keep` holds.
    fn which(&self, keep: impl Fn(&serde_json::Value, &str) -> bool) -> Vec<usize> {
        (0..5)
            .filter(|&i| keep(&self.meta[i], &self.texts[i]))
            .map(|i| i + 1)
            .collect()
    }
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default()
}

fn year_of(meta: &serde_json::Value) -> Option<i32> {
    let year = |v: &serde_json::Value| v.as_str().and_then(|d| d.get(..4)?.parse().ok());
    year(&meta["date"])
        .or_else(|| year(&meta["print_date"]))
        .or_else(|| meta["doc_number_parts"]["year"].as_i64().map(|y| y as i32))
}

#[test]
fn every_query_example_of_the_readme_finds_what_the_readme_says() {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README");
    let table = readme
        .split("## Query language")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's query language section");
    let examples: Vec<String> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|row| {
            let first = row.split('|').nth(1).unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let g = golden();
    let contains = |t: &str, w: &str| t.contains(w);
    let date = |m: &serde_json::Value| m["date"].as_str().map(str::to_string);
    let expected = |q: &str| -> Option<Vec<usize>> {
        Some(match q {
            "拥军优属 春节" => g.which(|_, t| contains(t, "拥军优属") && contains(t, "春节")),
            "\"拥军优属\"" => g.which(|_, t| contains(t, "拥军优属")),
            "通知 OR 意见" => g.which(|_, t| contains(t, "通知") || contains(t, "意见")),
            "通知 -转发" => g.which(|_, t| contains(t, "通知") && !contains(t, "转发")),
            "NOT 转发" => g.which(|_, t| !contains(t, "转发")),
            "(通知 OR 意见) 浦东" => {
                g.which(|_, t| (contains(t, "通知") || contains(t, "意见")) && contains(t, "浦东"))
            }
            "title:拥军" => {
                g.which(|m, _| m["title"].as_str().is_some_and(|t| t.contains("拥军")))
            }
            "issuer:浦东新区人民政府" => g.which(|m, _| {
                strings(&m["issuers"]).contains(&"浦东新区人民政府")
                    || strings(&m["issuer_aliases"]).contains(&"浦东新区人民政府")
            }),
            "number:浦府办[2010]98号" => {
                g.which(|m, _| m["doc_number"] == "浦府办〔2010〕98号")
            }
            "type:通知" => g.which(|m, _| m["doc_type"] == "通知"),
            "subject:民政" => g.which(|m, _| strings(&m["subject_words"]).contains(&"民政")),
            "year:2008" => g.which(|m, _| year_of(m) == Some(2008)),
            "year:2006..2010" => {
                g.which(|m, _| year_of(m).is_some_and(|y| (2006..=2010).contains(&y)))
            }
            "date:2008-01-01..2010-12-31" => g.which(|m, _| {
                date(m).is_some_and(|d| ("2008-01-01".."2011-01-01").contains(&d.as_str()))
            }),
            "date:..2009-06" => g.which(|m, _| date(m).is_some_and(|d| d.as_str() < "2009-07")),
            "date:2008" => g.which(|m, _| date(m).is_some_and(|d| d.starts_with("2008"))),
            "浦府辦(2010)98號" => g.which(|m, t| {
                m["doc_number"] == "浦府办〔2010〕98号" || contains(t, "浦府办〔2010〕98号")
            }),
            _ => return None,
        })
    };
    let index = seed_index();
    let ids: Vec<String> = ingest_seed().into_iter().map(|d| d.id).collect();
    assert!(examples.len() >= 17, "{examples:?}");
    for q in &examples {
        let want =
            expected(q).unwrap_or_else(|| panic!("README example `{q}` has no expectation here"));
        assert!(
            !want.is_empty(),
            "`{q}`: the golden files say nothing matches"
        );
        let response = run(index, q, Filters::default());
        let mut got: Vec<usize> = response
            .hits
            .iter()
            .filter_map(|h| ids.iter().position(|id| *id == h.id).map(|i| i + 1))
            .collect();
        if q.starts_with("浦府辦") {
            assert_eq!(
                got.first(),
                Some(&1),
                "`{q}`: the document bearing it first"
            );
        }
        got.sort_unstable();
        assert_eq!(got, want, "`{q}`");
    }
}
