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

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderName, header};
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::api_key::ApiKeyRegistry;
use crate::config::{AuthConfig, ConfigError, JwtVerificationMethod};
use crate::context::SecurityContext;
use crate::error::{AuthError, InvalidReason};
use crate::jwt::{self, AlgorithmSet, ClaimRules, MAX_CREDENTIAL_BYTES, StaticKey};

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
    rules: ClaimRules,
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
    /// Builds the service from `[web.auth]`, running every start-up check of SPEC §4.
    ///
    /// With `enabled = false` nothing else is read and every request gets
    /// [`SecurityContext::disabled`]. With JWKS verification this starts the key store's
    /// background refresh, so it must run inside a Tokio runtime.
    pub fn from_config(cfg: &AuthConfig) -> Result<Self, ConfigError> {
        Self::build(cfg, None)
    }

    /// Like [`from_config`](Self::from_config), but bearer tokens are verified against `store`
    /// (for example a set read with [`JwksKeyStore::from_jwks_json`](crate::jwks::JwksKeyStore)),
    /// whatever `jwt_verification_method`, `jwt_public_key*` and `jwks_url` say. Every other key
    /// is read and checked as usual; `enabled` must be true.
    #[cfg(feature = "jwks")]
    pub fn from_config_with_key_store(
        cfg: &AuthConfig,
        store: crate::jwks::JwksKeyStore,
    ) -> Result<Self, ConfigError> {
        if !cfg.enabled {
            return Err(ConfigError::invalid(
                "web.auth.enabled",
                "a key store was given but authentication is disabled",
            ));
        }
        Self::build(cfg, Some(KeySource::Jwks(store)))
    }

    fn build(cfg: &AuthConfig, keys: Option<KeySource>) -> Result<Self, ConfigError> {
        if !cfg.enabled {
            tracing::warn!(
                "authentication is disabled (web.auth.enabled = false): every request gets full \
                 access"
            );
            return Ok(Self::disabled());
        }
        ensure_crypto_provider()?;

        let api_key_header = parse_api_key_header(&cfg.api_key_header)?;
        let allowed = parse_allowed_algorithms(&cfg.jwt_allowed_algorithms)?;
        if cfg.permissions_claim.trim().is_empty() {
            return Err(ConfigError::invalid(
                "web.auth.permissions_claim",
                "must name the claim holding the permissions",
            ));
        }
        let jwt = match (keys, cfg.jwt_verification_method) {
            (Some(keys), _) => Some(JwtVerifier {
                keys,
                allowed,
                rules: claim_rules(cfg),
            }),
            (None, JwtVerificationMethod::PublicKey) => {
                static_key(cfg, allowed)?.map(|key| JwtVerifier {
                    keys: KeySource::Static(Box::new(key)),
                    allowed,
                    rules: claim_rules(cfg),
                })
            }
            (None, JwtVerificationMethod::Jwks) => Some(JwtVerifier {
                keys: jwks_source(cfg, allowed)?,
                allowed,
                rules: claim_rules(cfg),
            }),
        };

        let api_keys = if cfg.api_keys_enabled {
            if cfg.api_keys.is_empty() {
                return Err(ConfigError::invalid(
                    "web.auth.api_keys",
                    "api_keys_enabled is true but no [[web.auth.api_keys]] entry is configured",
                ));
            }
            Some(ApiKeyRegistry::from_config(&cfg.api_keys)?)
        } else {
            if !cfg.api_keys.is_empty() {
                tracing::warn!(
                    count = cfg.api_keys.len(),
                    "[[web.auth.api_keys]] are configured but api_keys_enabled is false: they are \
                     ignored"
                );
            }
            None
        };

        if jwt.is_none() && api_keys.is_none() {
            return Err(ConfigError::NoVerifier);
        }
        if jwt.is_some() {
            if cfg.jwt_issuer.is_empty() {
                tracing::warn!("web.auth.jwt_issuer is empty: the iss claim is not checked");
            }
            if cfg.jwt_audience.is_empty() {
                tracing::warn!("web.auth.jwt_audience is empty: the aud claim is not checked");
            }
        }
        let service = SecurityService {
            inner: Arc::new(Inner {
                enabled: true,
                disabled_context: SecurityContext::disabled(),
                jwt,
                api_keys,
                api_key_header,
            }),
        };
        tracing::info!(service = ?service, "authentication enabled");
        Ok(service)
    }

    /// A service that lets every request through with [`SecurityContext::disabled`].
    pub fn disabled() -> Self {
        SecurityService {
            inner: Arc::new(Inner {
                enabled: false,
                disabled_context: SecurityContext::disabled(),
                jwt: None,
                api_keys: None,
                api_key_header: HeaderName::from_static("x-api-key"),
            }),
        }
    }

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

    /// Authenticates a request from its headers: a context, or the [`AuthError`] of SPEC §5.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<SecurityContext, AuthError> {
        match self.authenticate_now(headers, None) {
            Outcome::Done(result) => result,
            Outcome::NeedsKeyStore => self.authenticate_with_key_store(headers, None).await,
        }
    }

    /// Everything that can be decided without waiting: disabled, API keys, static-key JWTs and
    /// every malformed credential. Records metrics and logs for what it decides.
    #[inline]
    pub(crate) fn authenticate_now(&self, headers: &HeaderMap, route: Option<&str>) -> Outcome {
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
                    KeySource::Static(key) => (
                        "jwt",
                        jwt::parse_token(token, jwt.allowed, false)
                            .and_then(|t| key.verify_token(&t, &jwt.rules)),
                    ),
                    #[cfg(feature = "jwks")]
                    KeySource::Jwks(_) => return Outcome::NeedsKeyStore,
                },
            },
        };
        Outcome::Done(record(method, start, route, result))
    }

    /// The JWKS path: the key for the token's `kid` may have to be fetched.
    pub(crate) async fn authenticate_with_key_store(
        &self,
        headers: &HeaderMap,
        route: Option<&str>,
    ) -> Result<SecurityContext, AuthError> {
        let start = Instant::now();
        let result = self.verify_with_key_store(headers).await;
        record("jwt", start, route, result)
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
        let parsed = jwt::parse_token(token, jwt.allowed, true)?;
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
        if key.alg.is_some_and(|alg| alg != parsed.alg) {
            return Err(AuthError::invalid(InvalidReason::AlgorithmMismatch));
        }
        jwt::verify_token(&parsed, &key.decoding_key, &jwt.rules)
    }

    #[cfg(not(feature = "jwks"))]
    async fn verify_with_key_store(
        &self,
        _headers: &HeaderMap,
    ) -> Result<SecurityContext, AuthError> {
        Err(AuthError::invalid(InvalidReason::NoKeyStore))
    }

    /// Finds the one credential of the request (SPEC §5).
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

    fn check_api_key(&self, key: &str) -> Result<SecurityContext, AuthError> {
        match &self.inner.api_keys {
            Some(registry) => registry.authenticate(key),
            None => Err(AuthError::invalid(InvalidReason::ApiKeyNotAccepted)),
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
                .field("jwt_rules", &jwt.rules);
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
    result: Result<SecurityContext, AuthError>,
) -> Result<SecurityContext, AuthError> {
    let elapsed = start.elapsed();
    match &result {
        Ok(ctx) => {
            metrics::counter!("tasker_auth_requests_total", "method" => method, "result" => "success")
                .increment(1);
            tracing::debug!(subject = ctx.subject(), method, route, "authenticated");
        }
        Err(e) => {
            let reason = e.reason().as_str();
            metrics::counter!("tasker_auth_requests_total", "method" => method, "result" => "failure")
                .increment(1);
            metrics::counter!("tasker_auth_failures_total", "reason" => reason).increment(1);
            tracing::info!(method, reason, detail = %e, route, "authentication failed");
        }
    }
    if method != "none" {
        metrics::histogram!("tasker_auth_verification_seconds", "method" => method)
            .record(elapsed.as_secs_f64());
    }
    result
}

/// Makes sure jsonwebtoken has a crypto provider, so no decode can panic for want of one.
///
/// tasker-auth builds jsonwebtoken with `aws_lc_rs` only. If feature unification also enables
/// `rust_crypto` (another crate in the build asking for it), jsonwebtoken cannot choose and would
/// panic at the first decode; we install aws-lc-rs explicitly instead, and fail start-up with a
/// clear error if even that is impossible.
fn ensure_crypto_provider() -> Result<(), ConfigError> {
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race with another installer is fine: any installed provider will do.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
    match CryptoProvider::try_get_default() {
        Some(p) if std::ptr::eq(p, &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER) => Ok(()),
        Some(_) => {
            tracing::warn!("jsonwebtoken uses a crypto provider installed by the application");
            Ok(())
        }
        None => Err(ConfigError::CryptoProvider),
    }
}

fn parse_api_key_header(name: &str) -> Result<HeaderName, ConfigError> {
    let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        ConfigError::invalid("web.auth.api_key_header", "not a valid HTTP header name")
    })?;
    if header == header::AUTHORIZATION || header == header::COOKIE {
        return Err(ConfigError::invalid(
            "web.auth.api_key_header",
            "must not be Authorization or Cookie",
        ));
    }
    Ok(header)
}

