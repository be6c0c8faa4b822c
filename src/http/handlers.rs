//! The handlers: each extracts and validates its input, runs the work off the async workers
//! ([`AppState::blocking`]), and answers JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::params::Params;
use crate::index::relations::Summary;
use crate::ingest::sha256_hex;
use crate::model::{DocNumber, Document, IsoDate};
use crate::search::{self, FacetCount, FacetDistinct, Facets, Filters, Hit, SearchRequest, Sort};
use crate::write::{Added, ImportReport, Quiet};

/// Query parameters of `GET /api/search`. All are optional; unknown ones are refused.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query: words, "phrases", OR, -word, (groups), title:/issuer:/number:/type:/
    /// subject:/year:/date: fields, document numbers in any bracket form.
    pub(super) q: Option<String>,
    /// Issuer, any printed form, exactly; repeated: any of them.
    #[serde(default)]
    pub(super) issuer: Vec<String>,
    /// Document type (文种), e.g. 通知; repeated: any of them.
    #[serde(default)]
    pub(super) doc_type: Vec<String>,
    /// Year the document is filed under; repeated: any of them.
    #[serde(default)]
    pub(super) year: Vec<String>,
    /// Earliest date, YYYY-MM-DD.
    pub(super) date_from: Option<String>,
    /// Latest date, YYYY-MM-DD.
    pub(super) date_to: Option<String>,
    /// The document's own number, any bracket form.
    pub(super) doc_number: Option<String>,
    /// Subject word (主题词); repeated: any of them.
    #[serde(default)]
    pub(super) subject: Vec<String>,
    /// Validity: in_force, superseded, repealed or expired; repeated: any of them.
    #[serde(default)]
    pub(super) status: Vec<String>,
    /// `true`: `issuer` also matches the entities it succeeded (default false).
    pub(super) include_predecessors: Option<String>,
    /// relevance (default), date_desc, date_asc or cited_by.
    pub(super) sort: Option<String>,
    /// Hits to skip (default 0).
    pub(super) offset: Option<String>,
    /// Hits to return, at most 100 (default 10).
    pub(super) limit: Option<String>,
    /// Facets to count, comma-separated: issuer, year, doc_type, subject, status (default
    /// all; empty for none).
    pub(super) facets: Option<String>,
    /// Values listed per facet (default 20; 0 for all).
    pub(super) facet_limit: Option<String>,
    /// `versions`: only the newest matching version of each regulation.
    pub(super) collapse: Option<String>,
}

/// The answer of `GET /api/search`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// Exact number of matching documents.
    pub total: usize,
    /// Time spent searching, in milliseconds.
    pub took_ms: u64,
    pub offset: usize,
    pub limit: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    pub facet_distinct: FacetDistinct,
}

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The values of a repeated parameter, trimmed, the empty ones and repeats dropped.
fn values(given: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in given.into_iter().filter_map(|v| non_empty(Some(v))) {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

pub(super) fn parse_number<T: std::str::FromStr>(
    name: &str,
    value: Option<String>,
) -> Result<Option<T>, ApiError> {
    non_empty(value)
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::parameter(name, format!("`{v}` is not a whole number")))
        })
        .transpose()
}

