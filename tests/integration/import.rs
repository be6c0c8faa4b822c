//! Bulk import and reindex: directories with zip archives (GBK member names), re-import,
//! killing an import midway, reindex under continuous search, and failures reported per file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use gongwen::config::ServerConfig;
use gongwen::index::{LiveIndex, SearchIndex};
use gongwen::search::{self, SearchRequest};
use gongwen::store::DataDir;
use gongwen::write::{Quiet, WriteOptions, Writes};
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{TOKEN, TestServer, client};
use crate::support::{SEED, repo_path};

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip (stored, no compression) whose member names are raw bytes, as Chinese Windows writes
/// them: GBK, without the UTF-8 flag.
pub fn zip_with_raw_names(members: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let header = |signature: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&signature.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags: names not UTF-8
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name);
            h
        };
        out.extend(header(0x0403_4B50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4B50, true));
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4B50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn notice(n: usize) -> String {
    format!(
        "关于做好第{n}批农村公路养护工作的通知\n各区县交通局：\n请按照要求做好第{n}批农村公路养护工作，确保道路安全畅通。\n上海市交通委员会\n2010年3月{}日\n",
        n % 28 + 1
    )
}

fn json_of(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .expect("request")
        .json()
        .expect("JSON")
}

fn run_import(data: &Path, paths: &[PathBuf], extra: &[&str]) -> (bool, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["import", "--json", "--data"])
        .arg(data)
        .args(extra)
        .args(paths)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gongwen import");
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), report)
}

#[test]
fn a_directory_with_a_gbk_named_zip_imports_once() {
    let input = tempfile::tempdir().expect("input dir");
    std::fs::write(
        input.path().join("seed.txt"),
        std::fs::read(repo_path(SEED)).expect("seed"),
    )
    .expect("write");
    let name = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let zip = zip_with_raw_names(&[
        (
            name("通知/农村公路养护.txt"),
            encoding_rs::GBK.encode(&notice(1)).0.into_owned(),
        ),
        (name("通知/第二批.txt"), notice(2).into_bytes()),
        (name("通知/.隐藏.txt"), notice(3).into_bytes()),
        (b"logo.png".to_vec(), vec![0x89, b'P', b'N', b'G']),
    ]);
    std::fs::create_dir(input.path().join("sub")).expect("subdir");
    std::fs::write(input.path().join("sub/batch.zip"), zip).expect("zip");
    std::fs::write(input.path().join(".DS_Store"), b"junk").expect("hidden");

    let data = tempfile::tempdir().expect("data dir");
    let (ok, report) = run_import(data.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok, "{report}");
    assert_eq!(report["documents_indexed"], 5 + 2, "{report}");
    assert_eq!(report["files_seen"], 6);
    assert_eq!(report["skipped"], 3, "hidden files and the image");
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["failed"], Value::Array(vec![]));
    for key in ["warnings", "seconds"] {
        assert!(report.get(key).is_some(), "report has {key}");
    }

    let index = SearchIndex::open_live(&DataDir::new(data.path())).expect("index");
    let response = search::search(
        &index,
        &SearchRequest {
            q: "农村公路养护".to_string(),
            ..SearchRequest::default()
        },
    )
    .expect("search");
    assert_eq!(response.total, 2);
    let doc = index
        .document(&response.hits[0].id)
        .expect("get")
        .expect("stored");
    assert!(
        doc.source.path.contains("batch.zip!/通知/"),
        "GBK member name decoded: {}",
        doc.source.path
    );

    let (ok, again) = run_import(data.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok);
    assert_eq!(again["documents_indexed"], 0, "{again}");
    assert_eq!(again["duplicates"], 3);
    assert_eq!(crate::support::open_live(data.path()).num_docs(), 7);
}

