//! The one error type of the HTTP edge. Every failure, rejected input included, is answered as
//! `{"error": {"code", "message"[, "position", "reason"][, "parameter"]}}` with the status its code implies. Internal
//! faults are logged with their cause and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::index::IndexError;
use crate::ingest::IngestError;
use crate::ingest::decode::DecodeError;
use crate::search::{QueryErrorReason, SearchError};
use crate::store::StoreError;
use crate::write::WriteError;

/// The error codes of the API, each with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the query string does not parse.
    InvalidQuery,
    /// 400: a parameter is missing, malformed or out of range.
    InvalidParameter,
    /// 400: the request itself could not be parsed (its request line or a header).
    InvalidRequest,
    /// 401: no or a wrong bearer token.
    Unauthorized,
    /// 403: writes are disabled (no admin token configured).
    Forbidden,
    /// 404: no such document or route.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 409: another process holds the index writer (an import or reindex is running).
    IndexBusy,
    /// 413: the request body is over the limit.
    PayloadTooLarge,
    /// 414: the address is too long.
    UriTooLong,
    /// 422: the upload is not a text document in any supported encoding.
    Undecodable,
    /// 431: the request headers are too large.
    HeadersTooLarge,
    /// 503: the request took longer than the server allows.
    Timeout,
    /// 500: a fault of the server; details are in its log.
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidQuery | ErrorCode::InvalidParameter | ErrorCode::InvalidRequest => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::IndexBusy => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UriTooLong => StatusCode::URI_TOO_LONG,
            ErrorCode::Undecodable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Character position in the query, for query syntax errors.
    pub position: Option<usize>,
    /// What is wrong with the query, for query syntax errors.
    pub reason: Option<QueryErrorReason>,
    /// The parameter at fault, for parameter errors.
    pub parameter: Option<String>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// What is wrong with the query, for `invalid_query`: a code to word the message in
    /// another language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<QueryErrorReason>,
    /// The parameter at fault, for `invalid_parameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            position: None,
            reason: None,
            parameter: None,
        }
    }

    /// An internal fault: logged in full, answered without details.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal server error; the cause is in the server log",
        )
    }

    pub fn parameter(name: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            parameter: Some(name.to_string()),
            ..ApiError::new(ErrorCode::InvalidParameter, format!("`{name}`: {message}"))
        }
    }
}

impl ApiError {
    fn body(self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                position: self.position,
                reason: self.reason,
                parameter: self.parameter,
            },
        }
    }

    /// The JSON body, for responses written below the router.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.clone().body()).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let code = self.code;
        let mut response = (status, Json(self.body())).into_response();
        if code == ErrorCode::Unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Query(q) => ApiError {
                code: ErrorCode::InvalidQuery,
                message: q.message,
                position: Some(q.position),
                reason: Some(q.reason),
                parameter: Some("q".to_string()),
            },
            SearchError::Parameter { name, message } => ApiError::parameter(name, message),
            SearchError::Index(e) => ApiError::from(e),
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Store(e) => ApiError::from(e),
            IndexError::Tantivy(tantivy::TantivyError::LockFailure(..)) => busy(),
            e => ApiError::internal(e),
        }
    }
}

fn busy() -> ApiError {
    ApiError::new(
        ErrorCode::IndexBusy,
        "the index is being written by another process (an import or a reindex); try again when it has finished",
    )
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy(_) => busy(),
            e => ApiError::internal(e),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Index(e) => ApiError::from(e),
            e => ApiError::internal(e),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let code = match &e {
            IngestError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            IngestError::Decode {
                source: DecodeError::Empty,
                ..
            }
            | IngestError::Decode { .. }
            | IngestError::NoText { .. } => ErrorCode::Undecodable,
            IngestError::NotFound { .. } | IngestError::Read { .. } => {
                return ApiError::internal(e);
            }
        };
        ApiError::new(code, e.to_string())
    }
}