fn parse_allowed_algorithms(names: &[String]) -> Result<AlgorithmSet, ConfigError> {
    const KEY: &str = "web.auth.jwt_allowed_algorithms";
    let mut set = AlgorithmSet::default();
    for name in names {
        if name.eq_ignore_ascii_case("none") {
            return Err(ConfigError::invalid(
                KEY,
                "`none` is never allowed: unsigned tokens would be accepted",
            ));
        }
        let alg = jwt::parse_algorithm(name).ok_or_else(|| {
            ConfigError::invalid(
                KEY,
                format!(
                    "unknown algorithm {name:?} (expected RS256, RS384, RS512, PS256, PS384, \
                     PS512, ES256, ES384 or EdDSA)"
                ),
            )
        })?;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(ConfigError::invalid(
                KEY,
                format!(
                    "{name} is never allowed next to a public key: anyone holding the public key \
                     could sign tokens"
                ),
            ));
        }
        set.insert(alg);
    }
    if set.is_empty() {
        return Err(ConfigError::invalid(KEY, "the list is empty"));
    }
    Ok(set)
}

fn claim_rules(cfg: &AuthConfig) -> ClaimRules {
    ClaimRules {
        issuer: (!cfg.jwt_issuer.is_empty()).then(|| Arc::from(cfg.jwt_issuer.as_str())),
        audience: (!cfg.jwt_audience.is_empty()).then(|| cfg.jwt_audience.clone().into()),
        leeway: cfg.leeway_seconds,
        permissions_claim: cfg.permissions_claim.trim().into(),
        strict: cfg.strict_validation,
    }
}

