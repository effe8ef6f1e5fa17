//! Every error the demo servers answer that is not an authentication error: in the same JSON shape
//! as `tasker_auth`'s 401 and 403, [`tasker_auth::ErrorBody`],
//! `{"error": {"code": "...", "reason": "...", "message": "..."}}`.
//!
//! `code` is the status's name (`NOT_FOUND`, `UNPROCESSABLE_ENTITY`), `reason` a stable
//! snake_case word for the cause (`not_found`, `invalid_body`), `message` human text. The
//! rejections of the path, query and body extractors ([`crate::extract`]) and the bodiless
//! errors of the router and its layers (404 without a route, 405, 408) are turned into it too.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tasker_auth::{ErrorBody, ErrorDetail};

use crate::store::{Store, StoreFull, Template};

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

/// A handler error: a status, a reason and a message, written as a [`tasker_auth::ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl ApiError {
    /// An error of `status` with `reason` (snake_case) and `message`.
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            reason,
            message: message.into(),
        }
    }

    /// 404 for `what`.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409: the resource's state forbids the change (reason `conflict`).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 507: the in-memory store holds as much as it may (reason `store_full`).
    pub fn store_full(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INSUFFICIENT_STORAGE, "store_full", message)
    }

    /// The error for a response of `status` that some layer answered without a JSON body.
    pub fn for_status(status: StatusCode) -> Self {
        let (reason, message) = match status {
            StatusCode::NOT_FOUND => ("no_route", "no route matches this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this path does not serve this method (see the Allow header)",
            ),
            StatusCode::REQUEST_TIMEOUT => {
                ("timeout", "the request took too long and was abandoned")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
            s if s.is_server_error() => ("internal", "the server could not answer this request"),
            _ => ("bad_request", "the request could not be processed"),
        };
        Self::new(status, reason, message)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error.reason` of the body.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The `error.code` of the body: the status's name in capitals (`NOT_FOUND`).
    pub fn code(&self) -> String {
        self.status
            .canonical_reason()
            .unwrap_or("ERROR")
            .to_ascii_uppercase()
            .replace([' ', '-'], "_")
    }

    /// The body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                reason: self.reason.to_owned(),
                message: self.message.clone(),
                required_permission: None,
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.reason, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

impl From<StoreFull> for ApiError {
    fn from(full: StoreFull) -> Self {
        Self::store_full(full.to_string())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(rejection.status(), "invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(rejection.status(), "invalid_query", rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let reason = match &rejection {
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::JsonSyntaxError(_) => "malformed_body",
            JsonRejection::MissingJsonContentType(_) => "not_json",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            _ => "unreadable_body",
        };
        Self::new(status, reason, rejection.body_text())
    }
}

/// Gives an error response that is not JSON — the router's 404 and 405, the timeout's 408 —
/// the JSON body of [`ApiError::for_status`], keeping its other headers (`Allow`).
pub async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let mut json = ApiError::for_status(status).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    std::mem::swap(json.headers_mut(), &mut parts.headers);
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn json_of(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn api_errors_are_error_bodies_with_code_reason_and_message() {
        let response = ApiError::store_full("full").into_response();
        assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
        let body = json_of(response).await;
        let parsed: ErrorBody = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed.error.code, "INSUFFICIENT_STORAGE", "{body}");
        assert_eq!(parsed.error.reason, "store_full");
        assert_eq!(parsed.error.message, "full");
        assert_eq!(ApiError::not_found("x").code(), "NOT_FOUND");
        assert_eq!(
            ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE).code(),
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }

    #[tokio::test]
    async fn bodiless_errors_get_a_json_body_and_keep_their_headers() {
        let bare = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET,HEAD")
            .body(axum::body::Body::empty())
            .unwrap();
        let mapped = json_error_bodies(bare).await;
        assert_eq!(mapped.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(mapped.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(mapped.headers()[header::CONTENT_TYPE], "application/json");
        let body = json_of(mapped).await;
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED", "{body}");
        assert_eq!(body["error"]["reason"], "method_not_allowed");

        let text = Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(axum::body::Body::from("too big"))
            .unwrap();
        let body = json_of(json_error_bodies(text).await).await;
        assert_eq!(body["error"]["reason"], "body_too_large", "{body}");

        let ok = Response::new(axum::body::Body::from("fine"));
        let untouched = json_error_bodies(ok).await;
        assert!(untouched.headers().get(header::CONTENT_TYPE).is_none());
    }
}
