//! Building a [`SecurityService`] from `[web.auth]`: every start-up check, each problem a
//! [`ConfigError`] naming its key.

use std::path::PathBuf;
use std::sync::Arc;

use http::{HeaderName, header};
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::public_key::load_public_key;
use super::{Inner, JwtVerifier, KeySource, SecurityService};
use crate::api_key::ApiKeyRegistry;
use crate::clock::Clock;
use crate::config::{AuthConfig, ConfigError, JwtVerificationMethod};
use crate::context::SecurityContext;
use crate::jwt::{self, AlgorithmSet, ClaimRules, StaticKey, TypeSet};
use crate::token_cache::{MAX_ENTRIES_LIMIT, TokenCache};

impl SecurityService {
    /// Builds the service from `[web.auth]`, running every start-up check.
    ///
    /// With `enabled = false` nothing else is read and every request gets
    /// [`SecurityContext::disabled`]. With JWKS verification this starts the key store's
    /// background refresh, so it must run inside a Tokio runtime.
    pub fn from_config(cfg: &AuthConfig) -> Result<Self, ConfigError> {
        Self::build(cfg, None, Clock::System)
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
        Self::with_key_store_and_clock(cfg, store, Clock::System)
    }

    /// [`from_config`](Self::from_config) with token times read from `clock`.
    pub(crate) fn with_clock(cfg: &AuthConfig, clock: Clock) -> Result<Self, ConfigError> {
        Self::build(cfg, None, clock)
    }

    /// [`from_config_with_key_store`](Self::from_config_with_key_store) with token times read
    /// from `clock`.
    #[cfg(feature = "jwks")]
    pub(crate) fn with_key_store_and_clock(
        cfg: &AuthConfig,
        store: crate::jwks::JwksKeyStore,
        clock: Clock,
    ) -> Result<Self, ConfigError> {
        if !cfg.enabled {
            return Err(ConfigError::invalid(
                "web.auth.enabled",
                "a key store was given but authentication is disabled",
            ));
        }
        Self::build(cfg, Some(KeySource::Jwks(store)), clock)
    }

