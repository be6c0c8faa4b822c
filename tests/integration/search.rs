//! Search over the seed compilation (every query of the seed's query set) and over the 300
//! sample regulations (known-item ranking).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use gongwen::index::SearchIndex;
use gongwen::search::{self, Filters, SearchRequest, SearchResponse, Sort};
use serde::Deserialize;

use gongwen::write::WriteOptions;

use crate::known_items;
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

/// The sample regulations, imported once, and their directory (none, with a notice, where
/// they are absent).
fn samples_index() -> Option<(&'static SearchIndex, PathBuf)> {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    let dir = samples_dir("documents")?;
    let index = INDEX.get_or_init(|| build_index(std::slice::from_ref(&dir)).0);
    Some((index, dir))
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
            issuer: self.issuer.clone().into_iter().collect(),
            year: self.year.into_iter().collect(),
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
    // In order of the year, for charts.
    assert_eq!(
        year,
        [
            ("2007".to_string(), 1),
            ("2008".to_string(), 2),
            ("2010".to_string(), 1)
        ]
    );
    let filtered = run(
        index,
        "",
        Filters {
            year: vec![2008],
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

#[test]
fn exact_text_ranks_above_near_words_above_scattered_words_whatever_the_titles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let filler = "本办法适用于本市行政区域内的有关活动。".repeat(12);
    let docs = [
        (
            "exact.txt",
            "关于印发工作规则的通知",
            format!("{filler}各区应当加强垃圾分类收运管理，做好工作。"),
        ),
        (
            "near.txt",
            "关于印发工作规则的通知",
            format!("{filler}各区应当加强垃圾分类和收运的日常管理。"),
        ),
        (
            "apart.txt",
            "收运管理办法",
            format!("{filler}垃圾分类。{filler}收运。{filler}管理。"),
        ),
    ];
    for (name, title, body) in &docs {
        std::fs::write(dir.path().join(name), format!("{title}\n\n{body}\n")).expect("fixture");
    }
    let (index, _) = build_index(&[dir.path().to_path_buf()]);
    let response = run(&index, "垃圾分类收运管理", Filters::default());
    let snippets: Vec<&str> = response.hits.iter().map(|h| h.snippet.as_str()).collect();
    assert_eq!(response.total, 3, "{snippets:?}");
    assert!(
        snippets[0].contains("<mark>垃圾分类收运管理</mark>"),
        "{snippets:?}"
    );
    assert!(
        snippets[1].contains("和<mark>收运</mark>的日常"),
        "{snippets:?}"
    );
    assert_eq!(
        response.hits[2].title.as_deref(),
        Some("收运管理办法"),
        "{snippets:?}"
    );
}

/// Reciprocal rank of the first hit `accept` takes among the top ten of `q` (0 when none).
fn reciprocal_rank(index: &SearchIndex, q: &str, accept: impl Fn(&search::Hit) -> bool) -> f64 {
    let response = run(index, q, Filters::default());
    response
        .hits
        .iter()
        .position(accept)
        .map_or(0.0, |p| 1.0 / (p + 1) as f64)
}

#[test]
fn pasted_fragments_and_titles_rank_their_document_first() {
    let Some((index, dir)) = samples_index() else {
        return;
    };
    let samples = known_items::load(&dir);
    assert_eq!(index.num_docs(), samples.len() as u64);
    let fragments = known_items::fragments(&samples, gongwen::analysis::query_words, 11);
    let titles = known_items::titles(&samples);
    assert!(
        fragments.len() * 10 >= samples.len() * 9,
        "only {} of {} samples have a fragment",
        fragments.len(),
        samples.len()
    );
    let mut misses = Vec::new();
    let mut fragment_rr = 0.0;
    for item in &fragments {
        let id = &samples[item.sample].id;
        let rr = reciprocal_rank(index, &item.query, |h| &h.id == id);
        if rr < 1.0 {
            misses.push(format!("{} (rr {rr:.2})", item.query));
        }
        fragment_rr += rr;
    }
    let mut title_rr = 0.0;
    for item in &titles {
        let title = &samples[item.sample].title;
        let rr = reciprocal_rank(index, &item.query, |h| h.title.as_ref() == Some(title));
        if rr < 1.0 {
            misses.push(format!("title {} (rr {rr:.2})", item.query));
        }
        title_rr += rr;
    }
    let fragment_mrr = fragment_rr / fragments.len() as f64;
    let title_mrr = title_rr / titles.len() as f64;
    println!(
        "known-item MRR over {} sample regulations: {} fragments {fragment_mrr:.3}, {} titles {title_mrr:.3}; not first: {misses:?}",
        samples.len(),
        fragments.len(),
        titles.len(),
    );
    assert!(fragment_mrr >= 0.99, "fragment MRR {fragment_mrr}");
    assert!(title_mrr >= 0.99, "title MRR {title_mrr}");
}

/// A word typed alone finds exactly the documents whose text holds its characters in a row:
/// counted here by scanning each stored text, folded, for the word. Words of three or more
/// characters are found through the word field where the segmenter cut the text there and
/// through positions elsewhere, two-character words through their pair: both must agree with
/// the scan.
#[test]
fn a_word_finds_exactly_the_documents_holding_its_characters() {
    let Some((index, dir)) = samples_index() else {
        return;
    };
    let samples = known_items::load(&dir);
    let texts: Vec<String> = samples
        .iter()
        .map(|s| {
            let doc = index.document(&s.id).expect("read").expect("indexed");
            gongwen::lang::fold::fold_for_search(&doc.text)
        })
        .collect();
    let mut words: Vec<String> = Vec::new();
    for sample in &samples {
        for word in gongwen::analysis::query_words(&sample.title) {
            let han = word.chars().all(gongwen::lang::fold::is_han);
            if han && word.chars().count() >= 2 && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    assert!(words.len() >= 100, "only {} words", words.len());
    let mut long = 0;
    for word in &words {
        if gongwen::analysis::query_words(word) != [word.clone()] {
            continue;
        }
        long += usize::from(word.chars().count() >= 3);
        let expected = texts.iter().filter(|t| t.contains(word.as_str())).count();
        let found = run(index, word, Filters::default()).total;
        assert_eq!(found, expected, "{word}");
    }
    assert!(long >= 30, "only {long} words of three or more characters");
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
            "cites:沪委办[2008]12号" => g.which(|_, t| contains(t, "沪委办〔2008〕12号")),
            "cites:《西乡街道部门协作办法（试行）》" => {
                g.which(|_, t| contains(t, "《西乡街道部门协作办法（试行）》"))
            }
            // The seed repeals nothing, holds no two versions of one text and states no
            // validity: every document is in force.
            "status:in_force" => g.which(|_, t| !contains(t, "废止") && !contains(t, "有效期")),
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