impl SearchParams {
    pub(super) fn into_request(self) -> Result<SearchRequest, ApiError> {
        let date = |name: &str, value: Option<String>| -> Result<Option<IsoDate>, ApiError> {
            non_empty(value)
                .map(|v| v.parse().map_err(|e| ApiError::parameter(name, e)))
                .transpose()
        };
        let year = values(self.year)
            .into_iter()
            .map(|y| match parse_number::<i32>("year", Some(y))? {
                Some(y) if (1..=9999).contains(&y) => Ok(y),
                y => Err(ApiError::parameter(
                    "year",
                    format!("{} is not a year", y.unwrap_or_default()),
                )),
            })
            .collect::<Result<Vec<i32>, ApiError>>()?;
        let sort = non_empty(self.sort)
            .map(|s| {
                s.parse::<Sort>()
                    .map_err(|e| ApiError::parameter("sort", e))
            })
            .transpose()?
            .unwrap_or_default();
        let limit = parse_number("limit", self.limit)?.unwrap_or(search::DEFAULT_LIMIT);
        if limit > search::MAX_LIMIT {
            return Err(ApiError::parameter(
                "limit",
                format!(
                    "at most {} hits per request; page with `offset`",
                    search::MAX_LIMIT
                ),
            ));
        }
        let filters = Filters {
            issuer: values(self.issuer),
            doc_type: values(self.doc_type),
            year,
            date_from: date("date_from", self.date_from)?,
            date_to: date("date_to", self.date_to)?,
            doc_number: non_empty(self.doc_number)
                .map(|n| {
                    n.parse::<DocNumber>()
                        .map_err(|e| ApiError::parameter("doc_number", e))
                })
                .transpose()?,
            subject: values(self.subject),
            status: values(self.status)
                .into_iter()
                .map(|s| s.parse().map_err(|e| ApiError::parameter("status", e)))
                .collect::<Result<_, _>>()?,
            include_predecessors: flag("include_predecessors", self.include_predecessors)?,
        };
        if let (Some(from), Some(to)) = (filters.date_from, filters.date_to)
            && from > to
        {
            return Err(ApiError::parameter(
                "date_from",
                format!("{from} is after date_to {to}"),
            ));
        }
        Ok(SearchRequest {
            q: self.q.unwrap_or_default(),
            filters,
            sort,
            offset: parse_number("offset", self.offset)?.unwrap_or(0),
            limit,
            facets: self
                .facets
                .map(|f| f.parse().map_err(|e| ApiError::parameter("facets", e)))
                .transpose()?
                .unwrap_or_default(),
            facet_limit: match parse_number::<usize>("facet_limit", self.facet_limit)? {
                Some(0) => None,
                Some(n) => Some(n),
                None => Some(search::FACET_VALUES),
            },
            collapse_versions: match non_empty(self.collapse).as_deref() {
                None => false,
                Some("versions") => true,
                Some(other) => {
                    return Err(ApiError::parameter(
                        "collapse",
                        format!("`{other}` is not a collapse mode: use versions"),
                    ));
                }
            },
        })
    }
}

