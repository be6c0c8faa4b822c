//! Citations, versions, validity, issuer entities and export, over a real socket: the seed
//! (the bundled corpus) and the fixtures of `tests/fixtures/relations/`, written for this — a
//! notice citing two of the seed's numbers and one of its titles, two versions of one
//! measure, a measure repealing older rules by title and number (and rules of another issuer
//! under the same title, which it does not repeal), notices of a ministry before and after its
//! renaming, and a notice past its stated validity. Expected ids come from the
//! pipeline run on each fixture file alone.

use std::path::PathBuf;
use std::sync::OnceLock;

use gongwen::config::ServerConfig;
use gongwen::ingest::Pipeline;
use gongwen::write::WriteOptions;
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{TestServer, assert_error, client, json};
use crate::support::{import_into, ingest_seed, repo_path, samples_dir, wait_for};

fn fixture_path(name: &str) -> PathBuf {
    repo_path(&format!("tests/fixtures/relations/{name}"))
}

/// The id of the one document of a fixture file.
fn id_of(name: &str) -> String {
    let docs = Pipeline::default()
        .ingest_path(&fixture_path(name))
        .expect("fixture ingests");
    assert_eq!(docs.len(), 1, "{name}");
    docs[0].id.clone()
}

/// The id of the seed document bearing `number`.
fn seed_id(number: &str) -> String {
    ingest_seed()
        .into_iter()
        .find(|d| d.doc_number.as_deref() == Some(number))
        .map(|d| d.id)
        .expect("seed document")
}

const FIRST: &[&str] = &["a-citing-notice.txt", "e-repealing-measures-2016.txt"];
const LATER: &[&str] = &[
    "b-measures-2005.txt",
    "c-measures-2012.txt",
    "d-rules-2003.txt",
    "f-labour-2006.txt",
    "g-hrss-2010.txt",
    "h-expired-notice.txt",
    "i-same-title-other-issuer.txt",
];

fn import(server: &TestServer, names: &[&str]) {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture_path(n)).collect();
    let report = import_into(&server.data, &paths, WriteOptions::default());
    assert_eq!(report.documents_indexed, names.len(), "{report:?}");
}

fn get(server: &TestServer, path: &str) -> Value {
    let response = client().get(server.url(path)).send().expect("request");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    json(response)
}

fn total(server: &TestServer) -> u64 {
    get(server, "/api/search?limit=0&facets=")["total"]
        .as_u64()
        .expect("total")
}

/// A server over the seed with the first fixtures imported, whose citation of the rules
/// not yet imported is checked unresolved, then the rest imported.
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = TestServer::start(ServerConfig::default());
        let seed = total(&server);
        import(&server, FIRST);
        wait_for("the first fixtures", || total(&server) == seed + 2);
        let early = get(
            &server,
            &format!(
                "/api/documents/{}/citations",
                id_of("e-repealing-measures-2016.txt")
            ),
        );
        assert_eq!(early["cites"].as_array().map(Vec::len), Some(2), "{early}");
        assert!(
            early["cites"]
                .as_array()
                .expect("cites")
                .iter()
                .all(|c| c["resolved"].as_array().is_some_and(|r| r.is_empty())),
            "nothing to resolve to yet: {early}"
        );
        import(&server, LATER);
        wait_for("the later fixtures", || {
            total(&server) == seed + 2 + LATER.len() as u64
        });
        server
    })
}

