//! The extractors of the demo handlers: axum's `Json`, `Path` and `Query`, rejecting with an
//! [`ApiError`] (a JSON body) instead of axum's plain text. A handler names them exactly as it
//! would name axum's; `#[requires]` still puts its permission check before them, so a denied
//! caller's body is never read.

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api_error::ApiError;

/// A JSON request body (400 malformed, 413 over the limit, 415 without `Content-Type:
/// application/json`, 422 of the wrong shape), or a JSON response.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters (400 when one does not parse, a UUID for example).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The query string (400 when it does not parse, an unknown status for example).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
