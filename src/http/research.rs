//! The research endpoints: a document's citations and versions, issuer suggestions, and the
//! export of a whole result set.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::handlers::{SearchParams, document_id_from, non_empty, parse_number};
use super::params::Params;
use crate::index::relations::{Citations, Relations, Versions};
use crate::lang::issuers::{Entities, Succession};
use crate::search::{self, export};

/// Citing documents listed at most, when the request does not say.
const CITED_BY_LIMIT: usize = 100;
/// Suggestions listed at most, when the request does not say.
const SUGGESTIONS: usize = 10;
/// Chunks of an export waiting to be sent, at most (each up to [`CHUNK_BYTES`]).
const EXPORT_CHUNKS: usize = 16;
const CHUNK_BYTES: usize = 64 * 1024;
/// The header carrying an export's exact row count.
const TOTAL_HEADER: &str = "x-total-count";

/// Query parameters of `GET /api/documents/{id}/citations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CitationParams {
    /// Citing documents listed, newest first (default 100; `cited_by_total` counts all).
    limit: Option<String>,
}

/// What a document cites, resolved, and who cites it.
#[utoipa::path(
    get,
    path = "/api/documents/{id}/citations",
    params(("id" = String, Path, description = "Document id"), CitationParams),
    responses(
        (status = 200, description = "Citations", body = Citations),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 404, description = "No such document", body = ErrorBody),
    )
)]
pub async fn citations(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    Params(params): Params<CitationParams>,
) -> Result<Json<Citations>, ApiError> {
    let id = document_id_from(id)?;
    let limit = parse_number("limit", params.limit)?.unwrap_or(CITED_BY_LIMIT);
    from_relations(&state, id, move |relations, id| {
        relations.citations(id, limit)
    })
    .await
}

/// The versions of a document's regulation.
#[utoipa::path(
    get,
    path = "/api/documents/{id}/versions",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "Versions, oldest first", body = Versions),
        (status = 404, description = "No such document", body = ErrorBody),
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Versions>, ApiError> {
    let id = document_id_from(id)?;
    from_relations(&state, id, |relations, id| relations.versions(id)).await
}

/// What `answer` reads off the current relations for document `id`, on the blocking pool; a
/// 404 when it knows no such document.
async fn from_relations<T: Send + 'static>(
    state: &AppState,
    id: String,
    answer: impl FnOnce(&Relations, &str) -> Option<T> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let index = state.index();
    let found = state
        .blocking(move || {
            let relations = index.relations(&index.searcher())?;
            Ok(answer(&relations, &id).ok_or_else(|| {
                ApiError::new(ErrorCode::NotFound, format!("no document with id `{id}`"))
            }))
        })
        .await?;
    Ok(Json(found?))
}

/// Query parameters of `GET /api/facets/issuer`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IssuerParams {
    /// Part of an issuer's name or of one of its forms (浦东).
    prefix: Option<String>,
    /// Entities listed at most (default 10).
    limit: Option<String>,
}

/// Issuer entities matching typed text.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerSuggestions {
    pub values: Vec<IssuerSuggestion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerSuggestion {
    /// The entity's canonical name (what `issuer=` takes).
    pub value: String,
    /// Documents it issued.
    pub count: u64,
    /// Its other printed forms.
    pub forms: Vec<String>,
    /// The entity it was renamed to or merged into, when, and the published source.
    pub succeeded_by: Option<Succession>,
    /// The entities it succeeded, directly or in a chain (`include_predecessors` adds them).
    pub predecessors: Vec<String>,
}

