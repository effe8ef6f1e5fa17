//! Fetching a JWK set over HTTP: settings checks, the request and its failures.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::parse::SetError;
use super::{JwksError, JwksSettings};

pub(super) struct Remote {
    pub(super) settings: JwksSettings,
    pub(super) url: reqwest::Url,
    /// The URL without user information, for logs and `Debug`.
    pub(super) display_url: String,
    pub(super) client: reqwest::Client,
    /// Held for the whole of a fetch: at most one in flight.
    pub(super) fetch_lock: Arc<tokio::sync::Mutex<()>>,
    pub(super) fetches: AtomicU64,
}

impl Remote {
    /// GET the set, refusing redirects and any status but 200, and reading at most
    /// `max_response_bytes` of body.
    pub(super) async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_response_bytes;
        let mut response = self
            .client
            .get(self.url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(FetchError::http)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(FetchError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::http)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

pub(super) fn validate_settings(settings: &JwksSettings) -> Result<reqwest::Url, JwksError> {
    let bad = |msg: String| Err(JwksError::Settings(msg));
    if settings.url.trim().is_empty() {
        return bad("jwks_url is empty".to_owned());
    }
    let Ok(url) = reqwest::Url::parse(settings.url.trim()) else {
        return bad("jwks_url is not a valid URL".to_owned());
    };
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => {
            return bad(
                "jwks_url uses http://; use https:// or set jwks_url_allow_http = true \
                 (for a loopback identity provider in tests and development)"
                    .to_owned(),
            );
        }
        other => {
            return bad(format!(
                "jwks_url has unsupported scheme `{other}` (use https)"
            ));
        }
    }
    if url.host().is_none() {
        return bad("jwks_url has no host".to_owned());
    }
    if settings.refresh_interval.is_zero() {
        return bad("jwks_refresh_interval_seconds must be positive".to_owned());
    }
    if settings.fetch_timeout.is_zero() {
        return bad("the JWKS fetch timeout must be positive".to_owned());
    }
    if settings.max_response_bytes == 0 {
        return bad("the JWKS response size limit must be positive".to_owned());
    }
    if !settings.allowed_algorithms.iter().any(|alg| !is_hmac(*alg)) {
        return bad(
            "jwt_allowed_algorithms holds no public-key algorithm usable with a JWK set".to_owned(),
        );
    }
    Ok(url)
}

/// The URL without user name and password, for logs and `Debug`.
pub(super) fn redact_url(raw: &str) -> String {
    match reqwest::Url::parse(raw.trim()) {
        Ok(mut url) => {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            url.to_string()
        }
        Err(_) => "(invalid URL)".to_owned(),
    }
}

pub(super) fn is_hmac(alg: Algorithm) -> bool {
    alg.family() == jsonwebtoken::AlgorithmFamily::Hmac
}

/// Why a fetch failed. Never holds key material or a URL with credentials.
#[derive(Debug)]
pub(super) enum FetchError {
    /// The transport error and its causes, flattened (reqwest's own message is terse).
    Http(String),
    Timeout(Duration),
    Redirect(u16),
    Status(u16),
    TooLarge(usize),
    Set(SetError),
}

impl FetchError {
    fn http(error: reqwest::Error) -> FetchError {
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        FetchError::Http(message)
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Http(e) => write!(f, "request failed: {e}"),
            FetchError::Timeout(t) => write!(f, "no complete response within {t:?}"),
            FetchError::Redirect(status) => {
                write!(f, "status {status}: redirects are not followed")
            }
            FetchError::Status(status) => write!(f, "unexpected status {status}"),
            FetchError::TooLarge(limit) => write!(f, "response larger than {limit} bytes"),
            FetchError::Set(e) => e.fmt(f),
        }
    }
}
