//! [`SecurityService`]: turns a request's credentials into a [`SecurityContext`].
//!
//! Built once at start-up from `[web.auth]` (where every configuration problem becomes a
//! [`ConfigError`] naming its key), then shared by every request: keys are parsed, algorithms
//! resolved and API keys hashed ahead of time, so a request costs one signature check (or one
//! SHA-256) plus a little parsing.
//!
//! # Example
//!
//! ```
//! use http::HeaderMap;
//! use tasker_auth::{ApiKeyConfig, AuthConfig, SecurityService};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = AuthConfig {
//!     enabled: true,
//!     api_keys_enabled: true,
//!     api_keys: vec![ApiKeyConfig {
//!         key: Some("ci-reader-0123456789abcdef".to_owned()),
//!         permissions: vec!["tasks:read".to_owned()],
//!         description: "ci-reader".to_owned(),
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let service = SecurityService::from_config(&config).unwrap();
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-api-key", "ci-reader-0123456789abcdef".parse().unwrap());
//! let ctx = service.authenticate(&headers).await.unwrap();
//! assert_eq!(ctx.subject(), "ci-reader");
//!
//! let err = service.authenticate(&HeaderMap::new()).await.unwrap_err();
//! assert_eq!(err.reason().as_str(), "missing");
//! # }
//! ```

mod build;
mod metric_keys;
mod public_key;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderName, header};

use crate::api_key::ApiKeyRegistry;
use crate::context::SecurityContext;
use crate::error::{AuthError, InvalidReason};
use crate::jwt::{
    self, AlgorithmSet, ClaimRules, MAX_CREDENTIAL_BYTES, StaticKey, TypeSet, Verified,
};
use crate::protocol::Protocol;
use crate::token_cache::{TokenCache, TokenCacheStats, VerifiedBy};

/// Authenticates requests: JWT bearer tokens (static key or JWKS) and API keys.
///
/// Cheap to clone (one `Arc`). Its `Debug` output names the verifiers, never a key.
#[derive(Clone)]
pub struct SecurityService {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    disabled_context: SecurityContext,
    jwt: Option<JwtVerifier>,
    api_keys: Option<ApiKeyRegistry>,
    api_key_header: HeaderName,
}

struct JwtVerifier {
    keys: KeySource,
    allowed: AlgorithmSet,
    /// `jwt_allowed_types`, checked before the signature (a cached token was checked when it
    /// entered the cache, by this same service).
    types: TypeSet,
    rules: ClaimRules,
    /// Tokens that verified (`None`: `jwt_cache_max_entries = 0`).
    cache: Option<TokenCache>,
}

enum KeySource {
    Static(Box<StaticKey>),
    #[cfg(feature = "jwks")]
    Jwks(crate::jwks::JwksKeyStore),
}

/// What [`SecurityService::authenticate_now`] could decide without waiting.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done(Result<SecurityContext, AuthError>),
    /// A bearer token whose key must come from the JWKS store: use the async path.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    NeedsKeyStore,
}