#[test]
fn failures_are_listed_and_the_good_files_indexed() {
    let input = tempfile::tempdir().expect("input dir");
    let dir = input.path();
    std::fs::write(dir.join("good-1.txt"), notice(10)).expect("write");
    std::fs::write(dir.join("good-2.txt"), notice(11)).expect("write");
    std::fs::write(dir.join("empty.txt"), b"").expect("write");
    std::fs::write(
        dir.join("binary.dat"),
        [0u8, 200, 3, 0, 0, 17, 255, 0, 1, 2],
    )
    .expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("gone.txt"), dir.join("unreadable.txt")).expect("link");
    let data = tempfile::tempdir().expect("data dir");
    let (ok, report) = run_import(data.path(), &[dir.to_path_buf()], &[]);
    assert!(!ok, "failures make the exit status non-zero");
    assert_eq!(report["documents_indexed"], 2);
    let failed: Vec<(String, String)> = report["failed"]
        .as_array()
        .expect("failed list")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected_failures = if cfg!(unix) { 3 } else { 2 };
    assert_eq!(failed.len(), expected_failures, "{failed:?}");
    let error_of = |file: &str| {
        failed
            .iter()
            .find(|f| f.0.ends_with(file))
            .map(|f| f.1.clone())
    };
    assert!(error_of("empty.txt").is_some_and(|e| e.contains("empty")));
    assert!(error_of("binary.dat").is_some_and(|e| e.contains("not a text document")));
    if cfg!(unix) {
        assert!(error_of("unreadable.txt").is_some_and(|e| e.contains("no such file")));
    }
}