/// `true` or `false` (empty: false).
fn flag(name: &str, value: Option<String>) -> Result<bool, ApiError> {
    match non_empty(value).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::parameter(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

pub(super) fn rejected(rejection: impl std::fmt::Display, code: ErrorCode) -> ApiError {
    ApiError::new(code, rejection.to_string())
}

/// Ranked search with filters, facets and snippets.
#[utoipa::path(
    get,
    path = "/api/search",
    params(SearchParams),
    responses(
        (status = 200, description = "Matching documents", body = SearchResult),
        (status = 400, description = "Malformed query or parameter", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Params(params): Params<SearchParams>,
) -> Result<Json<SearchResult>, ApiError> {
    let request = params.into_request()?;
    let index = state.index();
    let started = std::time::Instant::now();
    let (offset, limit) = (request.offset, request.limit);
    let response = state
        .blocking(move || search::search(&index, &request).map_err(ApiError::from))
        .await?;
    Ok(Json(SearchResult {
        total: response.total,
        took_ms: started.elapsed().as_millis() as u64,
        offset,
        limit,
        hits: response.hits,
        facets: response.facets,
        facet_distinct: response.facet_distinct,
    }))
}

pub(super) fn document_id_from(
    path: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|e| rejected(e.body_text(), ErrorCode::InvalidParameter))?;
    Ok(id)
}

async fn find_document(state: &AppState, id: String) -> Result<Document, ApiError> {
    let index = state.index();
    let lookup = id.clone();
    state
        .blocking(move || index.document(&lookup).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no document with id `{id}`")))
}

/// Query parameters of `GET /api/documents/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentParams {
    /// A query (as `/api/search` takes it) whose terms `highlighted_text` marks.
    highlight: Option<String>,
}

/// A document, as `gongwen inspect` prints it.
#[utoipa::path(
    get,
    path = "/api/documents/{id}",
    params(("id" = String, Path, description = "Document id"), DocumentParams),
    responses(
        (status = 200, description = "The document, with its status, citation count and versions", body = DocumentView),
        (status = 400, description = "Malformed highlight query", body = ErrorBody),
        (status = 404, description = "No such document", body = ErrorBody),
    )
)]
pub async fn document(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    Params(params): Params<DocumentParams>,
) -> Result<Json<DocumentView>, ApiError> {
    let id = document_id_from(id)?;
    let highlight = non_empty(params.highlight);
    let index = state.index();
    let lookup = id.clone();
    state
        .blocking(move || {
            let searcher = index.searcher();
            let relations = index.relations(&searcher)?;
            let (Some(document), Some(summary)) = (
                index.document_in(&searcher, &lookup)?,
                relations.summary_by_id(&lookup),
            ) else {
                return Ok(None);
            };
            let highlighted_text = highlight
                .map(|q| search::highlighted(&index, &relations, &q, &document.text))
                .transpose()
                .map_err(|e| {
                    let malformed = matches!(e, search::SearchError::Query(_));
                    let mut error = ApiError::from(e);
                    if malformed {
                        error.parameter = Some("highlight".to_string());
                    }
                    error
                })?;
            Ok(Some(Json(DocumentView {
                document,
                relations: summary,
                highlighted_text,
            })))
        })
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no document with id `{id}`")))
}

/// A document with what the archive's relations say of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    #[serde(flatten)]
    pub document: Document,
    #[serde(flatten)]
    pub relations: Summary,
    /// With `highlight`: `text` as HTML, the query's terms in `<mark>`, the rest escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlighted_text: Option<String>,
}

/// The charset label of an encoding name, for a Content-Type header.
fn charset(encoding: &str) -> Option<&str> {
    (!encoding.contains('+')).then_some(encoding)
}

/// The original bytes of the file a document came from, as archived.
#[utoipa::path(
    get,
    path = "/api/documents/{id}/original",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The original bytes, with their encoding as the charset", content_type = "text/plain"),
        (status = 404, description = "No such document", body = ErrorBody),
    )
)]
pub async fn original(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = document_id_from(id)?;
    let doc = find_document(&state, id).await?;
    let bytes = archived(&state, &doc.source.sha256).await?;
    let lower = doc.source.path.to_ascii_lowercase();
    let mime = if lower.ends_with(".html") || lower.ends_with(".htm") {
        "text/html"
    } else if lower.ends_with(".md") || lower.ends_with(".markdown") {
        "text/markdown"
    } else {
        "text/plain"
    };
    let content_type = match charset(&doc.source.encoding) {
        Some(charset) => format!("{mime}; charset={charset}"),
        None => mime.to_string(),
    };
    // Sent straight from the archive's file (mapped when large), never copied whole.
    let mut response = Bytes::from_owner(bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The archived original bytes with key `sha256`.
async fn archived(state: &AppState, sha256: &str) -> Result<crate::store::FileBytes, ApiError> {
    let archive_state = state.clone();
    let key = sha256.to_string();
    state
        .blocking(move || archive_state.archive().open(&key).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::internal(format!("archive entry {sha256} is missing")))
}

/// The answer of `GET /api/documents/{id}/source_text`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceText {
    /// The encoding the original bytes were decoded with.
    pub encoding: String,
    /// The document's section of its file as decoded, before any repair (for HTML, the text
    /// drawn from the markup).
    pub text: String,
}

/// A document's original text, before repair: to set beside the repaired one.
#[utoipa::path(
    get,
    path = "/api/documents/{id}/source_text",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The original text of the document's section", body = SourceText),
        (status = 404, description = "No such document", body = ErrorBody),
    )
)]
pub async fn source_text(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<SourceText>, ApiError> {
    let id = document_id_from(id)?;
    let doc = find_document(&state, id).await?;
    let bytes = archived(&state, &doc.source.sha256).await?;
    let (path, range) = (doc.source.path, doc.source.char_range);
    let text = state
        .blocking(move || {
            crate::ingest::source_text(bytes.as_ref(), &path, range).map_err(ApiError::internal)
        })
        .await?;
    Ok(Json(SourceText {
        encoding: doc.source.encoding,
        text,
    }))
}

/// The answer of `GET /api/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub documents: u64,
    /// The schema version of the index.
    pub index_version: u32,
    /// The index generation served (`gen-000007`): it changes with each reindex.
    pub generation: String,
}

