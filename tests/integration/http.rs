//! The server over real HTTP on a loopback socket: the seed queries through the API, document
//! and original retrieval, uploads in legacy encodings, authorisation, and one test per error
//! status.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use gongwen::config::{Cors, ServerConfig};
use gongwen::http::AppState;
use gongwen::store::DataDir;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

use crate::support::{SEED, fixture, ingest_seed, repo_path};

pub const TOKEN: &str = "test-admin-token";

/// A server running on its own thread and runtime, stopped (gracefully) when dropped.
pub struct TestServer {
    pub base: String,
    pub data: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over a fresh data directory with the bundled corpus imported.
    pub fn start(config: ServerConfig) -> TestServer {
        let data = tempfile::tempdir().expect("temp dir").keep();
        let data_dir = DataDir::new(&data);
        let live = gongwen::http::open_or_import(&data_dir, &repo_path("corpus")).expect("corpus");
        let state = AppState::new(live, config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                gongwen::http::serve(listener, state, async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server started");
        TestServer {
            base: format!("http://{addr}"),
            data,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The shared server: admin token set, small upload limit.
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TestServer::start(ServerConfig {
            admin_token: Some(TOKEN.to_string()),
            max_upload_bytes: 1_000_000,
            cors: Cors::from_origins(&["https://portal.example".to_string()]).expect("origin"),
            ..ServerConfig::default()
        })
    })
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

fn get(path: &str) -> Response {
    client().get(server().url(path)).send().expect("request")
}

pub fn json(response: Response) -> Value {
    response.json().expect("JSON body")
}

/// Asserts an error response: status, JSON shape and code.
pub fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/json")),
        "error bodies are JSON"
    );
    let body = json(response);
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    body
}

#[test]
fn the_seed_queries_through_the_api() {
    let ids: Vec<String> = ingest_seed().into_iter().map(|d| d.id).collect();
    let queries: Vec<Value> = serde_json::from_str(&fixture("seed/queries.json")).expect("queries");
    for query in queries {
        let mut params: Vec<(String, String)> =
            vec![("q".into(), query["q"].as_str().unwrap_or("").into())];
        if let Some(filters) = query["filters"].as_object() {
            for (key, value) in filters {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                params.push((key.clone(), value));
            }
        }
        let response = client()
            .get(server().url("/api/search"))
            .query(&params)
            .send()
            .expect("search");
        assert_eq!(response.status(), StatusCode::OK, "{params:?}");
        let body = json(response);
        let expected: Vec<&str> = query["expect_top"]
            .as_array()
            .expect("expect_top")
            .iter()
            .map(|i| ids[i.as_u64().unwrap() as usize - 1].as_str())
            .collect();
        let mut top: Vec<&str> = body["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .take(expected.len())
            .map(|h| h["id"].as_str().unwrap())
            .collect();
        top.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(top, want, "{params:?}: {}", query["why"]);
        for key in ["total", "took_ms", "offset", "limit", "hits", "facets"] {
            assert!(body.get(key).is_some(), "missing {key}");
        }
    }
}

#[test]
fn documents_and_originals_are_served() {
    let docs = ingest_seed();
    let response = get(&format!("/api/documents/{}", docs[4].id));
    assert_eq!(response.status(), StatusCode::OK);
    let mut served = json(response);
    let mut expected = serde_json::to_value(&docs[4]).expect("document JSON");
    // The server imported the corpus by an absolute path.
    assert!(served["source"]["path"].as_str().unwrap().ends_with(SEED));
    expected["source"]["path"] = served["source"]["path"].clone();
    // What the archive's relations add: a seed document nothing repeals or cites.
    let object = served.as_object_mut().expect("object");
    assert_eq!(object.remove("status"), Some("in_force".into()));
    assert_eq!(object.remove("status_by"), Some(Value::Null));
    assert_eq!(object.remove("cited_by_count"), Some(0.into()));
    assert_eq!(object.remove("versions_total"), Some(1.into()));
    assert!(served == expected, "the same object as inspect prints");

    let response = get(&format!("/api/documents/{}/original", docs[0].id));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/plain; charset=UTF-8"
    );
    let bytes = response.bytes().expect("bytes");
    assert_eq!(
        bytes.as_ref(),
        std::fs::read(repo_path(SEED)).expect("seed").as_slice()
    );
}

#[test]
fn health_stats_openapi_and_page() {
    let health = json(get("/api/health"));
    assert_eq!(health["status"], "ok");
    assert!(health["documents"].as_u64().unwrap() >= 5);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("index-schema/schema.json")).expect("schema"),
    )
    .expect("schema JSON");
    assert_eq!(health["index_version"], schema["version"]);

    let stats = json(get("/api/stats"));
    assert!(
        stats["by_year"]
            .as_array()
            .unwrap()
            .iter()
            .any(|y| y["value"] == "2008")
    );
    assert!(
        stats["by_type"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["value"] == "通知")
    );
    assert!(stats["index_bytes"].as_u64().unwrap() > 0);
    assert!(stats["archived_files"].as_u64().unwrap() >= 1);

    let openapi = json(get("/api/openapi.json"));
    for path in [
        "/api/search",
        "/api/documents",
        "/api/documents/{id}",
        "/api/documents/{id}/original",
        "/api/health",
        "/api/stats",
        "/api/reindex",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} not documented"
        );
    }
    assert!(openapi["components"]["schemas"].get("Document").is_some());

    let page = get("/");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().unwrap().contains("/api/search"));
}