    fn build(cfg: &AuthConfig, keys: Option<KeySource>, clock: Clock) -> Result<Self, ConfigError> {
        if !cfg.enabled {
            tracing::warn!(
                "authentication is disabled (web.auth.enabled = false): every request gets full \
                 access"
            );
            return Ok(Self::disabled());
        }
        if !crate::crypto::ensure_provider() {
            return Err(ConfigError::CryptoProvider);
        }

        let api_key_header = parse_api_key_header(&cfg.api_key_header)?;
        let allowed = parse_allowed_algorithms(&cfg.jwt_allowed_algorithms)?;
        let types = TypeSet::parse(&cfg.jwt_allowed_types)
            .map_err(|problem| ConfigError::invalid("web.auth.jwt_allowed_types", problem))?;
        if cfg.permissions_claim.trim().is_empty() {
            return Err(ConfigError::invalid(
                "web.auth.permissions_claim",
                "must name the claim holding the permissions",
            ));
        }
        if cfg.jwt_cache_max_entries > MAX_ENTRIES_LIMIT {
            return Err(ConfigError::invalid(
                "web.auth.jwt_cache_max_entries",
                format!("at most {MAX_ENTRIES_LIMIT} (0 disables the cache)"),
            ));
        }
        let keys = match (keys, cfg.jwt_verification_method) {
            (Some(keys), _) => Some(keys),
            (None, JwtVerificationMethod::PublicKey) => {
                static_key(cfg, allowed)?.map(|key| KeySource::Static(Box::new(key)))
            }
            (None, JwtVerificationMethod::Jwks | JwtVerificationMethod::Oidc) => {
                Some(jwks_source(cfg, allowed)?)
            }
        };
        let jwt = keys.map(|keys| JwtVerifier {
            keys,
            allowed,
            types,
            rules: claim_rules(cfg, clock),
            cache: TokenCache::new(cfg.jwt_cache_max_entries),
        });

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
    for (i, name) in names.iter().enumerate() {
        if name.eq_ignore_ascii_case("none") {
            return Err(ConfigError::invalid(
                KEY,
                "`none` is never allowed: unsigned tokens would be accepted",
            ));
        }
        let alg: Algorithm = name.parse().map_err(|_| {
            ConfigError::invalid(
                KEY,
                format!(
                    "entry {} is not a known algorithm (expected {})",
                    i + 1,
                    jwt::public_key_algorithm_list()
                ),
            )
        })?;
        if alg.family() == AlgorithmFamily::Hmac {
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

fn claim_rules(cfg: &AuthConfig, clock: Clock) -> ClaimRules {
    ClaimRules {
        issuer: (!cfg.jwt_issuer.is_empty()).then(|| Arc::from(cfg.jwt_issuer.as_str())),
        audience: (!cfg.jwt_audience.is_empty()).then(|| cfg.jwt_audience.clone().into()),
        leeway: cfg.leeway_seconds,
        ..ClaimRules::new(cfg.permissions_claim.trim(), cfg.strict_validation, clock)
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
    let parsed = StaticKey::new(&key.der, allowed).map_err(|problem| {
        ConfigError::invalid("web.auth.jwt_allowed_algorithms", problem.to_owned())
    })?;
    Ok(Some(parsed))
}

fn jwks_source(cfg: &AuthConfig, allowed: AlgorithmSet) -> Result<KeySource, ConfigError> {
    #[cfg(feature = "jwks")]
    {
        use std::time::Duration;
        let oidc = cfg.jwt_verification_method == JwtVerificationMethod::Oidc;
        if oidc {
            check_oidc_settings(cfg)?;
        } else if cfg.jwks_url.trim().is_empty() {
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
        let (url, discovery_issuer) = if oidc {
            let discovery = crate::jwks::JwksSettings::discovery(cfg.jwt_issuer.as_str());
            (discovery.url, discovery.discovery_issuer)
        } else {
            (cfg.jwks_url.trim().to_owned(), None)
        };
        let settings = crate::jwks::JwksSettings {
            url,
            discovery_issuer,
            refresh_interval: Duration::from_secs(cfg.jwks_refresh_interval_seconds),
            max_stale: Duration::from_secs(cfg.jwks_max_stale_seconds),
            min_refresh_interval: Duration::from_secs(cfg.jwks_min_refresh_interval_seconds),
            allow_http: cfg.jwks_url_allow_http,
            allowed_algorithms: allowed.iter().collect(),
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
        };
        let store = crate::jwks::JwksKeyStore::new(settings).map_err(|source| {
            if oidc {
                ConfigError::invalid("web.auth.jwt_issuer", source.to_string())
            } else {
                ConfigError::Jwks { source }
            }
        })?;
        Ok(KeySource::Jwks(store))
    }
    #[cfg(not(feature = "jwks"))]
    {
        let _ = (cfg, allowed);
        Err(ConfigError::invalid(
            "web.auth.jwt_verification_method",
            "\"jwks\" and \"oidc\" need tasker-auth built with the `jwks` feature",
        ))
    }
}

/// OpenID Connect discovery: `jwks_url` empty, and `jwt_issuer` a URL the discovery document can
/// be fetched from (`https`, or `http` with `jwks_url_allow_http`; no query nor fragment, as
/// OpenID Connect Discovery requires of an issuer).
#[cfg(feature = "jwks")]
fn check_oidc_settings(cfg: &AuthConfig) -> Result<(), ConfigError> {
    const ISSUER: &str = "web.auth.jwt_issuer";
    if !cfg.jwks_url.trim().is_empty() {
        return Err(ConfigError::invalid(
            "web.auth.jwks_url",
            "must be empty with jwt_verification_method = \"oidc\": the JWK set's URL is the \
             jwks_uri of the issuer's discovery document",
        ));
    }
    let issuer = cfg.jwt_issuer.as_str();
    if issuer.is_empty() {
        return Err(ConfigError::invalid(
            ISSUER,
            "jwt_verification_method = \"oidc\" discovers the keys from jwt_issuer, which is empty",
        ));
    }
    if issuer.trim() != issuer || issuer.contains(['?', '#']) {
        return Err(ConfigError::invalid(
            ISSUER,
            "with jwt_verification_method = \"oidc\" it must be the issuer URL exactly as the \
             identity provider's tokens carry it, without spaces, query or fragment",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
