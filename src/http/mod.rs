//! The HTTP API (axum) and the web page.
//!
//! [`router`] builds the routes over an [`AppState`]; [`serve`] runs them on a listener until a
//! shutdown future resolves, finishing requests in flight. Searches and other index work run
//! on tokio's blocking pool, never on the async workers. Writes (`POST`) need the admin token
//! and are serialised; readers keep the committed index they started with, so no search sees
//! half a write. A reindex (here or from the command line) builds a new index generation, and
//! the server switches to it atomically; the old one is deleted once no search holds it.

mod conn;
mod error;
mod handlers;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;

pub use conn::Limits;
pub use error::{ApiError, ErrorCode};

use crate::import::{self, ImportOptions, ImportReport, Progress};
use crate::index::SearchIndex;
use crate::index::store::{Archive, DataDir};
use crate::ingest::Pipeline;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Token that write requests must present; `None` makes the server read-only.
    pub admin_token: Option<String>,
    /// Which browser origins may call the API.
    pub cors: Cors,
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
    /// Longest a read request may take.
    pub request_timeout: Duration,
    /// Longest an upload's body may take to arrive, in all.
    pub body_timeout: Duration,
    /// Limits on the connections themselves.
    pub limits: Limits,
    /// How often to look for an index published by another process (a command-line reindex).
    pub index_poll: Duration,
    pub pipeline: Pipeline,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            admin_token: None,
            cors: Cors::Off,
            max_upload_bytes: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(120),
            limits: Limits::default(),
            index_poll: Duration::from_secs(2),
            pipeline: Pipeline::default(),
        }
    }
}

/// Which browser origins may call the API (CORS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No cross-origin calls (no CORS headers).
    #[default]
    Off,
    /// Any origin (`*`). Browsers send no cookies to a wildcard; a write still needs the
    /// bearer token.
    Any,
    /// These origins.
    Origins(Vec<HeaderValue>),
}

impl Cors {
    /// From the origins an operator listed: none for off, `*` alone for any, else each a
    /// `scheme://host[:port]` origin.
    pub fn from_origins(origins: &[String]) -> Result<Cors, String> {
        let origins: Vec<&str> = origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .collect();
        match origins.as_slice() {
            [] => Ok(Cors::Off),
            ["*"] => Ok(Cors::Any),
            list if list.contains(&"*") => {
                Err("`*` allows every origin and cannot be combined with others".to_string())
            }
            list => list
                .iter()
                .map(|origin| {
                    let (scheme, host) = origin.split_once("://").ok_or_else(|| {
                        format!("`{origin}` is not an origin such as https://portal.example")
                    })?;
                    if !matches!(scheme, "http" | "https")
                        || host.is_empty()
                        || host.contains('/')
                    {
                        return Err(format!(
                            "`{origin}` is not an origin such as https://portal.example (scheme and host, no path)"
                        ));
                    }
                    HeaderValue::from_str(origin)
                        .map_err(|_| format!("`{origin}` holds characters a header cannot"))
                })
                .collect::<Result<_, _>>()
                .map(Cors::Origins),
        }
    }

    fn layer(&self) -> Option<CorsLayer> {
        let allow = match self {
            Cors::Off => return None,
            Cors::Any => AllowOrigin::any(),
            Cors::Origins(origins) => AllowOrigin::list(origins.clone()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("x-filename"),
                ]),
        )
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    data: DataDir,
    archive: Archive,
    index: RwLock<Arc<SearchIndex>>,
    config: ServerConfig,
    writes: tokio::sync::Mutex<()>,
}

impl AppState {
    pub fn new(data: DataDir, index: SearchIndex, config: ServerConfig) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                archive: data.archive(),
                data,
                index: RwLock::new(Arc::new(index)),
                config,
                writes: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The live index (a search keeps the one it started with).
    pub fn index(&self) -> Arc<SearchIndex> {
        Arc::clone(&self.inner.index.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn data(&self) -> &DataDir {
        &self.inner.data
    }

    fn archive(&self) -> &Archive {
        &self.inner.archive
    }

    fn pipeline(&self) -> Pipeline {
        self.inner.config.pipeline
    }

    fn admin_token(&self) -> Option<&str> {
        self.inner.config.admin_token.as_deref()
    }

    fn max_upload_bytes(&self) -> usize {
        self.inner.config.max_upload_bytes
    }

    fn body_timeout(&self) -> Duration {
        self.inner.config.body_timeout
    }

    async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.writes.lock().await
    }

    /// Runs `work` on the blocking pool, within the request timeout.
    async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let task = tokio::task::spawn_blocking(work);
        match tokio::time::timeout(self.inner.config.request_timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(ApiError::internal(join)),
            Err(_) => Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the request took longer than {} s",
                    self.inner.config.request_timeout.as_secs()
                ),
            )),
        }
    }

    /// Rebuilds the index from the archive into a new generation (blocking).
    fn rebuild(&self) -> Result<(ImportReport, PathBuf), ApiError> {
        let options = ImportOptions {
            pipeline: self.pipeline(),
            progress: Progress::Quiet,
            ..ImportOptions::default()
        };
        import::reindex(&self.inner.data, &options).map_err(|e| match e {
            import::ImportError::Index(e) => ApiError::from(e),
            e => ApiError::internal(e),
        })
    }

    /// Serves from the index generation in `dir` from now on; the old generation is removed
    /// once the last search holding it finishes.
    pub fn switch_to(&self, dir: &Path) -> Result<(), ApiError> {
        let fresh = Arc::new(SearchIndex::open(dir).map_err(ApiError::from)?);
        let old = {
            let mut live = self.inner.index.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *live, fresh)
        };
        tracing::info!(from = %old.dir().display(), to = %dir.display(), "switched index");
        tokio::spawn(async move {
            while Arc::strong_count(&old) > 1 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Only this generation: an older one may still be waiting for its last search.
            let dir = old.dir().to_path_buf();
            drop(old);
            match tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir).map(|()| dir))
                .await
            {
                Ok(Ok(dir)) => {
                    tracing::info!(dir = %dir.display(), "removed the old index generation")
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not remove the old index generation")
                }
                Err(e) => tracing::warn!(error = %e, "could not remove the old index generation"),
            }
        });
        Ok(())
    }

    /// Switches to an index another process published, if any.
    fn follow_published(&self) -> Result<(), ApiError> {
        let live = self.inner.data.live_index_dir().map_err(ApiError::from)?;
        match live {
            Some(dir) if dir != self.index().dir() => self.switch_to(&dir),
            _ => Ok(()),
        }
    }
}

