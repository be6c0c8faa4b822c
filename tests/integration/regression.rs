//! Regression tests for faults found by fuzzing and fault injection, each named after the fault.
//! Every one runs against a real server over a loopback socket and ends by checking that the
//! server still answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gongwen::http::{Cors, Limits, ServerConfig};
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