/// Liveness and the size of the index.
#[utoipa::path(get, path = "/api/health", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let index = state.index();
    Json(Health {
        status: "ok".to_string(),
        documents: index.num_docs(),
        index_version: index.schema_version(),
        generation: index
            .dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })
}

/// The answer of `GET /api/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub documents: u64,
    pub by_issuer: Vec<FacetCount>,
    pub by_year: Vec<FacetCount>,
    pub by_type: Vec<FacetCount>,
    pub by_subject: Vec<FacetCount>,
    /// Bytes the live index takes on disk.
    pub index_bytes: u64,
    /// Original files in the archive.
    pub archived_files: usize,
}

/// Counts by issuer, year and type, and sizes.
#[utoipa::path(get, path = "/api/stats", responses((status = 200, body = Stats)))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    let index = state.index();
    let archive_state = state.clone();
    state
        .blocking(move || {
            let facets = search::all_facets(&index)?;
            Ok(Json(Stats {
                documents: index.num_docs(),
                by_issuer: facets.issuer,
                by_year: facets.year,
                by_type: facets.doc_type,
                by_subject: facets.subject,
                index_bytes: index.size_on_disk(),
                archived_files: archive_state.archive().entries()?.len(),
            }))
        })
        .await
}

/// Checks the bearer token of a write request before its handler runs, so an unauthorised
/// body is never read.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match authorize(&state, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.admin_token() else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "writes are disabled on this server: start it with GONGWEN_ADMIN_TOKEN set",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(ErrorCode::Unauthorized, "wrong admin token")),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this endpoint needs `Authorization: Bearer <admin token>`",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// The answer of `POST /api/documents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// Ids of the documents the file holds.
    pub ids: Vec<String>,
    pub documents: Vec<Added>,
    /// True when these exact bytes were already indexed (nothing changed).
    pub duplicate: bool,
}

/// The upload's name: `X-Filename`, percent-decoded, or a name made from its hash.
fn upload_name(given: Option<&str>, sha256: &str) -> String {
    given
        .map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy())
        .map(|name| name.trim().replace(['/', '\\'], "_"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("upload-{}.txt", &sha256[..12]))
}

/// The uploaded file: the body as it is, or the first file of a `multipart/form-data` form
/// (what a browser sends), with the name it was given.
async fn upload_body(
    state: &AppState,
    request: Request,
) -> Result<(Bytes, Option<String>), ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the upload is over the limit of {} bytes",
                state.max_upload_bytes()
            ),
        )
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let name = request
            .headers()
            .get("x-filename")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|e: BytesRejection| match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => rejected(e.body_text(), ErrorCode::InvalidParameter),
                })?;
        return Ok((body, name));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| rejected(e.body_text(), ErrorCode::InvalidParameter))?;
    while let Some(field) = form.next_field().await.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => rejected(e.body_text(), ErrorCode::InvalidParameter),
    })? {
        let Some(name) = field.file_name().map(str::to_string) else {
            continue;
        };
        let bytes = field.bytes().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            _ => rejected(e.body_text(), ErrorCode::InvalidParameter),
        })?;
        return Ok((bytes, Some(name)));
    }
    Err(ApiError::parameter(
        "body",
        "the form holds no file: send it as a field with a file name",
    ))
}