fn upload(body: Vec<u8>, filename: &str, token: Option<&str>) -> Response {
    let mut request = client()
        .post(server().url("/api/documents"))
        .header("X-Filename", filename)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().expect("upload")
}

#[test]
fn uploads_in_gbk_and_big5_are_found_by_search() {
    let gbk_text = "关于加强城市绿化养护管理的通知\n各区县人民政府：\n为进一步加强行道树养护，特制定绿化养护细则。\n上海市绿化管理局\n2009年4月2日\n";
    let gbk = encoding_rs::GBK.encode(gbk_text).0.into_owned();
    let response = upload(gbk.clone(), "%E7%BB%BF%E5%8C%96.txt", Some(TOKEN));
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded = json(response);
    let id = uploaded["ids"][0].as_str().expect("id").to_string();
    assert_eq!(
        uploaded["documents"][0]["title"],
        "关于加强城市绿化养护管理的通知"
    );

    let big5_text = "關於推動社區長者照顧服務的意見\n各區公所：\n為推動長者照顧，鼓勵社區設立日間照顧據點。\n臺北市政府社會局\n2012年5月8日\n";
    let big5 = encoding_rs::BIG5.encode(big5_text).0.into_owned();
    let response = upload(big5, "elderly-big5.txt", Some(TOKEN));
    assert_eq!(response.status(), StatusCode::CREATED);
    let big5_id = json(response)["ids"][0].as_str().expect("id").to_string();

    let found = |q: &str| -> Vec<String> {
        let body = json(
            client()
                .get(server().url("/api/search"))
                .query(&[("q", q)])
                .send()
                .expect("search"),
        );
        body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(found("行道树养护"), vec![id.clone()]);
    assert_eq!(
        found("长者照顾 日间"),
        vec![big5_id.clone()],
        "traditional Big5 text, simplified query"
    );

    let original = get(&format!("/api/documents/{id}/original"));
    assert_eq!(
        original.headers()["content-type"].to_str().unwrap(),
        "text/plain; charset=GB2312"
    );
    assert_eq!(original.bytes().unwrap().as_ref(), gbk.as_slice());
    let doc = json(get(&format!("/api/documents/{big5_id}")));
    assert_eq!(doc["source"]["encoding"], "Big5");
    assert_eq!(doc["source"]["path"], "elderly-big5.txt");

    let again = upload(gbk, "again.txt", Some(TOKEN));
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json(again)["duplicate"], true);
}

#[test]
fn paging_far_past_the_end_is_empty_not_fatal() {
    for offset in ["17179869184", "18446744073709551615"] {
        let response = client()
            .get(server().url("/api/search"))
            .query(&[("q", "通知"), ("offset", offset)])
            .send()
            .expect("search");
        assert_eq!(response.status(), StatusCode::OK);
        let body = json(response);
        assert!(body["total"].as_u64().unwrap() > 0);
        assert_eq!(body["hits"].as_array().map(Vec::len), Some(0));
    }
    assert_eq!(
        json(get("/api/health"))["status"],
        "ok",
        "the server is still up"
    );
}