fn ids(hits: &Value) -> Vec<String> {
    let mut ids: Vec<String> = hits
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `/api/search` with `query`, 100 hits unless it says.
fn search(query: &str) -> Value {
    let limit = if query.contains("limit=") {
        ""
    } else {
        "limit=100&"
    };
    get(server(), &format!("/api/search?{limit}{query}"))
}

#[test]
fn citations_resolve_to_documents_imported_before_or_after() {
    let notice = id_of("a-citing-notice.txt");
    let cited = get(server(), &format!("/api/documents/{notice}/citations"));
    let cites = cited["cites"].as_array().expect("cites");
    let resolved = |kind: &str, text: &str| -> Vec<String> {
        let citation = cites
            .iter()
            .find(|c| c["kind"] == kind && c["text"] == text)
            .unwrap_or_else(|| panic!("no {kind} citation {text}: {cited}"));
        assert!(
            citation["context"]
                .as_str()
                .is_some_and(|c| c.contains(text)),
            "{citation}"
        );
        ids(&citation["resolved"])
    };
    let first = seed_id("浦府办〔2010〕98号");
    assert_eq!(
        resolved("number", "浦府办〔2010〕98号"),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        resolved("number", "浦委办发〔2008〕12号"),
        [seed_id("浦委办发〔2008〕12号")]
    );
    assert_eq!(
        resolved(
            "title",
            "关于做好2011年元旦、春节期间拥军优属拥政爱民工作的通知"
        ),
        std::slice::from_ref(&first)
    );
    // Cited by the notice (by title and number: once) and by the expired notice.
    let by = get(server(), &format!("/api/documents/{first}/citations"));
    assert_eq!(by["cited_by_total"], 2, "{by}");
    assert_eq!(
        ids(&by["cited_by"]),
        sorted(vec![notice, id_of("h-expired-notice.txt")])
    );
    // The repealing measure was imported before the rules it cites.
    let measure = id_of("e-repealing-measures-2016.txt");
    let rules = id_of("d-rules-2003.txt");
    let late = get(server(), &format!("/api/documents/{measure}/citations"));
    let cites = late["cites"].as_array().expect("cites");
    assert_eq!(cites.len(), 2, "{late}");
    let (by_title, by_number) = (&cites[0], &cites[1]);
    assert_eq!(by_number["kind"], "number");
    assert_eq!(ids(&by_number["resolved"]), std::slice::from_ref(&rules));
    // The title is also another issuer's: both listed, the measure's own issuer's marked.
    let other = id_of("i-same-title-other-issuer.txt");
    assert_eq!(
        ids(&by_title["resolved"]),
        sorted(vec![rules.clone(), other.clone()])
    );
    let marked: Vec<&str> = by_title["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .filter(|r| r["in_force_at_citation"] == true)
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(marked, [rules.as_str()]);
    assert_eq!(
        get(server(), &format!("/api/documents/{other}"))["status"],
        "in_force"
    );
}

#[test]
fn cites_queries_in_any_bracket_form_and_the_most_cited_first() {
    let notice = id_of("a-citing-notice.txt");
    let expired = id_of("h-expired-notice.txt");
    for number in ["浦府办〔2010〕98号", "浦府办[2010]98号", "浦府辦(2010)98號"] {
        let result = search(&format!("q=cites:{number}"));
        assert_eq!(
            ids(&result["hits"]),
            sorted(vec![notice.clone(), expired.clone()]),
            "{number}"
        );
    }
    let by_title = search("q=cites:《关于做好2011年元旦、春节期间拥军优属拥政爱民工作的通知》");
    assert_eq!(ids(&by_title["hits"]), [notice]);
    let ranked = search("sort=cited_by&facets=");
    let hits = ranked["hits"].as_array().expect("hits");
    assert_eq!(hits[0]["id"], seed_id("浦府办〔2010〕98号"));
    assert_eq!(hits[0]["cited_by_count"], 2);
    let counts: Vec<u64> = hits
        .iter()
        .map(|h| h["cited_by_count"].as_u64().expect("every hit has a count"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let cited: Vec<String> = hits
        .iter()
        .filter(|h| h["cited_by_count"].as_u64() > Some(0))
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(
        sorted(cited),
        sorted(vec![
            seed_id("浦府办〔2010〕98号"),
            seed_id("浦委办发〔2008〕12号"),
            id_of("d-rules-2003.txt"),
            id_of("f-labour-2006.txt"),
        ])
    );
}

#[test]
fn versions_are_grouped_dated_by_their_events_and_collapse() {
    let old = id_of("b-measures-2005.txt");
    let new = id_of("c-measures-2012.txt");
    let versions = get(server(), &format!("/api/documents/{old}/versions"));
    assert_eq!(versions["total"], 2);
    let listed: Vec<&str> = versions["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, [old.as_str(), new.as_str()], "oldest first");
    assert_eq!(versions["versions"][0]["status"], "superseded");
    assert_eq!(versions["versions"][0]["this"], true);
    assert_eq!(versions["versions"][1]["status"], "in_force");
    let document = get(server(), &format!("/api/documents/{old}"));
    assert_eq!(document["status"], "superseded");
    assert_eq!(document["status_by"]["id"], new.as_str());
    assert_eq!(document["versions_total"], 2);
    let all = search("q=历史档案");
    assert_eq!(all["total"], 2);
    let collapsed = search("q=历史档案&collapse=versions");
    assert_eq!(collapsed["total"], 1);
    assert_eq!(ids(&collapsed["hits"]), [new]);
    assert_eq!(collapsed["hits"][0]["versions_total"], 2);
    // A page of all dated documents collapsed, by date: the date order of the same documents
    // without the older version, read through the date sort of the uncollapsed search.
    let dated = "date_from=1900-01-01&sort=date_asc&facets=";
    let mut expected: Vec<String> = search(dated)["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .filter(|id| *id != old)
        .collect();
    expected = expected.into_iter().skip(2).take(4).collect();
    let page = search(&format!("{dated}&collapse=versions&offset=2&limit=4"));
    let got: Vec<String> = page["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn status_comes_with_its_evidence_and_filters() {
    let rules = id_of("d-rules-2003.txt");
    let measure = id_of("e-repealing-measures-2016.txt");
    let expired = id_of("h-expired-notice.txt");
    let document = get(server(), &format!("/api/documents/{rules}"));
    assert_eq!(document["status"], "repealed", "{document}");
    assert_eq!(document["status_by"]["id"], measure.as_str());
    assert!(
        document["status_by"]["context"]
            .as_str()
            .is_some_and(|c| c.ends_with("同时废止。")),
        "{document}"
    );
    assert_eq!(
        ids(&search("status=repealed")["hits"]),
        std::slice::from_ref(&rules)
    );
    assert_eq!(
        ids(&search("q=status:expired")["hits"]),
        std::slice::from_ref(&expired)
    );
    assert_eq!(
        get(server(), &format!("/api/documents/{expired}"))["valid_until"],
        "2011-12-31"
    );
    let superseded = search("q=status:superseded");
    assert_eq!(ids(&superseded["hits"]), [id_of("b-measures-2005.txt")]);
    let in_force = search("status=in_force&limit=0");
    let everything = search("limit=0");
    let facet: Vec<(String, u64)> = everything["facets"]["status"]
        .as_array()
        .expect("status facet")
        .iter()
        .map(|f| {
            (
                f["value"].as_str().expect("value").to_string(),
                f["count"].as_u64().expect("count"),
            )
        })
        .collect();
    let total = everything["total"].as_u64().expect("total");
    assert_eq!(
        facet.iter().map(|(_, c)| c).sum::<u64>(),
        total,
        "{facet:?}"
    );
    assert!(
        facet.contains(&("in_force".to_string(), total - 3)),
        "{facet:?}"
    );
    assert_eq!(in_force["total"], total - 3);
    // Excluding works over the relations' sets too.
    let not_in_force = search("q=-status:in_force");
    assert_eq!(
        ids(&not_in_force["hits"]),
        sorted(vec![rules, expired, id_of("b-measures-2005.txt")])
    );
}

#[test]
fn issuers_match_every_form_and_renamed_predecessors_on_request() {
    let labour = id_of("f-labour-2006.txt");
    let hrss = id_of("g-hrss-2010.txt");
    let query = |issuer: &str, extra: &str| {
        let encoded: String = url_encode(issuer);
        ids(&search(&format!("issuer={encoded}{extra}"))["hits"])
    };
    assert_eq!(
        query("人力资源和社会保障部", ""),
        std::slice::from_ref(&hrss)
    );
    assert_eq!(query("人社部", ""), std::slice::from_ref(&hrss));
    assert_eq!(
        query("人力资源和社会保障部", "&include_predecessors=true"),
        sorted(vec![labour.clone(), hrss.clone()])
    );
    assert_eq!(
        ids(&search("q=issuer:人社部&include_predecessors=true")["hits"]),
        sorted(vec![labour, hrss])
    );
    // The seed prints one entity two ways; the facet counts it once, under its name.
    let facet = &search("limit=0&facet_limit=0")["facets"]["issuer"];
    let names: Vec<&str> = facet
        .as_array()
        .expect("issuer facet")
        .iter()
        .map(|f| f["value"].as_str().expect("value"))
        .collect();
    assert!(
        names.contains(&"中共上海市浦东新区委员会办公室"),
        "{names:?}"
    );
    assert!(!names.contains(&"中共浦东新区委员会办公室"), "{names:?}");
    let suggestions = get(server(), "/api/facets/issuer?prefix=浦东");
    let values: Vec<&str> = suggestions["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["value"].as_str().expect("value"))
        .collect();
    // Entities with a form starting with the text first (the most documents first), then
    // those only containing it.
    assert_eq!(values[0], "中共上海市浦东新区委员会办公室", "{suggestions}");
    assert!(values.contains(&"浦东新区民政局"), "{suggestions}");
    assert!(
        values.contains(&"上海市浦东新区人民政府办公室"),
        "{suggestions}"
    );
    assert_eq!(
        values.last(),
        Some(&"中共上海市浦东新区社会事业工作委员会"),
        "{suggestions}"
    );
}

fn url_encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn facets_report_their_distinct_values_and_years_in_order() {
    let all = search("limit=0&facet_limit=0");
    let some = search("limit=0&facet_limit=2");
    for facet in ["issuer", "year", "doc_type", "subject", "status"] {
        let listed = all["facets"][facet].as_array().expect("facet").len();
        assert_eq!(all["facet_distinct"][facet], listed, "{facet}");
        assert_eq!(some["facet_distinct"][facet], listed, "{facet}");
        assert!(
            some["facets"][facet].as_array().expect("facet").len() <= 2,
            "{facet}"
        );
    }
    let years: Vec<&str> = all["facets"]["year"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| y["value"].as_str().expect("year"))
        .collect();
    let mut in_order = years.clone();
    in_order.sort_unstable();
    assert_eq!(years, in_order);
    assert!(
        years.contains(&"2003") && years.contains(&"2016"),
        "{years:?}"
    );
}

#[test]
fn export_streams_every_match_with_its_total() {
    let paged = search("q=通知&facets=");
    let expected = ids(&paged["hits"]);
    let response = client()
        .get(server().url("/api/export?q=通知&format=csv"))
        .send()
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-total-count"].to_str().ok(),
        Some(expected.len().to_string().as_str())
    );
    let body = response.bytes().expect("body");
    assert!(
        body.starts_with("\u{feff}".as_bytes()),
        "CSV starts with a BOM"
    );
    let mut reader = csv::Reader::from_reader(&body[3..]);
    assert_eq!(&reader.headers().expect("header")[0], "id");
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.expect("CSV row")[0].to_string())
        .collect();
    exported.sort();
    assert_eq!(exported, expected);
    let lines = client()
        .get(server().url("/api/export?q=通知&format=jsonl&fields=id,status,cited_by_count"))
        .send()
        .expect("export")
        .text()
        .expect("body");
    let rows: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert!(
        rows.iter()
            .all(|r| r.as_object().is_some_and(|o| o.len() == 3))
    );
}

#[test]
fn bad_research_parameters_are_400_naming_the_parameter() {
    let bad = |path: &str, code: &str, parameter: &str| {
        let response = client().get(server().url(path)).send().expect("request");
        let body = assert_error(response, StatusCode::BAD_REQUEST, code);
        assert_eq!(body["error"]["parameter"], parameter, "{path}: {body}");
    };
    bad("/api/search?status=valid", "invalid_parameter", "status");
    bad("/api/search?q=status:valid", "invalid_query", "q");
    bad("/api/search?q=cites:国发", "invalid_query", "q");
    bad("/api/search?q=cites:《》", "invalid_query", "q");
    bad(
        "/api/search?collapse=titles",
        "invalid_parameter",
        "collapse",
    );
    bad(
        "/api/search?include_predecessors=maybe",
        "invalid_parameter",
        "include_predecessors",
    );
    bad(
        "/api/search?facet_limit=-1",
        "invalid_parameter",
        "facet_limit",
    );
    bad("/api/export?format=xml", "invalid_parameter", "format");
    bad("/api/export?fields=id,body", "invalid_parameter", "fields");
    bad("/api/export?status=gone", "invalid_parameter", "status");
    let missing = client()
        .get(server().url("/api/documents/nope/citations"))
        .send()
        .expect("request");
    assert_error(missing, StatusCode::NOT_FOUND, "not_found");
}

/// The samples' export, read back with a CSV reader, against paged search; and the command
/// line's export against the API's.
#[test]
fn the_samples_export_whole_and_match_paged_search() {
    let Some(dir) = samples_dir("documents") else {
        return;
    };
    let server = TestServer::start(ServerConfig::default());
    let seed = total(&server);
    let report = import_into(&server.data, &[dir], WriteOptions::default());
    wait_for("the samples", || {
        total(&server) == seed + report.documents_indexed as u64
    });
    let query = "q=条例";
    let mut paged = Vec::new();
    let expected_total = get(&server, &format!("/api/search?{query}&limit=0"))["total"]
        .as_u64()
        .expect("total") as usize;
    assert!(expected_total > 200, "{expected_total}");
    for offset in (0..expected_total).step_by(100) {
        let page = get(
            &server,
            &format!("/api/search?{query}&limit=100&offset={offset}&facets="),
        );
        paged.extend(ids(&page["hits"]));
    }
    paged.sort();
    let response = client()
        .get(server.url(&format!("/api/export?{query}")))
        .send()
        .expect("export");
    assert_eq!(
        response.headers()["x-total-count"].to_str().ok(),
        Some(expected_total.to_string().as_str())
    );
    let body = response.bytes().expect("body");
    let mut reader =
        csv::Reader::from_reader(body.strip_prefix("\u{feff}".as_bytes()).expect("BOM"));
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[0].to_string())
        .collect();
    exported.sort();
    assert_eq!(exported, paged);
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["export", "--data"])
        .arg(&server.data)
        .args(["--format", "jsonl", "--fields", "id", "条例"])
        .output()
        .expect("gongwen export runs");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let mut from_cli: Vec<String> = String::from_utf8(cli.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON line")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    from_cli.sort();
    assert_eq!(from_cli, paged);
}

/// The relations of the 300 samples, printed for the record (`--nocapture`): versions against
/// the manifest's titles (two files with one title are two versions of one regulation there),
/// and every repeal against the repealing file's own bytes.
#[test]
fn the_samples_group_versions_as_their_manifest_titles_do() {
    let Some(dir) = samples_dir("documents") else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    import_into(
        data.path(),
        std::slice::from_ref(&dir),
        WriteOptions::default(),
    );
    let index = crate::support::open_live(data.path());
    let relations = index.relations(&index.searcher()).expect("relations");
    let samples = crate::known_items::load(&dir);
    let mut by_title: std::collections::HashMap<&str, Vec<String>> = Default::default();
    let mut text_of = std::collections::HashMap::new();
    for sample in &samples {
        by_title
            .entry(sample.title.as_str())
            .or_default()
            .push(sample.id.clone());
        text_of.insert(sample.id.clone(), sample.text.as_str());
    }
    for (title, ids) in &by_title {
        for id in ids {
            let versions = relations.versions(id).expect("known document");
            let grouped: Vec<String> = versions.versions.iter().map(|v| v.id.clone()).collect();
            assert_eq!(sorted(grouped), sorted(ids.clone()), "{title}");
        }
    }
    let groups = by_title.values().filter(|ids| ids.len() > 1).count();
    let mut citations = 0;
    let mut resolved = 0;
    let mut citing_documents = 0;
    let mut status = std::collections::HashMap::new();
    for (record, summary) in relations.records() {
        let cites = relations
            .citations(&record.id, 0)
            .expect("known document")
            .cites;
        citations += cites.len();
        let found = cites.iter().filter(|c| !c.resolved.is_empty()).count();
        for citation in cites.iter().filter(|c| !c.resolved.is_empty()) {
            println!(
                "cites: {} → {:?} {:?}",
                record.title.as_deref().unwrap_or_default(),
                citation.text,
                citation
                    .resolved
                    .iter()
                    .map(|r| (r.date.map(|d| d.to_string()), r.in_force_at_citation))
                    .collect::<Vec<_>>()
            );
        }
        resolved += found;
        citing_documents += usize::from(found > 0);
        *status.entry(summary.status.name()).or_insert(0) += 1;
        if let Some(by) = &summary.status_by
            && summary.status == gongwen::index::relations::Status::Repealed
        {
            let text = text_of[&by.id];
            let title = record.title.as_deref().expect("title");
            assert!(
                text.contains(&format!("《{title}》")) && text.contains(&by.context),
                "{} repeals {title}",
                by.id
            );
        }
        if summary.status != gongwen::index::relations::Status::InForce {
            println!(
                "{}: {} {} — {:?}",
                summary.status.name(),
                record.title.as_deref().unwrap_or_default(),
                record.date.map(|d| d.to_string()).unwrap_or_default(),
                summary.status_by
            );
        }
    }
    println!(
        "samples: {} documents, {citations} citations of which {resolved} resolve (in {citing_documents} documents), {groups} regulations in two or more versions, status {status:?}",
        relations.len()
    );
    assert_eq!(groups, 18, "the manifest's titles held twice");
    assert_eq!(status.get("superseded"), Some(&10));
}