/// The static key, or `None` when neither `jwt_public_key_path` nor `jwt_public_key` is set.
fn static_key(cfg: &AuthConfig, allowed: AlgorithmSet) -> Result<Option<StaticKey>, ConfigError> {
    const PATH: &str = "web.auth.jwt_public_key_path";
    const INLINE: &str = "web.auth.jwt_public_key";
    let (key, pem) = match (
        cfg.jwt_public_key_path.trim().is_empty(),
        cfg.jwt_public_key.trim().is_empty(),
    ) {
        (true, true) => return Ok(None),
        (false, false) => {
            return Err(ConfigError::invalid(
                INLINE,
                "set only one of jwt_public_key_path and jwt_public_key",
            ));
        }
        (false, true) => {
            let path = PathBuf::from(cfg.jwt_public_key_path.trim());
            let bytes = std::fs::read(&path).map_err(|source| ConfigError::KeyFile {
                key: PATH,
                path,
                source,
            })?;
            (PATH, bytes)
        }
        (true, false) => (INLINE, cfg.jwt_public_key.as_bytes().to_vec()),
    };
    let key_name = key;
    let key = load_public_key(&pem).map_err(|problem| ConfigError::invalid(key_name, problem))?;
    for alg in allowed.iter() {
        if !key.fits(alg) {
            return Err(ConfigError::invalid(
                "web.auth.jwt_allowed_algorithms",
                format!("{alg:?} does not fit the configured {} key", key.kind()),
            ));
        }
    }
    let der = key
        .decoding
        .try_get_as_bytes()
        .map_err(|_| ConfigError::invalid(key_name, "unsupported key encoding"))?;
    let parsed = StaticKey::new(der, allowed).map_err(|problem| {
        ConfigError::invalid("web.auth.jwt_allowed_algorithms", problem.to_owned())
    })?;
    Ok(Some(parsed))
}

fn jwks_source(cfg: &AuthConfig, allowed: AlgorithmSet) -> Result<KeySource, ConfigError> {
    #[cfg(feature = "jwks")]
    {
        use std::time::Duration;
        if cfg.jwks_url.trim().is_empty() {
            return Err(ConfigError::invalid(
                "web.auth.jwks_url",
                "jwt_verification_method is \"jwks\" but jwks_url is empty",
            ));
        }
        for (key, value) in [
            (
                "web.auth.jwks_refresh_interval_seconds",
                cfg.jwks_refresh_interval_seconds,
            ),
            (
                "web.auth.jwks_min_refresh_interval_seconds",
                cfg.jwks_min_refresh_interval_seconds,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConfigError::invalid(
                "web.auth.jwt_verification_method",
                "JWKS verification needs a Tokio runtime: build the SecurityService inside one",
            ));
        }
        let settings = crate::jwks::JwksSettings {
            url: cfg.jwks_url.trim().to_owned(),
            refresh_interval: Duration::from_secs(cfg.jwks_refresh_interval_seconds),
            max_stale: Duration::from_secs(cfg.jwks_max_stale_seconds),
            min_refresh_interval: Duration::from_secs(cfg.jwks_min_refresh_interval_seconds),
            allow_http: cfg.jwks_url_allow_http,
            allowed_algorithms: allowed.iter().collect(),
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
        };
        let store = crate::jwks::JwksKeyStore::new(settings)
            .map_err(|source| ConfigError::Jwks { source })?;
        Ok(KeySource::Jwks(store))
    }
    #[cfg(not(feature = "jwks"))]
    {
        let _ = (cfg, allowed);
        Err(ConfigError::invalid(
            "web.auth.jwt_verification_method",
            "\"jwks\" needs tasker-auth built with the `jwks` feature",
        ))
    }
}