/// The credential a request carries.
enum Credential<'h> {
    Bearer(&'h str),
    ApiKey(&'h str),
}

impl SecurityService {
    /// Whether authentication is enabled.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The header API keys are read from (lowercase), e.g. for the OpenAPI security scheme.
    pub fn api_key_header(&self) -> &HeaderName {
        &self.inner.api_key_header
    }

    /// The authentication middleware for this service: apply it with `route_layer` on each
    /// protected `MethodRouter` (see [`AuthLayer`](crate::AuthLayer)).
    pub fn layer(&self) -> crate::layer::AuthLayer {
        crate::layer::AuthLayer::new(self.clone())
    }

    /// Authenticates a request from its headers: a context, or the [`AuthError`] to answer with.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<SecurityContext, AuthError> {
        match self.authenticate_now(headers, None, Protocol::Http) {
            Outcome::Done(result) => result,
            Outcome::NeedsKeyStore => {
                self.authenticate_with_key_store(headers, None, Protocol::Http)
                    .await
            }
        }
    }

    /// Everything that can be decided without waiting: disabled, API keys, static-key JWTs and
    /// every malformed credential. Records metrics and logs for what it decides.
    #[inline]
    pub(crate) fn authenticate_now(
        &self,
        headers: &HeaderMap,
        route: Option<&str>,
        protocol: Protocol,
    ) -> Outcome {
        let inner = &*self.inner;
        if !inner.enabled {
            return Outcome::Done(Ok(inner.disabled_context.clone()));
        }
        let start = Instant::now();
        let (method, result) = match self.credential(headers) {
            Err(e) => ("none", Err(e)),
            Ok(Credential::ApiKey(key)) => ("api_key", self.check_api_key(key)),
            Ok(Credential::Bearer(token)) => match &inner.jwt {
                None => (
                    "jwt",
                    Err(AuthError::invalid(InvalidReason::BearerNotAccepted)),
                ),
                Some(jwt) => match &jwt.keys {
                    KeySource::Static(key) => ("jwt", jwt.verify_static(key, token)),
                    #[cfg(feature = "jwks")]
                    KeySource::Jwks(store) => match jwt.cached_jwks_decision(store, token) {
                        Some(result) => ("jwt", result),
                        None => return Outcome::NeedsKeyStore,
                    },
                },
            },
        };
        Outcome::Done(record(method, start, route, protocol, result))
    }

    /// The JWKS path: the key for the token's `kid` may have to be fetched.
    pub(crate) async fn authenticate_with_key_store(
        &self,
        headers: &HeaderMap,
        route: Option<&str>,
        protocol: Protocol,
    ) -> Result<SecurityContext, AuthError> {
        let start = Instant::now();
        let result = self.verify_with_key_store(headers).await;
        record("jwt", start, route, protocol, result)
    }

    #[cfg(feature = "jwks")]
    async fn verify_with_key_store(
        &self,
        headers: &HeaderMap,
    ) -> Result<SecurityContext, AuthError> {
        let Ok(Credential::Bearer(token)) = self.credential(headers) else {
            return Err(AuthError::invalid(InvalidReason::NoKeyStore));
        };
        let Some(jwt) = &self.inner.jwt else {
            return Err(AuthError::invalid(InvalidReason::BearerNotAccepted));
        };
        let KeySource::Jwks(store) = &jwt.keys else {
            return Err(AuthError::invalid(InvalidReason::NoKeyStore));
        };
        if let Some(cache) = &jwt.cache {
            cache.record_miss();
        }
        let parsed = jwt::parse_token(token, jwt.allowed, &jwt.types, true)?;
        let Some(kid) = parsed.kid.as_deref() else {
            return Err(AuthError::invalid(InvalidReason::MissingKid));
        };
        let key = store.key(kid).await.map_err(|e| match e {
            crate::jwks::JwksError::UnknownKid => AuthError::invalid(InvalidReason::UnknownKid),
            other => {
                tracing::warn!(error = %other, "JWKS key store cannot provide keys");
                AuthError::invalid(InvalidReason::KeySetUnavailable)
            }
        })?;
        if key.alg().is_some_and(|alg| alg != parsed.alg) {
            return Err(AuthError::invalid(InvalidReason::AlgorithmMismatch));
        }
        let verified = jwt::verify_token(&parsed, key.decoding_key(), &jwt.rules)?;
        if let Some(cache) = &jwt.cache {
            let now = jwt.rules.clock.now();
            cache.insert(token, &verified, VerifiedBy::Jwk(key), now);
        }
        Ok(verified.context)
    }

    #[cfg(not(feature = "jwks"))]
    async fn verify_with_key_store(
        &self,
        _headers: &HeaderMap,
    ) -> Result<SecurityContext, AuthError> {
        Err(AuthError::invalid(InvalidReason::NoKeyStore))
    }

    /// Finds the one credential of the request.
    #[inline]
    fn credential<'h>(&self, headers: &'h HeaderMap) -> Result<Credential<'h>, AuthError> {
        let inner = &*self.inner;
        let mut auth = headers.get_all(header::AUTHORIZATION).iter();
        let authorization = auth.next();
        if auth.next().is_some() {
            return Err(AuthError::malformed("two Authorization headers"));
        }
        let api_key = if inner.api_keys.is_some() {
            let mut keys = headers.get_all(&inner.api_key_header).iter();
            let first = keys.next();
            if keys.next().is_some() {
                return Err(AuthError::malformed("two API-key headers"));
            }
            first
        } else {
            None
        };

        let bearer = match authorization {
            None => None,
            Some(value) => {
                let bytes = value.as_bytes();
                if bytes.len() > MAX_CREDENTIAL_BYTES + 7 {
                    return Err(AuthError::malformed("credential longer than 8 KiB"));
                }
                let text = value
                    .to_str()
                    .map_err(|_| AuthError::malformed("Authorization header is not ASCII"))?;
                let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
                if scheme.eq_ignore_ascii_case("bearer") {
                    let token = rest.trim_matches(' ');
                    if token.is_empty() {
                        return Err(AuthError::malformed("empty bearer token"));
                    }
                    Some(token)
                } else {
                    // Another scheme (Basic, Digest, ...) is no credential of ours.
                    None
                }
            }
        };
        let api_key = match api_key {
            None => None,
            Some(value) => {
                if value.len() > MAX_CREDENTIAL_BYTES {
                    return Err(AuthError::malformed("credential longer than 8 KiB"));
                }
                let key = value
                    .to_str()
                    .map_err(|_| AuthError::malformed("API-key header is not ASCII"))?;
                if key.is_empty() {
                    return Err(AuthError::malformed("empty API key"));
                }
                Some(key)
            }
        };
        match (bearer, api_key) {
            (Some(_), Some(_)) => Err(AuthError::malformed("both a bearer token and an API key")),
            (Some(token), None) => Ok(Credential::Bearer(token)),
            (None, Some(key)) => Ok(Credential::ApiKey(key)),
            (None, None) => Err(AuthError::Missing),
        }
    }

    /// The verified-token cache's counts (`None` without JWT verification or with the cache
    /// off). For tests and diagnostics: not public API.
    #[doc(hidden)]
    pub fn token_cache_stats(&self) -> Option<TokenCacheStats> {
        let jwt = self.inner.jwt.as_ref()?;
        jwt.cache.as_ref().map(TokenCache::stats)
    }

    fn check_api_key(&self, key: &str) -> Result<SecurityContext, AuthError> {
        match &self.inner.api_keys {
            Some(registry) => registry.authenticate(key),
            None => Err(AuthError::invalid(InvalidReason::ApiKeyNotAccepted)),
        }
    }
}

