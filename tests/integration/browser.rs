//! The web page in a real headless Chromium, driven over WebDriver (ChromeDriver, through
//! fantoccini) against the real server on a loopback socket, over the seed and the relations
//! fixtures: a researcher's round — type a query, pick two facets, clear one with its chip,
//! page, open a document, follow a cited-by link, go back to the same view, export, search
//! with a broken query — and the page at 390 px wide.
//!
//! Expected values come from the pipeline run on the files (which documents are 通知 of 2010,
//! which cite which), not from the page's own API answers. Where Chromium or ChromeDriver is not
//! installed the tests print a notice and skip; `GONGWEN_SCREENSHOTS=<dir>` makes
//! [`screenshots`] write pictures of the page over the sample regulations.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use gongwen::config::ServerConfig;
use gongwen::ingest::Pipeline;
use gongwen::model::Document;
use gongwen::write::WriteOptions;
use serde_json::{Value, json};

use crate::http::TestServer;
use crate::support::{import_into, ingest_seed, notice, repo_path, samples_dir, wait_for};

/// WebDriver's code for the Enter key.
const ENTER: &str = "\u{E007}";
/// WebDriver's code for the Escape key.
const ESCAPE: &str = "\u{E00C}";
/// How long the page may take to show what a step expects.
const PATIENCE: Duration = Duration::from_secs(20);

/// The first executable of `names` on the `PATH`.
fn executable(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Chromium and ChromeDriver, or a printed notice that the browser tests are skipped.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = executable(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = executable(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            notice(
                "browser tests skipped: chromium and chromedriver are not both on the PATH \
                 (Debian: apt-get install chromium chromium-driver)",
            );
            None
        }
    }
}

