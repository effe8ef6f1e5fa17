//! Verification keys fetched from a JWKS endpoint.
//!
//! INTERFACE STUB: the signatures below are the contract between the JWKS key store and
//! `SecurityService`. The implementation lands on the `jwks` branch.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};

/// Settings of a [`JwksKeyStore`], taken from the `jwks_*` keys of `[web.auth]`.
#[derive(Clone, Debug)]
pub struct JwksSettings {
    /// `jwks_url`.
    pub url: String,
    /// `jwks_refresh_interval_seconds` (default 3600).
    pub refresh_interval: Duration,
    /// `jwks_max_stale_seconds` (default 300): how long cached keys are served after refreshes
    /// start failing.
    pub max_stale: Duration,
    /// `jwks_min_refresh_interval_seconds` (default 10): an unknown `kid` refetches at most this
    /// often.
    pub min_refresh_interval: Duration,
    /// `jwks_url_allow_http` (default false).
    pub allow_http: bool,
    /// `jwt_allowed_algorithms`: keys whose type fits none of them are ignored.
    pub allowed_algorithms: Vec<Algorithm>,
    /// A fetch slower than this fails (5 s).
    pub fetch_timeout: Duration,
    /// A response larger than this fails (1 MiB).
    pub max_response_bytes: usize,
}

/// A key of the set, ready to verify signatures.
#[derive(Clone)]
pub struct JwksKey {
    /// The key's `kid`.
    pub kid: String,
    /// The key's `alg`, when the JWK names one: a token must then use exactly it.
    pub alg: Option<Algorithm>,
    /// The verification key (its `family()` says which algorithms fit it).
    pub decoding_key: DecodingKey,
}

impl std::fmt::Debug for JwksKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had for a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// No key with this `kid`, even after a refetch (or the refetch cooldown applies).
    #[error("no key with this kid in the key set")]
    UnknownKid,
    /// The cached keys are older than `max_stale` and the endpoint cannot be reached.
    #[error("the key set is stale and the endpoint is unavailable")]
    Unavailable,
    /// The settings are unusable (bad URL, http without `jwks_url_allow_http`, ...).
    #[error("invalid JWKS settings: {0}")]
    Settings(String),
}

/// Caches the keys of a JWKS endpoint and keeps them fresh.
#[derive(Clone, Debug)]
pub struct JwksKeyStore {
    _settings: Arc<JwksSettings>,
}

impl JwksKeyStore {
    /// Validates the settings and starts the background refresh (needs a Tokio runtime).
    pub fn new(settings: JwksSettings) -> Result<Self, JwksError> {
        Ok(JwksKeyStore {
            _settings: Arc::new(settings),
        })
    }

    /// The key for `kid`, refetching the set (at most one fetch in flight, at most one per
    /// `min_refresh_interval`) when the kid is unknown.
    pub async fn key(&self, kid: &str) -> Result<Arc<JwksKey>, JwksError> {
        let _ = kid;
        Err(JwksError::UnknownKid)
    }
}
