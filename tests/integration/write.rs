//! The one write path, seen from outside: a running server follows writes made by other
//! processes, no upload answered 201 is lost, a reindex replays the writes made while it ran
//! and leaves nothing behind when killed, browser uploads, zip uploads, deletes, and an import
//! killed again and again beside a running server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use gongwen::config::ServerConfig;
use gongwen::index::LiveIndex;
use gongwen::store::DataDir;
use gongwen::write::{Progress, Quiet, WriteOptions, Writes};
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{TOKEN, TestServer, client};
use crate::support::{SEED, repo_path, wait_for};

fn server() -> TestServer {
    TestServer::start(ServerConfig {
        admin_token: Some(TOKEN.to_string()),
        ..ServerConfig::default()
    })
}

/// A short notice of its own: its bytes, its title and a phrase only it holds.
fn notice(n: usize) -> (Vec<u8>, String, String) {
    let title = format!("关于做好第{n}批城市绿化养护工作的通知");
    let phrase = format!("第{n}批行道树修剪");
    let text = format!(
        "{title}\n各区县绿化管理局：\n请做好{phrase}工作。\n上海市绿化管理局\n2009年4月2日\n"
    );
    (text.into_bytes(), title, phrase)
}

fn total(server: &TestServer, q: &str) -> u64 {
    let body: Value = client()
        .get(server.url("/api/search"))
        .query(&[("q", format!("\"{q}\""))])
        .send()
        .expect("search")
        .json()
        .expect("JSON");
    body["total"].as_u64().unwrap_or_else(|| panic!("{body}"))
}

fn upload(server: &TestServer, name: &str, bytes: Vec<u8>) -> reqwest::blocking::Response {
    client()
        .post(server.url("/api/documents"))
        .bearer_auth(TOKEN)
        .header("X-Filename", name)
        .body(bytes)
        .send()
        .expect("upload")
}

fn cli(args: &[&str], data: &Path, paths: &[PathBuf]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(args)
        .arg("--data")
        .arg(data)
        .args(paths)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gongwen")
}