/// Ingests an uploaded file (any encoding; a `.zip` member by member), indexes and commits
/// it. These bytes indexed before are answered from the index at once.
#[utoipa::path(
    post,
    path = "/api/documents",
    request_body(content = Vec<u8>, description = "The raw file, in any encoding, or a multipart/form-data form with a file field", content_type = "application/octet-stream"),
    params(("X-Filename" = Option<String>, Header, description = "The file's name (percent-encoded UTF-8); its extension guides decoding")),
    responses(
        (status = 201, description = "Indexed", body = Uploaded),
        (status = 200, description = "Already indexed", body = Uploaded),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "Writes disabled", body = ErrorBody),
        (status = 408, description = "The body did not arrive in time", body = ErrorBody),
        (status = 409, description = "Another process is writing", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not a text document", body = ErrorBody),
    ),
    security(("admin_token" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let (body, given_name) =
        tokio::time::timeout(state.body_timeout(), upload_body(&state, request))
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the upload did not arrive within {} s",
                        state.body_timeout().as_secs()
                    ),
                )
            })??;
    let name = upload_name(given_name.as_deref(), &sha256_hex(&body));
    let bytes: std::sync::Arc<[u8]> = std::sync::Arc::from(&body[..]);
    drop(body);
    let upload = state
        .write(move |state| {
            state
                .writes()
                .upload(state.live(), &name, bytes)
                .map_err(ApiError::from)
        })
        .await?;
    if upload.documents.is_empty() {
        // Nothing indexed and nothing known: the file (or every member) failed.
        return Err(match upload.report.failed.first() {
            Some(failed) if failed.code == "too_large" => {
                ApiError::new(ErrorCode::PayloadTooLarge, failed.error.clone())
            }
            Some(failed) => ApiError::new(ErrorCode::Undecodable, failed.error.clone()),
            None => ApiError::new(ErrorCode::Undecodable, "the upload holds no document"),
        });
    }
    let status = if upload.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Uploaded {
            ids: upload.documents.iter().map(|d| d.id.clone()).collect(),
            documents: upload.documents,
            duplicate: upload.duplicate,
        }),
    ))
}

/// Deletes a document from the index; a reindex leaves it out, and its original stays in the
/// archive.
#[utoipa::path(
    delete,
    path = "/api/documents/{id}",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "Writes disabled", body = ErrorBody),
        (status = 404, description = "No such document", body = ErrorBody),
        (status = 409, description = "Another process is writing", body = ErrorBody),
    ),
    security(("admin_token" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = document_id_from(id)?;
    let lookup = id.clone();
    let deleted = state
        .write(move |state| {
            state
                .writes()
                .delete(state.live(), &lookup)
                .map_err(ApiError::from)
        })
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no document with id `{id}`"),
        ))
    }
}

/// Rebuilds the index from the archive beside the live one and switches to it; searches are
/// answered from the old index until the switch, and writes made meanwhile are replayed.
#[utoipa::path(
    post,
    path = "/api/reindex",
    responses(
        (status = 200, description = "Rebuilt and switched", body = ImportReport),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "Writes disabled", body = ErrorBody),
        (status = 409, description = "Another reindex is running", body = ErrorBody),
    ),
    security(("admin_token" = []))
)]
pub async fn reindex(State(state): State<AppState>) -> Result<Json<ImportReport>, ApiError> {
    let work = state.clone();
    let (report, _) = tokio::task::spawn_blocking(move || {
        work.writes()
            .reindex(Some(work.live()), &Quiet)
            .map_err(ApiError::from)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(report))
}

/// The OpenAPI description of this API.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> Response {
    use utoipa::OpenApi;
    Json(super::ApiDoc::openapi()).into_response()
}

/// The web page.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such endpoint; see /api/openapi.json",
    )
}

/// Known routes, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept that method; see /api/openapi.json",
    )
}