#[test]
fn writes_need_the_token() {
    assert_error(
        upload(b"text".to_vec(), "a.txt", None),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        upload(b"text".to_vec(), "a.txt", Some("wrong")),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let response = client()
        .post(server().url("/api/reindex"))
        .send()
        .expect("reindex");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[test]
fn a_server_without_a_token_is_read_only() {
    let server = TestServer::start(ServerConfig::default());
    let response = client()
        .post(server.url("/api/documents"))
        .bearer_auth("anything")
        .body("关于的通知")
        .send()
        .expect("upload");
    assert_error(response, StatusCode::FORBIDDEN, "forbidden");
    let response = client()
        .get(server.url("/api/search"))
        .query(&[("q", "通知")])
        .send()
        .expect("search");
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn a_filter_repeated_holds_for_any_of_its_values() {
    let expected: Vec<Value> =
        serde_json::from_str(&fixture("seed/expected-metadata.json")).expect("golden metadata");
    let count = |keep: &dyn Fn(&Value) -> bool| expected.iter().filter(|d| keep(d)).count();
    let total = |query: &str| -> usize {
        let body = json(get(&format!("/api/search?facets=&limit=0&{query}")));
        body["total"].as_u64().expect("total") as usize
    };
    let of_type = |t: &str| count(&|d: &Value| d["doc_type"] == t);
    assert_eq!(
        total("doc_type=%E9%80%9A%E7%9F%A5&doc_type=%E6%84%8F%E8%A7%81"),
        of_type("通知") + of_type("意见")
    );
    let exported =
        get("/api/export?doc_type=%E9%80%9A%E7%9F%A5&doc_type=%E6%84%8F%E8%A7%81&format=jsonl")
            .text()
            .expect("export");
    assert_eq!(exported.lines().count(), of_type("通知") + of_type("意见"));
    let dated_in =
        |y: &str| count(&|d: &Value| d["date"].as_str().is_some_and(|s| s.starts_with(y)));
    assert_eq!(
        total("year=2008&year=2010"),
        dated_in("2008") + dated_in("2010")
    );
    // Across filters all must hold: the notices of 2008.
    assert_eq!(
        total("year=2008&doc_type=%E9%80%9A%E7%9F%A5"),
        count(&|d: &Value| d["doc_type"] == "通知"
            && d["date"].as_str().is_some_and(|s| s.starts_with("2008")))
    );
    let body = assert_error(
        get("/api/search?status=in_force&status=valid"),
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    assert_eq!(body["error"]["parameter"], "status");
    let body = assert_error(
        get("/api/search?q=a&q=b"),
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains('q')),
        "{body}"
    );
}

#[test]
fn query_errors_name_their_reason_for_clients_to_word() {
    for (q, position, reason) in [
        ("拥军 \"优属", 3, "unclosed_quote"),
        ("(拥军", 0, "unclosed_parenthesis"),
        ("拥军)", 2, "unmatched_parenthesis"),
        ("title:", 0, "missing_value"),
        ("colour:red", 0, "unknown_field"),
        ("year:二〇一〇", 5, "invalid_value"),
        ("拥军 OR", 5, "missing_term"),
        ("，。", 0, "no_searchable_text"),
    ] {
        let response = client()
            .get(server().url("/api/search"))
            .query(&[("q", q)])
            .send()
            .expect("search");
        let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_query");
        assert_eq!(body["error"]["reason"], reason, "{q}: {body}");
        assert_eq!(body["error"]["position"], position, "{q}: {body}");
    }
}

#[test]
fn a_document_comes_highlighted_and_with_its_original_text() {
    let docs = ingest_seed();
    let expected: Vec<Value> =
        serde_json::from_str(&fixture("seed/expected-metadata.json")).expect("golden metadata");
    let seed = std::fs::read_to_string(repo_path(SEED)).expect("seed");
    let body = json(get(&format!(
        "/api/documents/{}?highlight=%E6%8B%A5%E5%86%9B%E4%BC%98%E5%B1%9E",
        docs[0].id
    )));
    let marked = body["highlighted_text"].as_str().expect("highlighted");
    // The term typed in simplified characters marks the traditional ones the text is in.
    assert!(marked.contains("<mark>擁軍優屬</mark>"), "{marked}");
    let unmarked = marked
        .replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    assert_eq!(
        unmarked, docs[0].text,
        "the whole text, escaped, nothing else changed"
    );
    assert!(
        json(get(&format!("/api/documents/{}", docs[0].id)))
            .get("highlighted_text")
            .is_none()
    );
    let body = assert_error(
        get(&format!(
            "/api/documents/{}?highlight=%22%E6%8B%A5",
            docs[0].id
        )),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_eq!(body["error"]["parameter"], "highlight");

    for (doc, golden) in docs.iter().zip(&expected) {
        let body = json(get(&format!("/api/documents/{}/source_text", doc.id)));
        let (from, to) = (
            golden["start_char"].as_u64().expect("start") as usize,
            golden["end_char"].as_u64().expect("end") as usize,
        );
        let original: String = seed.chars().skip(from).take(to - from).collect();
        assert_eq!(body["text"].as_str(), Some(original.as_str()), "{}", doc.id);
        assert_eq!(body["encoding"], "UTF-8");
    }
    let raw = expected[0]["doc_number_raw"].as_str().expect("raw number");
    let body = json(get(&format!("/api/documents/{}/source_text", docs[0].id)));
    assert!(
        body["text"].as_str().is_some_and(|t| t.contains(raw)),
        "the damage as it came"
    );

    let page = get(&format!("/documents/{}", docs[0].id));
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().expect("page").contains("/api/search"),
        "the page serves its permalinks"
    );
}

#[test]
fn bad_queries_and_parameters_are_400_with_a_position() {
    let search = |params: &[(&str, &str)]| {
        client()
            .get(server().url("/api/search"))
            .query(params)
            .send()
            .expect("search")
    };
    let body = assert_error(
        search(&[("q", "拥军 \"优属")]),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_eq!(body["error"]["position"], 3);
    assert_error(
        search(&[("q", "(拥军")]),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        search(&[("q", "date:2010-02-30")]),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    for params in [
        [("limit", "101")],
        [("limit", "ten")],
        [("offset", "-1")],
        [("year", "二〇一〇")],
        [("date_from", "2010/01/01")],
        [("doc_number", "浦府办98号")],
        [("sort", "newest")],
        [("facets", "year,colour")],
        [("colour", "red")],
    ] {
        let body = assert_error(
            search(&params),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(params[0].0),
            "{body}"
        );
    }
}

#[test]
fn only_the_facets_asked_for_are_counted() {
    let facets = |value: Option<&str>| -> Value {
        let mut params = vec![("q", "浦东")];
        params.extend(value.map(|v| ("facets", v)));
        let response = client()
            .get(server().url("/api/search"))
            .query(&params)
            .send()
            .expect("search");
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().expect("json")["facets"].clone()
    };
    let count = |facets: &Value, name: &str| facets[name].as_array().map_or(0, Vec::len);
    let all = facets(None);
    for name in ["issuer", "year", "doc_type"] {
        assert!(count(&all, name) > 0, "{name}: {all}");
    }
    let some = facets(Some("year, doc_type"));
    assert_eq!(some["year"], all["year"]);
    assert_eq!(some["doc_type"], all["doc_type"]);
    assert_eq!(count(&some, "issuer"), 0, "{some}");
    let none = facets(Some(""));
    for name in ["issuer", "year", "doc_type", "subject"] {
        assert_eq!(count(&none, name), 0, "{name}: {none}");
    }
}

#[test]
fn unknown_ids_and_routes_are_404_and_wrong_methods_405() {
    assert_error(
        get("/api/documents/0123456789abcdef0123"),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        get("/api/documents/nope/original"),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(get("/api/nothing"), StatusCode::NOT_FOUND, "not_found");
    let response = client()
        .delete(server().url("/api/search"))
        .send()
        .expect("delete");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

#[test]
fn oversized_uploads_are_413_and_undecodable_ones_422() {
    assert_error(
        upload(vec![b'a'; 1_000_001], "big.txt", Some(TOKEN)),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_error(
        upload(vec![0, 1, 2, 3, 0, 0, 9, 0xFF, 0], "blob.bin", Some(TOKEN)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "undecodable",
    );
    assert_error(
        upload(Vec::new(), "empty.txt", Some(TOKEN)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "undecodable",
    );
    assert_error(
        upload(b"%PDF-1.4\n".to_vec(), "scan.pdf", Some(TOKEN)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "undecodable",
    );
}

#[test]
fn a_write_while_an_import_runs_is_409() {
    let server = TestServer::start(ServerConfig {
        admin_token: Some(TOKEN.to_string()),
        ..ServerConfig::default()
    });
    let _import = DataDir::new(&server.data).lock_writes().expect("lock");
    let response = client()
        .post(server.url("/api/documents"))
        .bearer_auth(TOKEN)
        .body("关于加强管理的通知\n各单位：\n请遵照执行。\n")
        .send()
        .expect("upload");
    assert_error(response, StatusCode::CONFLICT, "index_busy");
}

#[test]
fn internal_faults_are_500_without_details() {
    let server = TestServer::start(ServerConfig::default());
    let docs = ingest_seed();
    // Lose the archived original behind the server's back.
    let archive = server.data.join("archive");
    for entry in std::fs::read_dir(&archive).expect("archive") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("remove");
        } else if name.starts_with("pack-") {
            std::fs::remove_file(&path).expect("remove");
        }
    }
    let response = client()
        .get(server.url(&format!("/api/documents/{}/original", docs[0].id)))
        .send()
        .expect("original");
    let body = assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("archive"),
        "no internals leak: {body}"
    );
}

#[test]
fn cors_answers_the_configured_portal_only() {
    let preflight = |origin: &str| {
        client()
            .request(reqwest::Method::OPTIONS, server().url("/api/search"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send()
            .expect("preflight")
    };
    let allowed = preflight("https://portal.example");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    let other = preflight("https://elsewhere.example");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