#[test]
fn a_cli_import_into_a_served_data_directory_is_searchable_over_http_without_a_restart() {
    let server = server();
    let input = tempfile::tempdir().expect("input dir");
    let (bytes, _, phrase) = notice(1);
    std::fs::write(input.path().join("a.txt"), bytes).expect("write");
    assert_eq!(total(&server, &phrase), 0);
    let output = cli(&["import"], &server.data, &[input.path().to_path_buf()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_for("the server to see the command-line import", || {
        total(&server, &phrase) == 1
    });
}

#[test]
fn an_upload_right_after_a_cli_reindex_lands_in_the_new_generation() {
    let server = server();
    let output = cli(&["reindex"], &server.data, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // At once, before the watcher has looked: the write itself follows the data directory.
    let (bytes, title, phrase) = notice(2);
    let response = upload(&server, "b.txt", bytes);
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().expect("JSON");
    assert_eq!(uploaded["documents"][0]["title"], title.as_str());
    let id = uploaded["ids"][0].as_str().expect("id").to_string();
    let published = DataDir::new(&server.data).live_generation().expect("live");
    let generation = published
        .as_ref()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let health: Value = client()
        .get(server.url("/api/health"))
        .send()
        .expect("health")
        .json()
        .expect("JSON");
    assert_eq!(
        health["generation"],
        generation.as_str(),
        "served from the published one"
    );
    let found = client()
        .get(server.url(&format!("/api/documents/{id}")))
        .send()
        .expect("document");
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(total(&server, &phrase), 1);
}

/// Runs `during` once, when the reindex starts reading the archive.
struct During<F: Fn() + Send>(std::sync::Mutex<Option<F>>);

impl<F: Fn() + Send> Progress for During<F> {
    fn start(&self, _files: usize) {
        if let Some(during) = self.0.lock().expect("lock").take() {
            during();
        }
    }
}

#[test]
fn writes_made_while_a_reindex_runs_are_replayed_into_the_generation_it_publishes() {
    let dir = tempfile::tempdir().expect("data dir");
    let data = DataDir::new(dir.path());
    let live = LiveIndex::open(&data).expect("index");
    let writes = Writes::new(data.clone(), WriteOptions::default());
    writes
        .import(&live, &[repo_path("corpus")], &Quiet)
        .expect("import");
    let seed_ids: Vec<String> = crate::support::ingest_seed()
        .into_iter()
        .map(|d| d.id)
        .collect();
    let (bytes, _, phrase) = notice(3);
    let during = During(std::sync::Mutex::new(Some(|| {
        // Another writer, while the new generation is being built from the archive.
        let upload = writes
            .upload(&live, "c.txt", bytes.clone().into())
            .expect("upload during the reindex");
        assert!(!upload.duplicate);
        assert!(writes.delete(&live, &seed_ids[0]).expect("delete"));
    })));
    let (report, dir) = writes.reindex(Some(&live), &during).expect("reindex");
    assert_eq!(data.live_generation().expect("live"), Some(dir));
    let index = live.get();
    assert_eq!(
        report.documents_indexed, 6,
        "the seed's five, then the upload replayed"
    );
    assert_eq!(index.num_docs(), 5, "less the delete replayed");
    assert!(index.document(&seed_ids[0]).expect("lookup").is_none());
    let found = gongwen::search::search(
        &index,
        &gongwen::search::SearchRequest {
            q: format!("\"{phrase}\""),
            ..Default::default()
        },
    )
    .expect("search");
    assert_eq!(
        found.total, 1,
        "the upload made during the reindex is in the new generation"
    );
}

#[test]
fn a_reindex_killed_midway_leaves_no_generation_behind_once_a_server_starts() {
    let input = tempfile::tempdir().expect("input dir");
    let seed = std::fs::read_to_string(repo_path(SEED)).expect("seed");
    for n in 0..60 {
        std::fs::write(
            input.path().join(format!("{n:03}.txt")),
            format!("{seed}\n（副本{n}）\n"),
        )
        .expect("write");
    }
    let data = tempfile::tempdir().expect("data dir");
    let output = cli(&["import"], data.path(), &[input.path().to_path_buf()]);
    assert!(output.status.success());
    let index_dir = data.path().join("index");
    let generations = || -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&index_dir)
            .expect("index dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs
    };
    let before = generations();
    let mut reindex = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["reindex", "--commit-every", "20", "--data"])
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("reindex");
    wait_for("the reindex to start a generation", || {
        generations().len() > before.len()
    });
    reindex.kill().expect("SIGKILL");
    reindex.wait().expect("reap");
    assert!(
        generations().len() > before.len(),
        "a partial generation is left"
    );
    // What a server (or any write) does when it starts.
    let live = LiveIndex::open(&DataDir::new(data.path())).expect("index");
    assert_eq!(generations(), before, "the unfinished generation is gone");
    assert_eq!(live.get().num_docs(), 300);
}

#[test]
fn a_browser_form_upload_stores_the_file_not_the_envelope() {
    let server = server();
    let (bytes, title, phrase) = notice(4);
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(bytes.clone()).file_name("通知.txt"),
    );
    let response = client()
        .post(server.url("/api/documents"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().expect("JSON");
    assert_eq!(uploaded["documents"][0]["title"], title.as_str());
    let id = uploaded["ids"][0].as_str().expect("id");
    let original = client()
        .get(server.url(&format!("/api/documents/{id}/original")))
        .send()
        .expect("original")
        .bytes()
        .expect("bytes");
    assert_eq!(
        &original[..],
        &bytes[..],
        "the file's bytes, without the MIME parts"
    );
    let doc: Value = client()
        .get(server.url(&format!("/api/documents/{id}")))
        .send()
        .expect("document")
        .json()
        .expect("JSON");
    assert_eq!(doc["source"]["path"], "通知.txt");
    assert_eq!(total(&server, &phrase), 1);
}

#[test]
fn a_zip_upload_imports_its_members() {
    let server = server();
    let (first, _, first_phrase) = notice(5);
    let (second, _, second_phrase) = notice(6);
    let zip = crate::import::zip_with_raw_names(&[
        (b"a.txt".to_vec(), first),
        (b"dir/b.txt".to_vec(), second),
    ]);
    let response = upload(&server, "batch.zip", zip.clone());
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().expect("JSON");
    assert_eq!(uploaded["ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(total(&server, &first_phrase), 1);
    assert_eq!(total(&server, &second_phrase), 1);
    let again = upload(&server, "batch.zip", zip);
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().expect("JSON")["duplicate"], true);
}

#[test]
fn a_deleted_document_stays_deleted_through_a_reindex_and_its_original_stays() {
    let server = server();
    let (bytes, _, phrase) = notice(7);
    let uploaded: Value = upload(&server, "d.txt", bytes).json().expect("JSON");
    let id = uploaded["ids"][0].as_str().expect("id").to_string();
    let path = format!("/api/documents/{id}");
    let unauthorised = client().delete(server.url(&path)).send().expect("delete");
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
    let archived = || {
        DataDir::new(&server.data)
            .archive()
            .entries()
            .expect("archive")
            .len()
    };
    let archived_before = archived();
    let deleted = client()
        .delete(server.url(&path))
        .bearer_auth(TOKEN)
        .send()
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client().get(server.url(&path)).send().expect("get");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(total(&server, &phrase), 0);
    let reindexed = client()
        .post(server.url("/api/reindex"))
        .bearer_auth(TOKEN)
        .send()
        .expect("reindex");
    assert_eq!(reindexed.status(), StatusCode::OK);
    assert_eq!(
        total(&server, &phrase),
        0,
        "the reindex does not bring it back"
    );
    assert_eq!(
        archived(),
        archived_before,
        "the original stays in the archive"
    );
    let again = client()
        .delete(server.url(&path))
        .bearer_auth(TOKEN)
        .send()
        .expect("delete");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[test]
fn a_retried_upload_is_answered_from_the_index() {
    let server = server();
    let (bytes, title, _) = notice(8);
    let first: Value = upload(&server, "e.txt", bytes.clone())
        .json()
        .expect("JSON");
    let retry = upload(&server, "e.txt", bytes);
    assert_eq!(retry.status(), StatusCode::OK);
    let retry: Value = retry.json().expect("JSON");
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["ids"], first["ids"]);
    assert_eq!(retry["documents"][0]["title"], title.as_str());
}

#[test]
fn an_import_killed_twenty_times_beside_a_running_server_ends_with_every_file_once() {
    let server = server();
    let input = tempfile::tempdir().expect("input dir");
    let seed = std::fs::read_to_string(repo_path(SEED)).expect("seed");
    let files = 40;
    for n in 0..files {
        std::fs::write(
            input.path().join(format!("{n:03}.txt")),
            format!("{seed}\n（副本{n}）\n"),
        )
        .expect("write");
    }
    let expected = 5 + files as u64 * 5;
    let documents = || -> u64 {
        let health: Value = client()
            .get(server.url("/api/health"))
            .send()
            .expect("health")
            .json()
            .expect("JSON");
        health["documents"].as_u64().unwrap_or(0)
    };
    // A kill at a different moment each time: after n × 40 ms of the run.
    for kill in 0..20u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gongwen"))
            .args(["import", "--commit-every", "7", "--data"])
            .arg(&server.data)
            .arg(input.path())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("import");
        std::thread::sleep(Duration::from_millis(40 * (kill % 10 + 1)));
        let _ = child.kill();
        child.wait().expect("reap");
        let output = cli(
            &["import", "--json"],
            &server.data,
            &[input.path().to_path_buf()],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("report");
        assert!(
            report["failed"].as_array().is_some_and(Vec::is_empty),
            "{report}"
        );
        wait_for("the server to answer with every document", || {
            documents() == expected
        });
        assert_eq!(crate::support::open_live(&server.data).num_docs(), expected);
    }
}
