//! Query parameters. A key may be given several times (`issuer=A&issuer=B`): a list field
//! takes every value, which is how a filter holds any of several values.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode};

/// The query string deserialized into `T` by [`serde_html_form`]; a malformed, repeated
/// single-valued or unknown parameter is a 400 `invalid_parameter`.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        serde_html_form::from_str(parts.uri.query().unwrap_or_default())
            .map(Params)
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("Failed to deserialize query string: {e}"),
                )
            })
    }
}
