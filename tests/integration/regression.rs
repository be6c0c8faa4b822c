//! Regression tests for faults found by fuzzing and fault injection, each named after the fault.
//! Those about the server run against a real one over a loopback socket and end by checking
//! that it still answers; those about ingestion and import call the library.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gongwen::config::{Cors, Limits, ServerConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{TOKEN, TestServer, assert_error, client, json, server};

/// A server with short connection limits, for the tests that hold connections open.
fn guarded_server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TestServer::start(ServerConfig {
            admin_token: Some(TOKEN.to_string()),
            body_timeout: Duration::from_millis(500),
            limits: Limits {
                header_timeout: Duration::from_millis(400),
                max_connections: 8,
                ..Limits::default()
            },
            ..ServerConfig::default()
        })
    })
}

fn assert_healthy(server: &TestServer) {
    let response = client()
        .get(server.url("/api/health"))
        .send()
        .expect("the server still answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response)["status"], "ok");
}

fn search(server: &TestServer, q: &str) -> reqwest::blocking::Response {
    client()
        .get(server.url("/api/search"))
        .query(&[("q", q)])
        .send()
        .expect("search")
}

/// Sends raw bytes on a new connection and reads the whole answer (the server closes).
fn raw(server: &TestServer, request: &[u8]) -> (u16, Value) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body: {e}: {answer}"));
    (status, body)
}

/// Waits until the server closes `stream`; how long it took.
fn closed_after(mut stream: TcpStream) -> Duration {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn a_query_of_999_dashes_or_250_nots_does_not_abort_the_server() {
    let server = server();
    let dashes = format!("{}x", "-".repeat(999));
    assert_eq!(search(server, &dashes).status(), StatusCode::OK);
    let nots = format!("{}x", "NOT ".repeat(249));
    assert_eq!(search(server, &nots).status(), StatusCode::OK);
    let nested = format!("{}x{}", "(".repeat(499), ")".repeat(499));
    let body = assert_error(
        search(server, &nested),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nested too deeply")),
        "{body}"
    );
    assert!(body["error"]["position"].as_u64().is_some(), "{body}");
    assert_healthy(server);
}

#[test]
fn a_query_with_nothing_searchable_is_400_not_every_document() {
    let server = server();
    for q in ["☃", "，，，", "\"，\"", "title:，", "NOT ☃", "-。"] {
        assert_error(search(server, q), StatusCode::BAD_REQUEST, "invalid_query");
    }
    let response = client()
        .get(format!("{}?q=%FF", server.url("/api/search")))
        .send()
        .expect("search");
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_query");
    assert!(body["error"]["message"].as_str().unwrap().contains("UTF-8"));
    assert_healthy(server);
}

#[test]
fn a_client_sending_its_headers_slowly_is_disconnected() {
    let server = guarded_server();
    let address = server.base.trim_start_matches("http://");
    let mut slow = TcpStream::connect(address).expect("connect");
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHo")
        .expect("send");
    let idle = TcpStream::connect(address).expect("connect");
    assert!(closed_after(slow) < Duration::from_secs(15));
    assert!(closed_after(idle) < Duration::from_secs(15));
    assert_healthy(server);
}

#[test]
fn idle_connections_past_the_limit_do_not_starve_new_clients() {
    let server = guarded_server();
    let address = server.base.trim_start_matches("http://");
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(address).expect("connect"))
        .collect();
    // The limit holds new clients back only until the idle ones time out.
    assert_healthy(server);
    drop(idle);
}

#[test]
fn an_upload_without_a_token_is_refused_before_its_body_is_read() {
    let server = guarded_server();
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .write_all(b"POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        .expect("send head");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut answer = [0u8; 4096];
    let n = stream
        .read(&mut answer)
        .expect("an answer without the body");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("\"unauthorized\""), "{answer}");
    assert_healthy(server);
}

#[test]
fn an_upload_whose_body_stops_arriving_is_408() {
    let server = guarded_server();
    let (status, body) = {
        let address = server.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect");
        let head = format!(
            "POST /api/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n关于"
        );
        stream.write_all(head.as_bytes()).expect("send");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").expect("a response");
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str::<Value>(body).expect("JSON"))
    };
    assert_eq!(status, 408);
    assert_eq!(body["error"]["code"], "request_timeout");
    assert_healthy(server);
}