/// A ChromeDriver process on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        wait_for("chromedriver to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session of a window `width` px wide, downloading into `downloads`.
async fn session(
    driver: &Driver,
    chromium: &Path,
    profile: &Path,
    downloads: &Path,
    width: u32,
) -> Client {
    let options = json!({
        "binary": chromium,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},1000"),
            "--lang=zh-CN",
        ],
        "prefs": {
            "download.default_directory": downloads,
            "download.prompt_for_download": false,
        },
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_string(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// What `script` (a function body) returns in the page.
async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect(script)
}

/// Polls `script` until it returns something other than `null`, `false`, `0` or `""`, and
/// returns that.
async fn until(client: &Client, what: &str, script: &str) -> Value {
    let started = Instant::now();
    loop {
        let value = js(client, script).await;
        let done = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if done {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "the page never showed {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn find(client: &Client, css: &str) -> Element {
    until(
        client,
        css,
        &format!("return document.querySelector({css:?}) !== null"),
    )
    .await;
    client.find(Locator::Css(css)).await.expect(css)
}

/// The ids of the hits on the page, once it has finished loading `url_part`.
async fn shown_ids(client: &Client, url_part: &str) -> BTreeSet<String> {
    let script = format!(
        "return location.href.includes({url_part:?}) && !document.getElementById('results').classList.contains('loading') \
         && [...document.querySelectorAll('.hit')].map(h => h.dataset.id)"
    );
    let ids = until(client, url_part, &script).await;
    ids.as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect()
}

/// The ids of `docs` that `keep` holds for.
fn ids_where(docs: &[Document], keep: impl Fn(&Document) -> bool) -> BTreeSet<String> {
    docs.iter()
        .filter(|d| keep(d))
        .map(|d| d.id.clone())
        .collect()
}

fn fixture_paths() -> Vec<PathBuf> {
    let dir = repo_path("tests/fixtures/relations");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

/// A server over the seed and the relations fixtures, and every document it holds as the
/// pipeline makes it.
fn server_with_fixtures() -> (TestServer, Vec<Document>) {
    let server = TestServer::start(ServerConfig::default());
    let paths = fixture_paths();
    let report = import_into(&server.data, &paths, WriteOptions::default());
    assert_eq!(report.documents_indexed, paths.len(), "{report:?}");
    let mut docs = ingest_seed();
    for path in &paths {
        docs.extend(Pipeline::default().ingest_path(path).expect("fixture"));
    }
    let expected = docs.len();
    let client = reqwest::blocking::Client::new();
    wait_for("the fixtures to be searchable", || {
        client
            .get(server.url("/api/search?limit=0&facets="))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|v| v["total"] == expected)
    });
    (server, docs)
}

/// Elements wider than the viewport or reaching past its right edge (the drawer, pushed off
/// to the left while closed, does not count).
const OVERFLOW: &str = "const vw = document.documentElement.clientWidth; \
    const wide = [...document.querySelectorAll('body *')].filter(e => { \
      const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > vw + 1 || r.width > vw + 1); }) \
      .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className); \
    return { vw, scroll: document.documentElement.scrollWidth, wide };";

async fn assert_fits(client: &Client, view: &str) {
    let fit = js(client, OVERFLOW).await;
    assert_eq!(fit["vw"], 390, "{view}: viewport {fit}");
    assert!(
        fit["scroll"].as_u64() <= fit["vw"].as_u64(),
        "{view}: the page scrolls sideways: {fit}"
    );
    assert_eq!(fit["wide"], json!([]), "{view}: elements wider than 390 px");
}

#[test]
fn a_researchers_round_in_a_real_browser() {
    let Some((chromium, driver_path)) = browser_tools() else {
        return;
    };
    let (server, docs) = server_with_fixtures();
    let seed = ingest_seed();
    let first = &seed[0];
    let citing = Pipeline::default()
        .ingest_path(&repo_path("tests/fixtures/relations/a-citing-notice.txt"))
        .expect("fixture")
        .remove(0);
    let notices = ids_where(&docs, |d| d.doc_type.as_deref() == Some("通知"));
    let notices_2010 = ids_where(&docs, |d| {
        d.doc_type.as_deref() == Some("通知") && d.date.is_some_and(|date| date.year() == 2010)
    });
    assert!(notices_2010.len() >= 2 && notices_2010.len() < notices.len());
    let work = tempfile::tempdir().expect("temp dir");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads dir");
    let driver = Driver::start(&driver_path);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let c = session(&driver, &chromium, &work.path().join("profile"), &downloads, 1400).await;
        c.goto(&server.url("/")).await.expect("the page");

        // Type a query and press Enter.
        let q = find(&c, "input[name=q]").await;
        q.send_keys(&format!("拥军优属{ENTER}")).await.expect("typing");
        let found = shown_ids(&c, "q=%E6%8B%A5%E5%86%9B%E4%BC%98%E5%B1%9E").await;
        assert!(found.contains(&first.id) && found.contains(&citing.id), "{found:?}");

        // Highlighted terms, status badges: the seed is printed in traditional characters.
        let marked = js(&c, "return [...document.querySelectorAll('.hit .snippet mark')].map(m => m.textContent)").await;
        assert!(marked.as_array().is_some_and(|m| m.iter().any(|t| t == "擁軍優屬" || t == "拥军优属")), "{marked}");
        assert!(js(&c, "return document.querySelectorAll('.hit .badge').length").await.as_u64() >= Some(2));

        // Clear the query, pick two facets: type 通知, then year 2010.
        c.goto(&server.url("/")).await.expect("the page");
        shown_ids(&c, "/").await;
        find(&c, "[data-facet=doc_type] input").await;
        let notice_box = js(&c, "return [...document.querySelectorAll('[data-facet=doc_type] label')].findIndex(l => l.textContent.startsWith('通知'))").await;
        let boxes = c.find_all(Locator::Css("[data-facet=doc_type] input")).await.expect("boxes");
        boxes[notice_box.as_u64().expect("通知 listed") as usize].click().await.expect("click");
        assert_eq!(shown_ids(&c, "doc_type=%E9%80%9A%E7%9F%A5").await, notices);
        let year_box = until(&c, "the year 2010", "return !document.getElementById('results').classList.contains('loading') && [...document.querySelectorAll('[data-facet=year] label')].findIndex(l => l.textContent.startsWith('2010')) + 1").await;
        let boxes = c.find_all(Locator::Css("[data-facet=year] input")).await.expect("boxes");
        boxes[year_box.as_u64().expect("index") as usize - 1].click().await.expect("click");
        assert_eq!(shown_ids(&c, "year=2010").await, notices_2010);
        let chips = js(&c, "return [...document.querySelectorAll('#chips .chip')].map(c => c.textContent)").await;
        assert_eq!(chips, json!(["文种：通知", "年份：2010"]));

        // Clear the year with its chip: the notices of every year again.
        let chip = c.find_all(Locator::Css("#chips .chip")).await.expect("chips");
        chip[1].click().await.expect("click");
        let script = "return !location.href.includes('year=') && !document.getElementById('results').classList.contains('loading') && [...document.querySelectorAll('.hit')].map(h => h.dataset.id)";
        let ids: BTreeSet<String> = serde_json::from_value(until(&c, "the year cleared", script).await).expect("ids");
        assert_eq!(ids, notices);

        // Export what is shown: the file holds every notice, one row each.
        assert_eq!(js(&c, "return document.getElementById('export-total').dataset.total").await, json!(notices.len().to_string()));
        find(&c, "#export-csv").await.click().await.expect("export");
        let exported = wait_for_download(&downloads, "gongwen-export.csv").await;
        let mut reader = csv::Reader::from_reader(exported.trim_start_matches('\u{feff}').as_bytes());
        let rows: BTreeSet<String> = reader
            .records()
            .map(|r| r.expect("row")[0].to_string())
            .collect();
        assert_eq!(rows, notices);

        // Page: all documents, ten a page.
        c.goto(&server.url("/")).await.expect("the page");
        shown_ids(&c, "/").await;
        find(&c, ".pager [data-page='2']").await.click().await.expect("page 2");
        assert_eq!(shown_ids(&c, "page=2").await.len(), docs.len() - 10);

        // A facet's "more" lists every value: each year a document is filed under.
        let mut years: Vec<String> = docs.iter().filter_map(|d| d.date.map(|date| date.year().to_string())).collect();
        years.sort();
        years.dedup();
        assert!(years.len() > 8, "more years than a facet shows at first");
        find(&c, "[data-facet=year] .more").await.click().await.expect("more");
        let listed = until(&c, "every year", "return document.querySelector('[data-facet=year] ul.all') && [...document.querySelectorAll('[data-facet=year] li label span:first-of-type')].map(s => s.textContent)").await;
        let mut listed: Vec<String> = serde_json::from_value(listed).expect("years");
        listed.sort();
        assert_eq!(listed, years);

        // Versions collapsed: the two measures of one title and issuer are one result.
        c.goto(&server.url("/")).await.expect("the page");
        shown_ids(&c, "/").await;
        find(&c, "input[name=collapse]").await.click().await.expect("collapse");
        let summary = until(&c, "the collapsed total", "return location.href.includes('collapse=versions') && !document.getElementById('results').classList.contains('loading') && document.getElementById('total').textContent").await;
        assert!(summary.as_str().is_some_and(|t| t.starts_with(&format!("共 {} 部", docs.len() - 1))), "{summary}");
        let versions = js(&c, "return [...document.querySelectorAll('.hit .versions')].map(v => v.textContent)").await;
        assert_eq!(versions, json!(["2 个版本"]));

        // Open a document from its hit, follow a cited-by link, and come back.
        let q = find(&c, "input[name=q]").await;
        q.send_keys(&format!("拥军优属{ENTER}")).await.expect("typing");
        shown_ids(&c, "q=").await;
        let search_url = c.current_url().await.expect("url").to_string();
        find(&c, &format!(".hit[data-id='{}'] h2 a", first.id)).await.click().await.expect("open");
        let title = "return !document.getElementById('doc').hidden && document.querySelector('#doc h2')?.textContent";
        let shown = until(&c, "the document view", title).await;
        assert_eq!(shown, json!(first.title.clone().expect("title")));
        assert!(c.current_url().await.expect("url").path().ends_with(&format!("/documents/{}", first.id)));
        let doc_text = js(&c, "return document.getElementById('doc').textContent").await;
        let doc_text = doc_text.as_str().expect("text");
        assert!(!doc_text.contains(&*server.data.to_string_lossy()) && !doc_text.contains(&*repo_path("corpus").to_string_lossy()), "a server path is shown");
        assert!(doc_text.contains("compilation-pudong-2006-2010.txt"));
        assert!(doc_text.contains("恢复文号中的六角括号"), "repairs in Chinese");
        let original = js(&c, "return document.querySelector('#doc .original pre').textContent").await;
        assert!(original.as_str().is_some_and(|t| t.contains("浦府辦?2010?98號")), "the damaged original beside the repair");
        let repaired_marks = js(&c, "return [...document.querySelectorAll('#doc .repaired mark')].map(m => m.textContent)").await;
        assert!(repaired_marks.as_array().is_some_and(|m| !m.is_empty()), "terms highlighted: {repaired_marks}");
        find(&c, &format!("#cited-by a[href^='/documents/{}']", citing.id)).await.click().await.expect("cited by");
        let shown = until(&c, "the citing document", &format!("return location.pathname.endsWith({:?}) && document.querySelector('#doc h2')?.textContent", citing.id)).await;
        assert_eq!(shown, json!(citing.title.clone().expect("title")));
        c.back().await.expect("back");
        let shown = until(&c, "the first document again", &format!("return location.pathname.endsWith({:?}) && document.querySelector('#doc h2')?.textContent", first.id)).await;
        assert_eq!(shown, json!(first.title.clone().expect("title")));
        c.back().await.expect("back");
        until(&c, "the search again", "return location.pathname === '/' && document.getElementById('doc').hidden").await;
        assert_eq!(c.current_url().await.expect("url").to_string(), search_url);
        assert_eq!(shown_ids(&c, "q=").await, found);

        // Esc closes the document view.
        find(&c, &format!(".hit[data-id='{}'] h2 a", first.id)).await.click().await.expect("open");
        until(&c, "the document view", "return !document.getElementById('doc').hidden && document.querySelector('#doc h2') !== null").await;
        find(&c, "#doc .close").await.send_keys(ESCAPE).await.expect("esc");
        until(&c, "the view closed", "return document.getElementById('doc').hidden && location.pathname === '/'").await;

        // A broken query: the message in Chinese, the offending character marked.
        let q = find(&c, "input[name=q]").await;
        q.clear().await.expect("clear");
        q.send_keys(&format!("春节 \"慰问{ENTER}")).await.expect("typing");
        let error = until(&c, "the query error", "return document.querySelector('#query-error .error')?.textContent").await;
        assert!(error.as_str().is_some_and(|e| e.contains("引号没有闭合") && e.contains("第 4 个字符")), "{error}");
        assert_eq!(js(&c, "return document.querySelector('#query-error mark').textContent").await, json!("\""));

        // A permalink whose query does not parse still shows its document.
        c.goto(&server.url(&format!("/documents/{}?q=%22", first.id))).await.expect("a permalink");
        let shown = until(&c, "the document despite the query", "return document.querySelector('#doc h2')?.textContent").await;
        assert_eq!(shown, json!(first.title.clone().expect("title")));

        // The sort menu applies at once.
        c.goto(&server.url("/")).await.expect("the page");
        shown_ids(&c, "/").await;
        find(&c, "select[name=sort]").await.select_by_value("date_asc").await.expect("sort");
        shown_ids(&c, "sort=date_asc").await;
        let dates = js(&c, "return [...document.querySelectorAll('.hit')].map(h => [...h.querySelectorAll('.meta span')].map(s => s.textContent).find(t => /^\\d{4}-\\d\\d-\\d\\d$/.test(t))).filter(Boolean)").await;
        let dates: Vec<String> = serde_json::from_value(dates).expect("dates");
        assert!(dates.len() >= 5 && dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");

        // Issuer suggestions as one types, and the year chart filters by its bars.
        find(&c, "input[name=issuer_input]").await.send_keys("浦东").await.expect("typing");
        let suggested = until(&c, "issuer suggestions", "return [...document.querySelectorAll('#suggest li[role=option]')].map(o => o.dataset.value)").await;
        assert!(suggested.as_array().is_some_and(|s| s.iter().all(|v| v.as_str().is_some_and(|v| v.contains("浦东")))), "{suggested}");
        let bars = js(&c, "return [...document.querySelectorAll('#chart .bar')].map(b => b.dataset.year)").await;
        assert_eq!(bars, json!(years));
        c.find(Locator::Css("#chart .bar[data-year='2010']")).await.expect("bar").click().await.expect("click bar");
        assert_eq!(shown_ids(&c, "year=2010").await, ids_where(&docs, |d| d.date.is_some_and(|date| date.year() == 2010)));

        // At 390 px: nothing wider than the screen, facets in a drawer.
        c.set_window_size(390, 844).await.expect("resize");
        c.goto(&server.url("/?q=%E6%8B%A5%E5%86%9B")).await.expect("the page");
        shown_ids(&c, "q=").await;
        until(&c, "the narrow layout", "return document.documentElement.clientWidth === 390").await;
        assert_fits(&c, "results").await;
        assert_eq!(js(&c, "return getComputedStyle(document.getElementById('facets')).visibility").await, json!("hidden"));
        find(&c, "#filters-toggle").await.click().await.expect("drawer");
        until(&c, "the drawer open", "return document.getElementById('facets').getBoundingClientRect().left >= 0").await;
        assert_fits(&c, "the drawer").await;
        find(&c, "#drawer-close").await.click().await.expect("close drawer");
        c.goto(&server.url(&format!("/documents/{}?q=%E6%8B%A5%E5%86%9B", first.id))).await.expect("a document");
        until(&c, "the document view", "return document.querySelector('#doc h2') !== null").await;
        assert_fits(&c, "the document").await;

        c.close().await.expect("close");
    });
}

/// The text of the file `name` once Chromium has finished downloading it into `dir`.
async fn wait_for_download(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let started = Instant::now();
    loop {
        let partial = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
            })
            .unwrap_or(false);
        if !partial && let Ok(text) = std::fs::read_to_string(&path) {
            return text;
        }
        assert!(started.elapsed() < PATIENCE, "no download of {name}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pictures of the page over the sample regulations, at 1400 and 390 px: results with the
/// year chart, and a document view. Written only when `GONGWEN_SCREENSHOTS` names a folder.
#[test]
fn screenshots() {
    let Some(out) = std::env::var_os("GONGWEN_SCREENSHOTS").map(PathBuf::from) else {
        notice("screenshots skipped: set GONGWEN_SCREENSHOTS=<dir> to write them");
        return;
    };
    let Some((chromium, driver_path)) = browser_tools() else {
        return;
    };
    let Some(samples) = samples_dir("documents") else {
        return;
    };
    std::fs::create_dir_all(&out).expect("screenshot dir");
    let server = TestServer::start(ServerConfig::default());
    let report = import_into(&server.data, &[samples], WriteOptions::default());
    let client = reqwest::blocking::Client::new();
    let total = |path: &str| -> Value {
        client
            .get(server.url(path))
            .send()
            .and_then(|r| r.json())
            .expect("search")
    };
    wait_for("the samples", || {
        total("/api/search?limit=0&facets=")["total"].as_u64()
            >= Some(report.documents_indexed as u64)
    });
    let cited = total("/api/search?sort=cited_by&limit=1&facets=");
    let document = cited["hits"][0]["id"].as_str().expect("a hit").to_string();
    let work = tempfile::tempdir().expect("temp dir");
    let driver = Driver::start(&driver_path);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        for width in [1400, 390] {
            let profile = work.path().join(format!("profile-{width}"));
            let c = session(&driver, &chromium, &profile, work.path(), width).await;
            // Headless Chromium starts no narrower than 500 px; a resize goes below.
            c.set_window_size(width, 1000).await.expect("resize");
            c.goto(&server.url("/?q=%E7%AE%A1%E7%90%86%E5%8A%9E%E6%B3%95"))
                .await
                .expect("the page");
            shown_ids(&c, "q=").await;
            until(
                &c,
                "the chart",
                "return document.querySelector('#chart') !== null",
            )
            .await;
            shoot(&c, &out.join(format!("results-{width}.png"))).await;
            c.goto(&server.url(&format!("/documents/{document}?q=%E7%AE%A1%E7%90%86")))
                .await
                .expect("a document");
            until(
                &c,
                "the document",
                "return document.querySelector('#doc .texts') !== null",
            )
            .await;
            shoot(&c, &out.join(format!("document-{width}.png"))).await;
            c.close().await.expect("close");
        }
    });
    notice(&format!("screenshots written to {}", out.display()));
}

async fn shoot(client: &Client, path: &Path) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(path, png).expect("write screenshot");
}
