//! Fetching a JWK set over HTTP (directly, or through OpenID Connect discovery): settings checks,
//! the requests and their failures. Every URL shown goes through [`redact_url`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::parse::{SetError, looks_like_html, parse_set};
use super::{JwksError, JwksKey, JwksSettings};
use crate::config::redact_url;

pub(super) struct Remote {
    pub(super) settings: JwksSettings,
    /// The JWK set's URL or, with discovery, the discovery document's.
    pub(super) url: reqwest::Url,
    /// `url` as [`redact_url`] shows it, for logs and `Debug`.
    pub(super) display_url: String,
    pub(super) client: reqwest::Client,
    /// Held for the whole of a fetch: at most one in flight.
    pub(super) fetch_lock: Arc<tokio::sync::Mutex<()>>,
    pub(super) fetches: AtomicU64,
    /// With discovery: the `jwks_uri` of the last discovery document read.
    pub(super) discovered: Mutex<Option<reqwest::Url>>,
}

const JWKS_ACCEPT: &str = "application/jwk-set+json, application/json";

impl Remote {
    /// One fetch of the set: GET it and read its usable keys. With discovery, the discovery
    /// document is read first, on every fetch, and the set is fetched from its `jwks_uri`.
    pub(super) async fn fetch_set(
        &self,
        allowed: &[Algorithm],
    ) -> Result<HashMap<String, Arc<JwksKey>>, FetchError> {
        let Some(issuer) = &self.settings.discovery_issuer else {
            let body = self.get(&self.url, JWKS_ACCEPT).await?;
            return parse_set(&body, allowed).map_err(FetchError::Set);
        };
        let discovery = |error: FetchError| FetchError::Stage {
            what: "OpenID discovery document",
            url: self.display_url.clone(),
            error: Box::new(error),
        };
        let body = self
            .get(&self.url, "application/json")
            .await
            .map_err(discovery)?;
        let jwks_uri =
            read_discovery_document(&body, issuer, self.settings.allow_http).map_err(discovery)?;
        self.note_jwks_uri(&jwks_uri);
        let in_set = |error: FetchError| FetchError::Stage {
            what: "JWK set at the discovered jwks_uri",
            url: redact_url(jwks_uri.as_str()),
            error: Box::new(error),
        };
        let body = self.get(&jwks_uri, JWKS_ACCEPT).await.map_err(in_set)?;
        parse_set(&body, allowed)
            .map_err(FetchError::Set)
            .map_err(in_set)
    }

    /// Remembers (and logs, when it is new or changed) the `jwks_uri` discovery gave.
    fn note_jwks_uri(&self, jwks_uri: &reqwest::Url) {
        let mut discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if discovered.as_ref() == Some(jwks_uri) {
            return;
        }
        let previous = discovered.replace(jwks_uri.clone());
        drop(discovered);
        let jwks_uri = redact_url(jwks_uri.as_str());
        match previous {
            None => {
                tracing::info!(issuer_document = %self.display_url, %jwks_uri, "OpenID discovery: JWK set location found")
            }
            Some(previous) => tracing::warn!(
                issuer_document = %self.display_url,
                previous = %redact_url(previous.as_str()),
                %jwks_uri,
                "OpenID discovery: the jwks_uri changed; following it"
            ),
        }
    }

    /// GET `url` within `fetch_timeout`, refusing redirects and any status but 200, and reading
    /// at most `max_response_bytes` of body.
    async fn get(&self, url: &reqwest::Url, accept: &str) -> Result<Vec<u8>, FetchError> {
        let timeout = self.settings.fetch_timeout;
        tokio::time::timeout(timeout, self.get_untimed(url, accept))
            .await
            .unwrap_or(Err(FetchError::Timeout(timeout)))
    }

    async fn get_untimed(&self, url: &reqwest::Url, accept: &str) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_response_bytes;
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
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

/// The discovery document's `jwks_uri`, once the document is checked: a JSON object whose
/// `issuer` is exactly `issuer`, and whose `jwks_uri` is an `https` URL (or `http` with
/// `allow_http`) with a host.
pub(super) fn read_discovery_document(
    body: &[u8],
    issuer: &str,
    allow_http: bool,
) -> Result<reqwest::Url, FetchError> {
    let bad = |problem: String| Err(FetchError::Discovery(problem));
    if looks_like_html(body) {
        return bad("found an HTML page, not an OpenID discovery document".to_owned());
    }
    let document: serde_json::Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        // serde_json's message names a line and column, never the content.
        Err(e) => return bad(format!("not JSON ({e})")),
    };
    if !document.is_object() {
        return bad("not an OpenID discovery document (not a JSON object)".to_owned());
    }
    match document.get("issuer").and_then(serde_json::Value::as_str) {
        None => return bad("the document has no issuer".to_owned()),
        Some(found) if found != issuer => {
            return bad(format!(
                "the document's issuer {found:?} is not jwt_issuer {issuer:?}: they must be \
                 equal exactly"
            ));
        }
        Some(_) => {}
    }
    let Some(raw) = document.get("jwks_uri").and_then(serde_json::Value::as_str) else {
        return bad("the document has no jwks_uri".to_owned());
    };
    let shown = redact_url(raw);
    let Ok(url) = reqwest::Url::parse(raw.trim()) else {
        return bad(format!("its jwks_uri {shown} is not a valid URL"));
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return bad(format!(
                "its jwks_uri {shown} uses http://; the identity provider must serve it over \
                 https, or set jwks_url_allow_http = true (for a loopback identity provider in \
                 tests and development)"
            ));
        }
        other => {
            return bad(format!(
                "its jwks_uri {shown} has unsupported scheme `{other}`"
            ));
        }
    }
    if url.host().is_none() {
        return bad(format!("its jwks_uri {shown} has no host"));
    }
    Ok(url)
}

/// The discovery document's URL for `issuer`: `<issuer>/.well-known/openid-configuration`, with
/// one slash between them whether or not the issuer ends in `/`.
pub(super) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.strip_suffix('/').unwrap_or(issuer)
    )
}

pub(super) fn validate_settings(settings: &JwksSettings) -> Result<reqwest::Url, JwksError> {
    let bad = |msg: String| Err(JwksError::Settings(msg));
    // What the operator set: the URL itself, or the issuer it was derived from.
    let name = if settings.discovery_issuer.is_some() {
        "jwt_issuer"
    } else {
        "jwks_url"
    };
    if settings.url.trim().is_empty() {
        return bad(format!("{name} is empty"));
    }
    let Ok(url) = reqwest::Url::parse(settings.url.trim()) else {
        return bad(format!("{name} is not a valid URL"));
    };
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => {
            return bad(format!(
                "{name} uses http://; use https:// or set jwks_url_allow_http = true \
                 (for a loopback identity provider in tests and development)"
            ));
        }
        other => {
            return bad(format!(
                "{name} has unsupported scheme `{other}` (use https)"
            ));
        }
    }
    if url.host().is_none() {
        return bad(format!("{name} has no host"));
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

pub(super) fn is_hmac(alg: Algorithm) -> bool {
    alg.family() == jsonwebtoken::AlgorithmFamily::Hmac
}

/// Why a fetch failed. Never holds key material or a URL with credentials.
#[derive(Debug)]
pub(super) enum FetchError {
    /// With discovery: which of the two requests failed, at which (redacted) URL.
    Stage {
        what: &'static str,
        url: String,
        error: Box<FetchError>,
    },
    /// The discovery document is unusable.
    Discovery(String),
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
            FetchError::Stage { what, url, error } => write!(f, "{what} {url}: {error}"),
            FetchError::Discovery(problem) => f.write_str(problem),
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