/// A parsed public key and what it is.
struct PublicKey {
    decoding: DecodingKey,
    kind: KeyKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl PublicKey {
    fn fits(&self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self.kind, alg),
            (KeyKind::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (KeyKind::P256, ES256)
                | (KeyKind::P384, ES384)
                | (KeyKind::Ed25519, EdDSA)
        )
    }

    fn kind(&self) -> &'static str {
        match self.kind {
            KeyKind::Rsa => "RSA",
            KeyKind::P256 => "EC P-256",
            KeyKind::P384 => "EC P-384",
            KeyKind::Ed25519 => "Ed25519",
        }
    }
}

/// Reads one PEM public key (RSA, EC P-256/P-384, Ed25519) and checks it with aws-lc-rs.
/// Error messages describe the problem, never the key material.
fn load_public_key(pem_bytes: &[u8]) -> Result<PublicKey, String> {
    use aws_lc_rs::signature as sig;

    if pem_bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the key is empty".to_owned());
    }
    let blocks = pem::parse_many(pem_bytes).map_err(|_| "not a PEM file".to_owned())?;
    let block = match blocks.as_slice() {
        [] => return Err("no PEM block found".to_owned()),
        [one] => one,
        _ => return Err("expected exactly one PEM block (the public key)".to_owned()),
    };
    if block.tag().contains("PRIVATE KEY") {
        return Err(
            "this is a private key: configure the public key (keep the private key secret)"
                .to_owned(),
        );
    }
    let encoded = pem::encode(block);
    let encoded = encoded.as_bytes();
    let (decoding, kind) = if let Ok(key) = DecodingKey::from_rsa_pem(encoded) {
        (key, KeyKind::Rsa)
    } else if let Ok(key) = DecodingKey::from_ec_pem(encoded) {
        let kind = match key.try_get_as_bytes().map(<[u8]>::len) {
            Ok(65) => KeyKind::P256,
            Ok(97) => KeyKind::P384,
            _ => return Err("unsupported EC curve (expected P-256 or P-384)".to_owned()),
        };
        (key, kind)
    } else if let Ok(key) = DecodingKey::from_ed_pem(encoded) {
        (key, KeyKind::Ed25519)
    } else {
        return Err(
            "not a supported public key (expected RSA, EC P-256/P-384 or Ed25519 in PEM)"
                .to_owned(),
        );
    };
    let bytes = decoding
        .try_get_as_bytes()
        .map_err(|_| "unsupported key encoding".to_owned())?;
    let check: &'static dyn sig::VerificationAlgorithm = match kind {
        KeyKind::Rsa => &sig::RSA_PKCS1_2048_8192_SHA256,
        KeyKind::P256 => &sig::ECDSA_P256_SHA256_FIXED,
        KeyKind::P384 => &sig::ECDSA_P384_SHA384_FIXED,
        KeyKind::Ed25519 => &sig::ED25519,
    };
    sig::ParsedPublicKey::new(check, bytes).map_err(|_| match kind {
        KeyKind::Rsa => "the RSA key is invalid or shorter than 2048 bits".to_owned(),
        _ => "the key is invalid".to_owned(),
    })?;
    Ok(PublicKey { decoding, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_provider_is_available() {
        assert!(ensure_crypto_provider().is_ok());
        assert!(CryptoProvider::try_get_default().is_some());
    }

    #[test]
    fn allowed_algorithms_refuse_none_and_hmac() {
        let parse = |names: &[&str]| {
            parse_allowed_algorithms(&names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert!(parse(&["RS256", "PS512", "EdDSA"]).is_ok());
        for bad in [&["none"][..], &["HS256"], &[], &["RS256", "rs256"]] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.key(), Some("web.auth.jwt_allowed_algorithms"));
        }
    }
}
