//! Errors of the demo handlers (not authentication errors, which `tasker_auth` writes).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::store::{Store, Template};

/// The template `namespace/name/version`, or the 404 both APIs answer without it.
pub fn find_template(
    store: &Store,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<Template, ApiError> {
    store
        .template(namespace, name, version)
        .ok_or_else(|| ApiError::not_found(format_args!("template {namespace}/{name}/{version}")))
}

/// A handler error: a status, a code and a message, written as
/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// 404 for `what`.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message: format!("{what} not found"),
        }
    }

    /// 409 with `message`.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "CONFLICT",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}