#[test]
fn an_import_killed_midway_and_rerun_indexes_every_file_once() {
    let input = tempfile::tempdir().expect("input dir");
    let seed = std::fs::read_to_string(repo_path(SEED)).expect("seed");
    let files = 120;
    for n in 0..files {
        std::fs::write(
            input.path().join(format!("{n:03}.txt")),
            format!("{seed}\n（副本{n}）\n"),
        )
        .expect("write");
    }
    let expected_docs = files * 5;
    let data = tempfile::tempdir().expect("data dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["import", "--json", "--commit-every", "40", "--data"])
        .arg(data.path())
        .arg(input.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start import");
    // Kill it once part of the work is committed (if it finishes first, the rerun below must
    // still find every file exactly once).
    crate::support::wait_for("a first commit", || {
        SearchIndex::open_live(&DataDir::new(data.path())).is_ok_and(|index| index.num_docs() > 0)
    });
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let committed = SearchIndex::open_live(&DataDir::new(data.path()))
        .map(|i| i.num_docs())
        .unwrap_or(0);
    assert!(committed <= expected_docs as u64);

    let (ok, report) = run_import(data.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok, "{report}");
    let indexed = report["documents_indexed"].as_u64().unwrap();
    let duplicates = report["duplicates"].as_u64().unwrap();
    // Files whose last document was committed are complete; the documents of a file the
    // kill cut short are deleted and the file indexed again.
    assert!(duplicates * 5 <= committed, "{report}");
    assert_eq!(indexed, expected_docs as u64 - duplicates * 5, "{report}");
    let index =
        SearchIndex::open_live(&DataDir::new(data.path())).expect("the index opens cleanly");
    assert_eq!(index.num_docs(), expected_docs as u64);
    let all = search::search(
        &index,
        &SearchRequest {
            q: "副本".to_string(),
            limit: 0,
            ..SearchRequest::default()
        },
    )
    .expect("search");
    assert_eq!(all.total, files, "each file's last document once");
}

#[test]
fn reindex_while_searching_never_fails_a_search() {
    let server = TestServer::start(ServerConfig {
        admin_token: Some(TOKEN.to_string()),
        index_poll: Duration::from_millis(200),
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let searcher = {
        let (stop, searches, url) = (stop.clone(), searches.clone(), server.url("/api/search"));
        std::thread::spawn(move || -> Result<(), String> {
            let client = client();
            while !stop.load(Ordering::Relaxed) {
                let response = client
                    .get(&url)
                    .query(&[("q", "拥军优属")])
                    .send()
                    .map_err(|e| e.to_string())?;
                if response.status() != StatusCode::OK {
                    return Err(format!("status {}", response.status()));
                }
                let body: Value = response.json().map_err(|e| e.to_string())?;
                if body["total"].as_u64().unwrap_or(0) == 0 {
                    return Err("a search found nothing during a reindex".to_string());
                }
                searches.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    let live_before = DataDir::new(&server.data)
        .live_generation()
        .expect("live")
        .expect("dir");
    for _ in 0..2 {
        let response = client()
            .post(server.url("/api/reindex"))
            .bearer_auth(TOKEN)
            .send()
            .expect("reindex");
        let status = response.status();
        let report: Value = response.json().expect("report");
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["documents_indexed"], 5);
    }
    // A reindex from the command line, which the server picks up on its own.
    let output = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["reindex", "--json", "--data"])
        .arg(&server.data)
        .output()
        .expect("cli reindex");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let data = DataDir::new(&server.data);
    let live = data.live_generation().expect("live").expect("dir");
    assert_ne!(live, live_before);
    let generation = live
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    crate::support::wait_for("the server to follow the command-line reindex", || {
        json_of(&server.url("/api/health"))["generation"] == generation.as_str()
    });
    stop.store(true, Ordering::Relaxed);
    searcher
        .join()
        .expect("searcher thread")
        .expect("every search succeeded");
    assert!(searches.load(Ordering::Relaxed) > 0);
    let generations = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(server.data.join("index"))
            .expect("index dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    };
    crate::support::wait_for("the old generations to be removed", || {
        generations().len() == 1
    });
    assert_eq!(generations(), vec![live], "old generations removed");
    let health: Value = client()
        .get(server.url("/api/health"))
        .send()
        .expect("health")
        .json()
        .expect("json");
    assert_eq!(health["documents"], 5);
}

#[test]
fn reindex_rebuilds_from_the_archive_not_the_original_paths() {
    let input = tempfile::tempdir().expect("input dir");
    std::fs::write(input.path().join("a.txt"), notice(20)).expect("write");
    let data = tempfile::tempdir().expect("data dir");
    let options = WriteOptions {
        heap_bytes: 32 * 1024 * 1024,
        ..WriteOptions::default()
    };
    let data_dir = DataDir::new(data.path());
    let live = LiveIndex::open(&data_dir).expect("index");
    let writes = Writes::new(data_dir.clone(), options);
    writes
        .import(&live, &[input.path().to_path_buf()], &Quiet)
        .expect("import");
    drop(input);
    let (report, dir) = writes.reindex(Some(&live), &Quiet).expect("reindex");
    assert_eq!(report.documents_indexed, 1);
    assert_eq!(data_dir.live_generation().expect("live"), Some(dir));
    assert_eq!(live.get().num_docs(), 1);
}

#[test]
fn one_writer_at_a_time() {
    let input = tempfile::tempdir().expect("input dir");
    std::fs::write(input.path().join("a.txt"), notice(30)).expect("write");
    let data = tempfile::tempdir().expect("data dir");
    let lock = DataDir::new(data.path()).lock_writes().expect("lock");
    let output = Command::new(env!("CARGO_BIN_EXE_gongwen"))
        .args(["import", "--data"])
        .arg(data.path())
        .arg(input.path())
        .output()
        .expect("run import");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another import or reindex"), "{stderr}");
    drop(lock);
    let (ok, report) = run_import(data.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok, "{report}");
}

#[test]
fn a_file_an_earlier_import_left_half_indexed_is_indexed_again_whole() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let data = DataDir::new(data_dir.path());
    let seed = std::fs::read(repo_path(SEED)).expect("seed");
    let docs = gongwen::ingest::Pipeline::default()
        .ingest_bytes(SEED, &seed)
        .expect("seed ingests");
    {
        // What a kill between two commits inside one file leaves: two of its five documents,
        // and no mark that the file is complete.
        let index = SearchIndex::open_or_create_live(&data).expect("index");
        let mut writer = index.writer(50_000_000, 1).expect("writer");
        for doc in &docs[..2] {
            gongwen::index::add(&writer, index.fields(), doc, false).expect("add");
        }
        writer.commit().expect("commit");
    }
    let input = tempfile::tempdir().expect("input dir");
    std::fs::write(input.path().join("seed.txt"), &seed).expect("write");
    let (ok, report) = run_import(data_dir.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok, "{report}");
    assert_eq!(report["documents_indexed"], docs.len(), "{report}");
    let index = SearchIndex::open_live(&data).expect("index");
    assert_eq!(index.num_docs(), docs.len() as u64, "no document twice");
    for doc in &docs {
        assert!(index.document(&doc.id).expect("lookup").is_some());
    }
    let (ok, report) = run_import(data_dir.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok && report["duplicates"] == 1, "complete now: {report}");
}

#[test]
fn a_file_larger_than_memory_reads_is_staged_and_cut_into_documents() {
    // Over the size read into memory, one section without headers: it is streamed from a
    // copy in the archive and cut into documents of at most MAX_DOCUMENT_BYTES.
    let line = "第一条 为了规范口岸开放，提高口岸通关效率，根据国家有关法律、行政法规的规定，结合本市实际，制定本条例。\n";
    let repeats = (gongwen::store::IN_MEMORY_BYTES as usize / line.len()) + 10;
    let text = format!("关于口岸管理的规定\n{}", line.repeat(repeats));
    let input = tempfile::tempdir().expect("input dir");
    std::fs::write(input.path().join("large.txt"), &text).expect("write");
    let data = tempfile::tempdir().expect("data dir");
    let (ok, report) = run_import(data.path(), &[input.path().to_path_buf()], &[]);
    assert!(ok, "{report}");
    let parts = text.len().div_ceil(gongwen::ingest::MAX_DOCUMENT_BYTES) as u64;
    let indexed = report["documents_indexed"].as_u64().unwrap();
    assert!(
        (parts..=parts + 1).contains(&indexed),
        "{indexed} documents for {parts} MiB"
    );
    let index = SearchIndex::open_live(&DataDir::new(data.path())).expect("index");
    let found = search::search(
        &index,
        &SearchRequest {
            q: "\"提高口岸通关效率\"".to_string(),
            limit: 0,
            ..SearchRequest::default()
        },
    )
    .expect("search");
    assert_eq!(found.total as u64, indexed, "every part holds the text");
    let archive = DataDir::new(data.path()).archive();
    let entries = archive.entries().expect("archive");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].size, text.len() as u64);
    assert_eq!(
        archive.get(&entries[0].sha256).expect("read").as_deref(),
        Some(text.as_bytes()),
        "the original is archived byte for byte"
    );
    assert!(
        !data.path().join("archive/staging").exists()
            || std::fs::read_dir(data.path().join("archive/staging"))
                .expect("staging")
                .next()
                .is_none(),
        "nothing left in the staging area"
    );
}

/// Imports notices `range` (one file each) into `live`, committing every few documents.
fn import_notices(writes: &Writes, live: &LiveIndex, range: std::ops::Range<usize>) {
    let input = tempfile::tempdir().expect("input dir");
    for n in range {
        std::fs::write(input.path().join(format!("{n}.txt")), notice(n)).expect("write");
    }
    writes
        .import(live, &[input.path().to_path_buf()], &Quiet)
        .expect("import");
}

#[test]
fn bulk_imports_leave_segments_of_doubling_sizes_and_lose_nothing() {
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = DataDir::new(data.path());
    let live = LiveIndex::open(&data_dir).expect("index");
    let writes = Writes::new(
        data_dir,
        WriteOptions {
            heap_bytes: 32 * 1024 * 1024,
            threads: 2,
            commit_every: 4,
            ..WriteOptions::default()
        },
    );
    // Documents per segment, largest first.
    let sizes = || {
        let searcher = live.get().searcher();
        let mut sizes: Vec<u32> = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.num_docs())
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes
    };
    // Each segment keeps one store file: the merged segments' files are gone.
    let store_files = || {
        crate::support::files_below(data.path())
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "store"))
            .count()
    };
    let found = |n: usize| {
        let request = SearchRequest {
            q: format!("\"第{n}批农村公路\""),
            ..SearchRequest::default()
        };
        search::search(&live.get(), &request).expect("search").total
    };
    // Each import commits every four documents (many segments), then merges what it wrote
    // with the older segments no larger than all taken so far, smallest first.
    let steps: [(std::ops::Range<usize>, &[u32]); 5] = [
        (0..40, &[40]),
        (40..50, &[40, 10]),
        (50..60, &[40, 20]),
        (60..70, &[40, 20, 10]),
        (70..80, &[80]),
    ];
    for (range, expected) in steps {
        let last = range.end;
        import_notices(&writes, &live, range);
        assert_eq!(sizes(), expected, "after notices up to {last}");
        assert_eq!(store_files(), expected.len(), "after notices up to {last}");
    }
    for n in 0..80 {
        assert_eq!(found(n), 1, "notice {n}");
    }
}