#[test]
fn requests_hyper_cannot_parse_get_a_json_error_body() {
    let server = server();
    // 拥军 in raw GBK bytes, not percent-encoded.
    let (status, body) = raw(
        server,
        b"GET /api/search?q=\xd3\xb5\xbe\xfc HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &"invalid_request".into())
    );
    let long = format!(
        "GET /api/search?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let (status, body) = raw(server, long.as_bytes());
    assert_eq!(
        (status, &body["error"]["code"]),
        (414, &"uri_too_long".into())
    );
    let big = format!(
        "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(600_000)
    );
    let (status, body) = raw(server, big.as_bytes());
    assert_eq!(
        (status, &body["error"]["code"]),
        (431, &"headers_too_large".into())
    );
    // Raw UTF-8 is accepted as it is.
    let (status, body) = raw(
        server,
        "GET /api/search?q=拥军 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".as_bytes(),
    );
    assert_eq!((status, body["total"].as_u64().is_some()), (200, true));
    assert_healthy(server);
}

#[test]
fn a_wildcard_cors_origin_is_served_not_a_panic() {
    let server = TestServer::start(ServerConfig {
        cors: Cors::from_origins(&["*".to_string()]).expect("wildcard"),
        ..ServerConfig::default()
    });
    let response = client()
        .get(server.url("/api/health"))
        .header("Origin", "https://anywhere.example")
        .send()
        .expect("health");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[test]
fn symlink_loops_end_and_links_out_of_the_import_are_not_followed() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().expect("import dir");
    let outside = tempfile::tempdir().expect("outside dir");
    let notice = |n: usize| format!("关于加强第{n}项管理工作的通知\n各单位：\n请遵照执行。\n");
    std::fs::write(root.path().join("a.txt"), notice(1)).expect("write");
    std::fs::create_dir_all(root.path().join("x/y")).expect("dirs");
    std::fs::create_dir_all(root.path().join("z")).expect("dirs");
    std::fs::write(root.path().join("x/y/b.txt"), notice(2)).expect("write");
    std::fs::write(outside.path().join("secret.txt"), notice(3)).expect("write");
    // Two loops (a link to an ancestor, and two directories linking to each other), a
    // directory reached twice, a link to a file inside and one to a file outside.
    symlink(root.path(), root.path().join("x/y/up")).expect("link");
    symlink(root.path().join("z"), root.path().join("x/to-z")).expect("link");
    symlink(root.path().join("x"), root.path().join("z/to-x")).expect("link");
    symlink(root.path().join("x/y"), root.path().join("again")).expect("link");
    symlink(root.path().join("a.txt"), root.path().join("z/a-link.txt")).expect("link");
    symlink(
        outside.path().join("secret.txt"),
        root.path().join("secret.txt"),
    )
    .expect("link");
    symlink(outside.path(), root.path().join("out")).expect("link");
    let data = tempfile::tempdir().expect("data dir");
    let report = crate::support::import_into(
        data.path(),
        &[root.path().to_path_buf()],
        gongwen::write::WriteOptions::default(),
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(
        report.documents_indexed, 2,
        "a.txt and b.txt, each once: {report:?}"
    );
    let index = crate::support::open_live(data.path());
    let found = gongwen::search::search(
        &index,
        &gongwen::search::SearchRequest {
            q: "第3项".to_string(),
            ..gongwen::search::SearchRequest::default()
        },
    )
    .expect("search");
    assert_eq!(found.total, 0, "nothing from outside the import");
}

#[test]
fn one_invalid_byte_in_a_utf8_file_is_replaced_not_turned_into_mojibake() {
    let Some(dir) = crate::support::samples_dir("documents") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("samples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let mut damaged_files = 0;
    for (n, path) in files.iter().enumerate() {
        let original = std::fs::read_to_string(path).expect("UTF-8 sample");
        // Cut the last byte of a character somewhere in the file, a different place each time.
        let starts: Vec<usize> = original
            .char_indices()
            .filter(|(_, c)| c.len_utf8() == 3)
            .map(|(i, _)| i)
            .collect();
        let Some(&at) = starts.get((n * 7919) % starts.len().max(1)) else {
            continue;
        };
        let mut bytes = original.clone().into_bytes();
        bytes.remove(at + 2);
        let decoded = gongwen::ingest::decode::decode(&bytes, "x.txt").expect("decodes");
        assert_eq!(decoded.plan.encoding, "UTF-8", "{}", path.display());
        assert_eq!(decoded.replacements, 1, "{}", path.display());
        let want: Vec<char> = original.chars().collect();
        let got: Vec<char> = decoded.text.chars().collect();
        let prefix = want.iter().zip(&got).take_while(|(a, b)| a == b).count();
        let suffix = want
            .iter()
            .rev()
            .zip(got.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(
            prefix + suffix + 1 >= want.len() && got.len() == want.len(),
            "{}: only the damaged character may differ",
            path.display()
        );
        damaged_files += 1;
    }
    assert!(damaged_files >= 290, "{damaged_files} files checked");
}

#[test]
fn a_file_of_markup_only_is_a_failure_not_an_empty_document() {
    let pipeline = gongwen::ingest::Pipeline::default();
    for (name, text) in [
        ("only.md", "#\n"),
        ("headings.md", "# \n## \n### \n"),
        ("page.html", "<html><body><div></div><p> </p></body></html>"),
        ("punct.txt", "，。、；\n——\n"),
    ] {
        let error = pipeline
            .ingest_bytes(name, text.as_bytes())
            .expect_err(name);
        assert_eq!(error.code(), "no_text", "{name}: {error}");
    }
}

#[test]
fn nul_characters_are_removed_from_the_text_and_counted() {
    let text = "关于加强\u{0}城市绿化\u{0}\u{0}管理的通知\n各单位：请遵照执行。\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let docs = gongwen::ingest::Pipeline::default()
        .ingest_bytes("utf16.txt", &bytes)
        .expect("ingests");
    assert!(!docs[0].text.contains('\u{0}'));
    assert!(docs[0].text.starts_with("关于加强城市绿化管理的通知"));
    let removed = docs[0]
        .repairs
        .iter()
        .find(|r| r.kind == gongwen::model::RepairKind::NulRemoved)
        .map(|r| r.count);
    assert_eq!(removed, Some(3));
}

#[test]
fn search_into_a_closed_pipe_ends_quietly_not_with_a_panic() {
    let data = &server().data;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["search", "--limit", "100", "--data"])
        .arg(data)
        .arg("的")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gongwen search");
    // The reader goes away before the results are written, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("search ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_han_code_point_no_font_has_matches_nothing_not_everything() {
    let server = server();
    for c in ['\u{2F000}', '\u{FA6E}', '\u{2A6E0}', '\u{3134B}'] {
        let response = search(server, &c.to_string());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(json(response)["total"], 0, "U+{:X}", c as u32);
    }
    assert_healthy(server);
}

#[test]
fn a_long_gbk_line_after_utf8_lines_is_decoded_whole() {
    let utf8 = "第一条 为了规范口岸开放，制定本条例。\n第二条 本条例所称口岸。\n";
    // Longer than one decoded piece, so it is read in several.
    let gbk_text = "第三条 口岸管理应当遵循统一领导、分工负责的原则。".repeat(20_000);
    let mut bytes = utf8.as_bytes().to_vec();
    bytes.extend_from_slice(&encoding_rs::GBK.encode(&gbk_text).0);
    let decoded = gongwen::ingest::decode::decode(&bytes, "mixed.txt").expect("decodes");
    assert!(
        decoded.plan.encoding.starts_with("UTF-8+GB"),
        "{}",
        decoded.plan.encoding
    );
    assert_eq!(decoded.replacements, 0);
    assert_eq!(decoded.text, format!("{utf8}{gbk_text}"));
}

#[test]
fn a_junk_line_in_a_utf8_file_is_replaced_not_read_as_windows_1252() {
    let utf8 = "第一条 为了规范口岸开放，提高口岸通关效率，制定本条例。\n";
    let mut bytes = utf8.repeat(3).into_bytes();
    bytes.extend(std::iter::repeat_n([0xFFu8, 0xFE], 32).flatten());
    bytes.push(b'\n');
    let decoded = gongwen::ingest::decode::decode(&bytes, "x.txt").expect("decodes");
    assert_eq!(decoded.plan.encoding, "UTF-8");
    assert!(decoded.text.starts_with(&utf8.repeat(3)));
    assert_eq!(decoded.replacements, 64);
}

#[test]
fn a_gbk_line_appended_to_a_utf8_file_is_kept() {
    let utf8 = "第一条 为了规范口岸开放，提高口岸通关效率，制定本条例。\n".repeat(100);
    let gbk_line = "第二条 本条例所称的口岸，是指供人员出入境的港口。\n";
    let mut bytes = utf8.clone().into_bytes();
    bytes.extend_from_slice(&encoding_rs::GBK.encode(gbk_line).0);
    let decoded = gongwen::ingest::decode::decode(&bytes, "x.txt").expect("decodes");
    assert_eq!(decoded.text, format!("{utf8}{gbk_line}"));
    assert_eq!(decoded.replacements, 0);
}

#[test]
fn a_stray_nul_early_in_a_text_file_is_removed_not_a_reason_to_refuse_it() {
    let mut bytes = "关于加强城市绿化管理的通知\n".as_bytes().to_vec();
    bytes.insert(9, 0);
    bytes.extend_from_slice("各单位：请遵照执行。\n".as_bytes());
    let docs = gongwen::ingest::Pipeline::default()
        .ingest_bytes("x.txt", &bytes)
        .expect("text with a NUL is text");
    assert!(!docs[0].text.contains('\u{0}'));
    assert_eq!(docs[0].title.as_deref(), Some("关于加强城市绿化管理的通知"));
}

#[test]
fn html_without_block_elements_is_still_cut_into_documents_of_bounded_size() {
    let text = "第一条 为了规范口岸开放，提高口岸通关效率。".repeat(100_000);
    let html = format!("<html><body><span>{text}</span></body></html>");
    let docs = gongwen::ingest::Pipeline::default()
        .ingest_bytes("page.html", html.as_bytes())
        .expect("ingests");
    assert!(docs.len() > 1);
    assert!(
        docs.iter()
            .all(|d| d.text.len() <= gongwen::ingest::MAX_DOCUMENT_BYTES)
    );
    let total: usize = docs
        .iter()
        .map(|d| d.text.chars().filter(|c| *c == '条').count())
        .sum();
    assert_eq!(total, 100_000, "no text lost");
}

#[test]
fn connections_past_the_limit_wait_until_one_closes() {
    let server = TestServer::start(ServerConfig {
        limits: Limits {
            max_connections: 1,
            header_timeout: Duration::from_secs(60),
            ..Limits::default()
        },
        ..ServerConfig::default()
    });
    let address = server.base.trim_start_matches("http://");
    // A first connection, answered (so accepted) and kept open.
    let mut holder = TcpStream::connect(address).expect("connect");
    holder
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut answer = [0u8; 512];
    let n = holder.read(&mut answer).expect("answered");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let mut waiting = TcpStream::connect(address).expect("the backlog takes it");
    waiting
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    assert!(
        waiting.read(&mut buf).is_err(),
        "no answer while the one connection allowed is open"
    );
    drop(holder);
    waiting
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let n = waiting
        .read(&mut buf)
        .expect("answered once the first closed");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[test]
fn a_negated_phrase_over_several_segments_excludes_exactly() {
    // Two commits, two segments; the phrase matches only in the first, so its scorer runs out
    // there while the documents to exclude from go on (tantivy#2811 aborted debug builds).
    let dir = tempfile::tempdir().expect("data dir");
    let data = gongwen::store::DataDir::new(dir.path());
    let live = gongwen::index::LiveIndex::open(&data).expect("index");
    let writes = gongwen::write::Writes::new(data, gongwen::write::WriteOptions::default());
    writes
        .import(
            &live,
            &[crate::support::repo_path("corpus")],
            &gongwen::write::Quiet,
        )
        .expect("import");
    for n in 0..3 {
        let text = format!("关于第{n}批绿化养护的通知\n各区县：\n请遵照执行。\n");
        writes
            .upload(&live, &format!("{n}.txt"), text.into_bytes().into())
            .expect("upload");
    }
    let index = live.get();
    let total = |q: &str| {
        gongwen::search::search(
            &index,
            &gongwen::search::SearchRequest {
                q: q.to_string(),
                ..Default::default()
            },
        )
        .expect("search")
        .total
    };
    let all = index.num_docs() as usize;
    assert_eq!(all, 8);
    let with = total("\"拥军优属\"");
    assert!(with > 0);
    assert_eq!(total("NOT \"拥军优属\""), all - with);
    assert_eq!(
        total("通知 -\"拥军优属\""),
        total("通知") - total("通知 \"拥军优属\"")
    );
}