/// The OpenAPI description, generated from the handlers and their types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gongwen",
        description = "Full-text archive and search for Chinese government policy documents. Every error is `{\"error\": {\"code\", \"message\"}}`; codes: invalid_query, invalid_parameter and invalid_request (400), unauthorized (401), forbidden (403), not_found (404), method_not_allowed (405), request_timeout (408), index_busy (409), payload_too_large (413), uri_too_long (414), undecodable (422), headers_too_large (431), timeout (503), internal (500)."
    ),
    paths(
        handlers::search,
        handlers::document,
        handlers::original,
        handlers::health,
        handlers::stats,
        handlers::upload,
        handlers::reindex,
        handlers::openapi,
    ),
    modifiers(&AdminToken)
)]
pub struct ApiDoc;

/// Declares the bearer token the write endpoints need.
struct AdminToken;

impl utoipa::Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The routes, with tracing, CORS and body limits. Write routes check the admin token before
/// anything reads their body.
pub fn router(state: AppState) -> Router {
    let config = &state.inner.config;
    let cors = config.cors.layer();
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        })
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Micros),
        );
    let writes = Router::new()
        .route("/api/documents", post(handlers::upload))
        .route("/api/reindex", post(handlers::reindex))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handlers::require_token,
        ));
    let api = Router::new()
        .route("/", get(handlers::page))
        .route("/api/search", get(handlers::search))
        .route("/api/documents/{id}", get(handlers::document))
        .route("/api/documents/{id}/original", get(handlers::original))
        .route("/api/health", get(handlers::health))
        .route("/api/stats", get(handlers::stats))
        .route("/api/openapi.json", get(handlers::openapi))
        .merge(writes)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_upload_bytes))
        .layer(trace);
    let api = match cors {
        Some(cors) => api.layer(cors),
        None => api,
    };
    api.with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let poll = state.inner.config.index_poll;
    let limits = state.inner.config.limits;
    let watcher_state = state.clone();
    let watcher = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(poll);
        loop {
            ticks.tick().await;
            if let Err(e) = watcher_state.follow_published() {
                tracing::warn!(error = %e.message, "could not follow the published index");
            }
        }
    });
    let result = conn::serve(listener, router(state), limits, shutdown).await;
    watcher.abort();
    result
}

/// Opens the live index in `data`; when there is none, imports `corpus` (if it exists) first.
pub fn open_or_import(data: &DataDir, corpus: &Path) -> Result<SearchIndex, import::ImportError> {
    match data.live_index_dir()? {
        Some(_) => Ok(data.open_live()?),
        None => {
            if corpus.is_dir() {
                tracing::info!(corpus = %corpus.display(), "no index yet: importing the corpus");
                let report =
                    import::import(data, &[corpus.to_path_buf()], &ImportOptions::default())?;
                tracing::info!(
                    files = report.files_seen,
                    documents = report.documents_indexed,
                    failed = report.failed.len(),
                    seconds = report.seconds,
                    "corpus imported"
                );
                for failure in &report.failed {
                    tracing::warn!(path = %failure.path, error = %failure.error, "not imported");
                }
            }
            Ok(data.open_or_create_live()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_validated_and_a_wildcard_is_supported() {
        let origins = |list: &[&str]| {
            Cors::from_origins(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(origins(&[]), Ok(Cors::Off));
        assert_eq!(origins(&["*"]), Ok(Cors::Any));
        assert!(Cors::Any.layer().is_some());
        assert_eq!(
            origins(&["https://portal.example"]),
            Ok(Cors::Origins(vec![HeaderValue::from_static(
                "https://portal.example"
            )]))
        );
        for bad in [
            &["*", "https://a.example"][..],
            &["portal.example"],
            &["https://a.example/path"],
            &["ftp://a.example"],
        ] {
            let e = origins(bad).expect_err("refused");
            assert!(e.contains('`'), "{e}");
        }
    }

    #[tokio::test]
    async fn work_past_the_time_limit_is_a_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::new(dir.path());
        let index = data.open_or_create_live().expect("index");
        let config = ServerConfig {
            request_timeout: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let state = AppState::new(data, index, config);
        let slow = state
            .blocking(|| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
            .expect_err("too slow");
        assert_eq!(slow.code, ErrorCode::Timeout);
        assert_eq!(slow.code.status().as_u16(), 503);
        let quick = state.blocking(|| Ok(7)).await.expect("in time");
        assert_eq!(quick, 7);
    }
}
