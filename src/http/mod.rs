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
mod params;
mod research;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;

pub use error::{ApiError, ErrorCode};

use crate::config::{Cors, ServerConfig};
use crate::index::{LiveIndex, SearchIndex};
use crate::ingest::Pipeline;
use crate::store::{Archive, DataDir};
use crate::write::{Quiet, WriteError, WriteOptions, Writes};

/// The CORS layer for the origins configured, if any.
fn cors_layer(cors: &Cors) -> Option<CorsLayer> {
    let allow = match cors {
        Cors::Off => return None,
        Cors::Any => AllowOrigin::any(),
        Cors::Origins(origins) => AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-filename"),
            ]),
    )
}

/// Reads running at once, per core. One per core left the cores idle a fifth of the time
/// under load (a finished read hands its slot to a waiting request through the async
/// workers and the blocking pool before the next search starts): with four, a core always
/// has a search to run, and the slots still bound the threads a burst of requests can take
/// (`benches/wrk.sh` on 2 cores: 813 requests/s with one per core, 1,049 with two, 1,139
/// with four).
const READS_PER_CORE: usize = 4;

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    live: LiveIndex,
    writes: Writes,
    archive: Archive,
    config: ServerConfig,
    /// Writes of this server wait their turn here (across processes, the data directory's
    /// lock decides).
    writing: tokio::sync::Mutex<()>,
    /// Reads running at once: [`READS_PER_CORE`] per core.
    reads: Arc<tokio::sync::Semaphore>,
    /// Exports running at once, one per core: an export runs outside the read slots (it
    /// lasts as long as its client reads), so these bound what exports can take.
    exports: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(live: LiveIndex, config: ServerConfig) -> AppState {
        let data = live.data().clone();
        AppState {
            inner: Arc::new(Inner {
                writes: Writes::new(
                    data.clone(),
                    WriteOptions {
                        pipeline: Pipeline {
                            max_file_bytes: config.max_file_bytes,
                        },
                        ..WriteOptions::default()
                    },
                ),
                archive: data.archive(),
                live,
                config,
                writing: tokio::sync::Mutex::new(()),
                reads: Arc::new(tokio::sync::Semaphore::new(READS_PER_CORE * cores())),
                exports: Arc::new(tokio::sync::Semaphore::new(cores())),
            }),
        }
    }

    /// An export slot, waited for within the request's deadline.
    async fn export_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        let exports = Arc::clone(&self.inner.exports);
        self.within_timeout(
            async move { exports.acquire_owned().await.map_err(ApiError::internal) },
        )
        .await
    }

    /// The live index (a search keeps the one it started with).
    pub fn index(&self) -> Arc<SearchIndex> {
        self.inner.live.get()
    }

    fn live(&self) -> &LiveIndex {
        &self.inner.live
    }

    fn writes(&self) -> &Writes {
        &self.inner.writes
    }

    fn archive(&self) -> &Archive {
        &self.inner.archive
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

    /// Runs the read `work` on the blocking pool when a read slot is free, both within the
    /// request timeout.
    async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let reads = Arc::clone(&self.inner.reads);
        self.within_timeout(async move {
            let permit = reads.acquire_owned().await.map_err(ApiError::internal)?;
            tokio::task::spawn_blocking(move || {
                let result = work();
                drop(permit);
                result
            })
            .await
            .map_err(ApiError::internal)?
        })
        .await
    }

    /// Runs a write on the blocking pool after this server's earlier writes, outside the read
    /// slots. A write is not cut off by the request's deadline: it is on the pool from the
    /// start, and answered 503 or not, it finishes (or fails) whole.
    async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        let turn = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let _turn = turn.writing.blocking_lock();
            work(&state)
        });
        self.within_timeout(async move { task.await.map_err(ApiError::internal)? })
            .await
    }

    /// `task`'s result, or a timeout error once the request's deadline has passed.
    async fn within_timeout<T>(
        &self,
        task: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        match tokio::time::timeout(self.inner.config.request_timeout, task).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the request took longer than {} s",
                    self.inner.config.request_timeout.as_secs()
                ),
            )),
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
        handlers::source_text,
        research::citations,
        research::versions,
        research::issuers,
        research::export,
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
    let cors = cors_layer(&config.cors);
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
        .route("/api/documents/{id}", delete(handlers::delete))
        .route("/api/reindex", post(handlers::reindex))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handlers::require_token,
        ));
    let api = Router::new()
        .route("/", get(handlers::page))
        .route("/documents/{id}", get(handlers::page))
        .route("/api/search", get(handlers::search))
        .route("/api/documents/{id}", get(handlers::document))
        .route("/api/documents/{id}/original", get(handlers::original))
        .route(
            "/api/documents/{id}/source_text",
            get(handlers::source_text),
        )
        .route("/api/documents/{id}/citations", get(research::citations))
        .route("/api/documents/{id}/versions", get(research::versions))
        .route("/api/facets/issuer", get(research::issuers))
        .route("/api/export", get(research::export))
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
            let state = watcher_state.clone();
            match tokio::task::spawn_blocking(move || state.live().refresh().map(drop)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "could not follow the published index"),
                Err(e) => tracing::warn!(error = %e, "could not follow the published index"),
            }
        }
    });
    let result = conn::serve(listener, router(state), limits, shutdown).await;
    watcher.abort();
    result
}

/// Opens the live index of `data`; when there is none yet, imports `corpus` (if it exists)
/// into it first.
pub fn open_or_import(data: &DataDir, corpus: &Path) -> Result<LiveIndex, WriteError> {
    let first_start = data.live_generation()?.is_none();
    let live = LiveIndex::open(data)?;
    if first_start && corpus.is_dir() {
        tracing::info!(corpus = %corpus.display(), "no index yet: importing the corpus");
        let report = Writes::new(data.clone(), WriteOptions::default()).import(
            &live,
            &[corpus.to_path_buf()],
            &Quiet,
        )?;
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
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_time_limit_is_a_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::new(dir.path());
        let live = LiveIndex::open(&data).expect("index");
        let config = ServerConfig {
            request_timeout: Duration::from_millis(50),
            ..ServerConfig::default()
        };
        let state = AppState::new(live, config);
        // Work that cannot finish before the deadline: it waits for a message sent only after
        // the answer came back.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let slow = state
            .blocking(move || {
                let _ = wait.recv();
                Ok(())
            })
            .await
            .expect_err("past the deadline");
        let _ = release.send(());
        assert_eq!(slow.code, ErrorCode::Timeout);
        assert_eq!(slow.code.status().as_u16(), 503);
        let quick = AppState::new(
            LiveIndex::open(&data).expect("index"),
            ServerConfig::default(),
        )
        .blocking(|| Ok(7))
        .await
        .expect("in time");
        assert_eq!(quick, 7);
    }
}