impl JwtVerifier {
    /// A bearer token against the static key, through the cache when it is on.
    #[inline]
    fn verify_static(&self, key: &StaticKey, token: &str) -> Result<SecurityContext, AuthError> {
        let verify = || -> Result<Verified, AuthError> {
            jwt::parse_token(token, self.allowed, &self.types, false)
                .and_then(|t| key.verify_token(&t, &self.rules))
        };
        let Some(cache) = &self.cache else {
            return verify().map(|v| v.context);
        };
        if let Some(hit) = cache.get(token) {
            cache.record_hit();
            return hit.decide(self.rules.leeway, self.rules.clock.now());
        }
        cache.record_miss();
        let verified = verify()?;
        cache.insert(
            token,
            &verified,
            VerifiedBy::StaticKey,
            self.rules.clock.now(),
        );
        Ok(verified.context)
    }

    /// The decision for a cached JWK-set token whose key the store still holds, without waiting;
    /// `None` when the token must go through the key store (and is counted as a miss there).
    #[cfg(feature = "jwks")]
    #[inline]
    fn cached_jwks_decision(
        &self,
        store: &crate::jwks::JwksKeyStore,
        token: &str,
    ) -> Option<Result<SecurityContext, AuthError>> {
        let cache = self.cache.as_ref()?;
        let hit = cache.get(token)?;
        let VerifiedBy::Jwk(key) = &hit.verified_by else {
            return None;
        };
        match store.current_key(key.kid()) {
            Some(current) if Arc::ptr_eq(&current, key) => {
                cache.record_hit();
                Some(hit.decide(self.rules.leeway, self.rules.clock.now()))
            }
            // Rotated, removed or stale: the full path decides, as it would without the cache.
            _ => {
                cache.remove(token);
                None
            }
        }
    }
}

impl fmt::Debug for SecurityService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut d = f.debug_struct("SecurityService");
        d.field("enabled", &inner.enabled);
        if let Some(jwt) = &inner.jwt {
            let keys = match &jwt.keys {
                KeySource::Static(_) => "static public key",
                #[cfg(feature = "jwks")]
                KeySource::Jwks(_) => "jwks",
            };
            d.field("jwt_keys", &keys)
                .field("jwt_allowed_algorithms", &jwt.allowed)
                .field("jwt_allowed_types", &jwt.types)
                .field("jwt_rules", &jwt.rules)
                .field("jwt_cache", &jwt.cache);
        }
        if let Some(keys) = &inner.api_keys {
            d.field("api_keys", keys)
                .field("api_key_header", &inner.api_key_header);
        }
        d.finish()
    }
}

/// Counts, times and logs one decision.
#[inline]
fn record(
    method: &'static str,
    start: Instant,
    route: Option<&str>,
    protocol: Protocol,
    result: Result<SecurityContext, AuthError>,
) -> Result<SecurityContext, AuthError> {
    let elapsed = start.elapsed();
    match &result {
        Ok(ctx) => {
            metric_keys::requests(method, true, protocol).increment(1);
            tracing::debug!(subject = ctx.subject(), method, route, "authenticated");
        }
        Err(e) => {
            let reason = e.reason().as_str();
            metric_keys::requests(method, false, protocol).increment(1);
            metrics::counter!("tasker_auth_failures_total", "reason" => reason, "protocol" => protocol.as_str())
                .increment(1);
            tracing::info!(method, reason, detail = %e, route, "authentication failed");
        }
    }
    if method != "none" {
        metric_keys::verification_seconds(method, protocol).record(elapsed.as_secs_f64());
    }
    result
}