/// Issuer entities whose name or a form starts with, or else contains, `prefix`, with their
/// document counts: those starting with it first, then by count.
#[utoipa::path(
    get,
    path = "/api/facets/issuer",
    params(IssuerParams),
    responses(
        (status = 200, description = "Matching issuer entities", body = IssuerSuggestions),
        (status = 400, description = "Bad parameter", body = ErrorBody),
    )
)]
pub async fn issuers(
    State(state): State<AppState>,
    Params(params): Params<IssuerParams>,
) -> Result<Json<IssuerSuggestions>, ApiError> {
    let typed = crate::lang::fold::to_simplified(&non_empty(params.prefix).unwrap_or_default());
    let limit = parse_number("limit", params.limit)?.unwrap_or(SUGGESTIONS);
    let index = state.index();
    state
        .blocking(move || {
            let entities = Entities::bundled();
            let request = search::SearchRequest {
                limit: 0,
                facets: search::FacetSet {
                    issuer: true,
                    ..search::FacetSet::NONE
                },
                facet_limit: None,
                ..search::SearchRequest::default()
            };
            let mut values: Vec<(bool, IssuerSuggestion)> = search::search(&index, &request)?
                .facets
                .issuer
                .into_iter()
                .filter_map(|facet| {
                    let forms = entities.forms(&facet.value);
                    let starts = forms.iter().any(|f| f.starts_with(&typed));
                    (starts || forms.iter().any(|f| f.contains(&typed))).then(|| {
                        (
                            starts,
                            IssuerSuggestion {
                                forms: forms.into_iter().skip(1).collect(),
                                succeeded_by: entities.succeeded_by(&facet.value).cloned(),
                                predecessors: entities
                                    .with_predecessors(&facet.value)
                                    .into_iter()
                                    .skip(1)
                                    .collect(),
                                value: facet.value,
                                count: facet.count,
                            },
                        )
                    })
                })
                .collect();
            values.sort_by(|(a_starts, a), (b_starts, b)| {
                b_starts
                    .cmp(a_starts)
                    .then(b.count.cmp(&a.count))
                    .then_with(|| a.value.cmp(&b.value))
            });
            Ok(Json(IssuerSuggestions {
                values: values.into_iter().take(limit).map(|(_, v)| v).collect(),
            }))
        })
        .await
}

/// Query parameters of `GET /api/export`: the search's query and filters, and the format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// The query, as in `/api/search`.
    q: Option<String>,
    #[serde(default)]
    issuer: Vec<String>,
    include_predecessors: Option<String>,
    #[serde(default)]
    doc_type: Vec<String>,
    #[serde(default)]
    year: Vec<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    doc_number: Option<String>,
    #[serde(default)]
    subject: Vec<String>,
    #[serde(default)]
    status: Vec<String>,
    /// csv (UTF-8 with a byte-order mark; default) or jsonl.
    format: Option<String>,
    /// Fields of each row, comma-separated (default id, title, issuers, doc_number, date,
    /// doc_type, subject_words, status, cited_by_count).
    fields: Option<String>,
}

/// Every matching document, streamed as CSV or JSON Lines, the exact count in
/// `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/export",
    params(ExportParams),
    responses(
        (status = 200, description = "Rows, one per document", content_type = "text/csv"),
        (status = 400, description = "Malformed query or parameter", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Params(params): Params<ExportParams>,
) -> Result<Response, ApiError> {
    let format: export::Format = non_empty(params.format)
        .map(|f| f.parse().map_err(|e| ApiError::parameter("format", e)))
        .transpose()?
        .unwrap_or(export::Format::Csv);
    let fields = export::parse_fields(&params.fields.unwrap_or_default())
        .map_err(|e| ApiError::parameter("fields", e))?;
    let request = SearchParams {
        q: params.q,
        issuer: params.issuer,
        include_predecessors: params.include_predecessors,
        doc_type: params.doc_type,
        year: params.year,
        date_from: params.date_from,
        date_to: params.date_to,
        doc_number: params.doc_number,
        subject: params.subject,
        status: params.status,
        ..SearchParams::default()
    }
    .into_request()?;
    let slot = state.export_slot().await?;
    let index = state.index();
    let (total_tx, total_rx) = tokio::sync::oneshot::channel::<Result<usize, ApiError>>();
    let (chunks_tx, chunks_rx) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_CHUNKS);
    // The whole export runs on the blocking pool in its export slot, outside the read slots
    // (it lasts as long as the client reads); it stops when the client goes away.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let prepared = match export::prepare(&index, &request, fields, format) {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = total_tx.send(Err(ApiError::from(e)));
                return;
            }
        };
        if total_tx.send(Ok(prepared.total)).is_err() {
            return;
        }
        let failed = chunks_tx.clone();
        let mut sink = ChunkSink {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            chunks: chunks_tx,
        };
        if let Err(e) = prepared.write(&mut sink, &|| failed.is_closed()) {
            tracing::warn!(error = %e, "export stopped");
            // An error as the body's last chunk aborts the response: a cut export must not
            // look whole.
            let _ = failed.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let total = total_rx.await.map_err(ApiError::internal)??;
    let body = Body::from_stream(futures_util::stream::unfold(
        chunks_rx,
        |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) },
    ));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(TOTAL_HEADER, HeaderValue::from(total));
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"gongwen-export.{}\"",
        format.extension()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// Writes an export into chunks sent to the response body, waiting while the client reads (a
/// client that stops reading is dropped by the connection's send timeout, which ends the
/// export with it).
struct ChunkSink {
    buffer: Vec<u8>,
    chunks: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl ChunkSink {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.chunks.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl std::io::Write for ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
