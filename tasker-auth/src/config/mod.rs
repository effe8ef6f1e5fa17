//! Server configuration: one TOML file per server, `${VAR}` substitution, environment
//! overrides, and the [`ConfigError`] every start-up problem becomes.
//!
//! Loading checks the *shape* of the file (unknown keys, types, substitutions, environment
//! overrides); [`SecurityService::from_config`](crate::SecurityService::from_config) checks what
//! the values mean (keys readable, PEM valid, algorithms allowed, API keys sound). Every error
//! names the TOML key at fault, e.g. `web.auth.jwt_public_key_path`.
//!
//! # Example
//!
//! ```
//! use tasker_auth::{JwtVerificationMethod, TaskerConfig};
//!
//! let toml = r#"
//!     [web]
//!     bind_address = "${BIND:-127.0.0.1:9090}"
//!
//!     [web.auth]
//!     enabled = true
//!     jwt_public_key_path = "/etc/tasker/jwt-public-key.pem"
//! "#;
//! let env = |name: &str| (name == "TASKER_JWT_ISSUER").then(|| "my-idp".to_owned());
//! let config = TaskerConfig::from_toml_str(toml, &env).unwrap();
//! assert_eq!(config.web.bind_address, "127.0.0.1:9090");
//! assert_eq!(config.web.auth.jwt_issuer, "my-idp");
//! assert_eq!(config.web.auth.jwt_verification_method, JwtVerificationMethod::PublicKey);
//! assert_eq!(config.web.auth.leeway_seconds, 30);
//! ```

mod deserializer;
mod error;
mod load;
mod redact;
mod substitute;

use std::fmt;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub use error::ConfigError;
use redact::debug_redacted;
pub use redact::redact_url;

/// The text that replaces every secret in [`TaskerConfig::redacted`].
pub(crate) const REDACTED: &str = "[REDACTED]";

/// The configuration file of one server: `[web]`, `[web.auth]` and `[grpc]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskerConfig {
    /// `[web]`.
    pub web: WebConfig,
    /// `[grpc]`.
    pub grpc: GrpcConfig,
}

/// `[grpc]`: the gRPC listener of a server that serves gRPC next to REST. tasker-auth opens no
/// listener itself; a server hosting gRPC (such as the demo servers of `tasker-demo`) reads
/// these keys, and authenticates its gRPC calls with the same `[web.auth]` settings as REST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcConfig {
    /// `enabled`: serve gRPC next to REST. Default `true`.
    #[serde(deserialize_with = "lenient_bool")]
    pub enabled: bool,
    /// `bind_address` (env `TASKER_GRPC_BIND_ADDRESS`). Default `"127.0.0.1:9190"`, the
    /// orchestration server's port; the worker server listens on `127.0.0.1:9191` unless told
    /// otherwise.
    pub bind_address: String,
}

/// The default `[grpc] bind_address` (the orchestration server's gRPC port).
pub const DEFAULT_GRPC_BIND_ADDRESS: &str = "127.0.0.1:9190";

impl GrpcConfig {
    /// The documented defaults.
    pub fn new() -> Self {
        GrpcConfig {
            enabled: true,
            bind_address: DEFAULT_GRPC_BIND_ADDRESS.to_owned(),
        }
    }
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// `[web]`: where the server listens and what it exposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// `bind_address` (env `TASKER_WEB_BIND_ADDRESS`). Default `"127.0.0.1:8080"`.
    pub bind_address: String,
    /// `config_endpoint_enabled`: serve `GET /config` (redacted). Default `false`.
    #[serde(deserialize_with = "lenient_bool")]
    pub config_endpoint_enabled: bool,
    /// `[web.auth]`.
    pub auth: AuthConfig,
}

impl WebConfig {
    /// The documented defaults.
    pub fn new() -> Self {
        WebConfig {
            bind_address: "127.0.0.1:8080".to_owned(),
            config_endpoint_enabled: false,
            auth: AuthConfig::new(),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// How bearer tokens are verified: `jwt_verification_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JwtVerificationMethod {
    /// `"public_key"`: a static PEM key (`jwt_public_key_path` or `jwt_public_key`).
    #[default]
    PublicKey,
    /// `"jwks"`: keys fetched from `jwks_url` (feature `jwks`).
    Jwks,
    /// `"oidc"`: OpenID Connect discovery (feature `jwks`): keys fetched from the `jwks_uri` of
    /// `<jwt_issuer>/.well-known/openid-configuration`, whose `issuer` must equal `jwt_issuer`
    /// exactly; `jwks_url` must be empty.
    Oidc,
}

impl JwtVerificationMethod {
    /// The configuration value: `public_key`, `jwks` or `oidc`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwtVerificationMethod::PublicKey => "public_key",
            JwtVerificationMethod::Jwks => "jwks",
            JwtVerificationMethod::Oidc => "oidc",
        }
    }
}

/// The `iss` a Tasker server expects by default (`jwt_issuer`), and the one clients mint.
pub const DEFAULT_JWT_ISSUER: &str = "tasker-core";

/// The `aud` a Tasker server expects by default (`jwt_audience`), and the one clients mint.
pub const DEFAULT_JWT_AUDIENCE: &str = "tasker-api";

/// `[web.auth]`: every key. Secure defaults: authentication is off until enabled, and
/// once enabled everything fails closed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `enabled` (env `TASKER_AUTH_ENABLED`). Default `false`.
    #[serde(deserialize_with = "lenient_bool")]
    pub enabled: bool,
    /// `jwt_issuer`: the `iss` every token must carry (env `TASKER_JWT_ISSUER`); empty disables
    /// the check (logged at start-up). Default `"tasker-core"`.
    pub jwt_issuer: String,
    /// `jwt_audience`: a token's `aud` (string or array) must contain it (env
    /// `TASKER_JWT_AUDIENCE`); empty disables the check (logged). Default `"tasker-api"`.
    pub jwt_audience: String,
    /// `jwt_verification_method`: `"public_key"`, `"jwks"` or `"oidc"`. Default `"public_key"`.
    pub jwt_verification_method: JwtVerificationMethod,
    /// `jwt_public_key_path`: a PEM file holding the public key (RSA, EC P-256/P-384 or Ed25519)
    /// (env `TASKER_JWT_PUBLIC_KEY_PATH`). Default `""`.
    pub jwt_public_key_path: String,
    /// `jwt_public_key`: the public key PEM inline, instead of a path (env
    /// `TASKER_JWT_PUBLIC_KEY`). Redacted in `/config`. Default `""`.
    pub jwt_public_key: String,
    /// `jwt_allowed_algorithms`: the only `alg` values accepted; they must fit the key. `none`
    /// and `HS*` are refused at start-up. Default `["RS256"]`.
    pub jwt_allowed_algorithms: Vec<String>,
    /// `jwt_allowed_types`: the accepted `typ` headers, compared ASCII-case-insensitively and
    /// with an optional `application/` prefix on the token's side; `""` accepts a token without
    /// `typ`. `["at+jwt"]` accepts RFC 9068 access tokens only. Anything else is `invalid`.
    /// Default `["JWT", "at+jwt", ""]`.
    pub jwt_allowed_types: Vec<String>,
    /// `jwt_cache_max_entries`: how many verified tokens are kept so that their next use skips
    /// the signature check (at most 1,000,000); `0` disables the cache. Default `10000`.
    #[serde(deserialize_with = "lenient_u64")]
    pub jwt_cache_max_entries: u64,
    /// `jwks_url` (env `TASKER_JWKS_URL`); must be empty with `"oidc"`. Shown only redacted
    /// (user, password and query values). Default `""`.
    pub jwks_url: String,
    /// `jwks_refresh_interval_seconds`. Default `3600`.
    #[serde(deserialize_with = "lenient_u64")]
    pub jwks_refresh_interval_seconds: u64,
    /// `jwks_max_stale_seconds`: how long cached keys are served once refreshes fail.
    /// Default `300`.
    #[serde(deserialize_with = "lenient_u64")]
    pub jwks_max_stale_seconds: u64,
    /// `jwks_url_allow_http`: allow an `http://` JWKS URL (loopback IdPs in development and
    /// tests). Default `false`.
    #[serde(deserialize_with = "lenient_bool")]
    pub jwks_url_allow_http: bool,
    /// `jwks_min_refresh_interval_seconds`: an unknown `kid` refetches at most this often.
    /// Default `10`.
    #[serde(deserialize_with = "lenient_u64")]
    pub jwks_min_refresh_interval_seconds: u64,
    /// `leeway_seconds`: clock skew allowed on `exp`, `nbf` and `iat`. Default `30`.
    #[serde(deserialize_with = "lenient_u64")]
    pub leeway_seconds: u64,
    /// `permissions_claim`: the claim holding the permissions (an array of strings, or a
    /// space-separated string as in `scope`/`scp`). Default `"permissions"`.
    pub permissions_claim: String,
    /// `strict_validation`: refuse a credential carrying an unknown permission or bare `*`.
    /// Default `true`.
    #[serde(deserialize_with = "lenient_bool")]
    pub strict_validation: bool,
    /// `api_keys_enabled`. Default `false`.
    #[serde(deserialize_with = "lenient_bool")]
    pub api_keys_enabled: bool,
    /// `api_key_header`: the request header carrying an API key. Default `"X-API-Key"`.
    pub api_key_header: String,
    /// `[[web.auth.api_keys]]`. Default: none.
    pub api_keys: Vec<ApiKeyConfig>,
}

impl AuthConfig {
    /// The documented defaults (authentication disabled).
    pub fn new() -> Self {
        AuthConfig {
            enabled: false,
            jwt_issuer: DEFAULT_JWT_ISSUER.to_owned(),
            jwt_audience: DEFAULT_JWT_AUDIENCE.to_owned(),
            jwt_verification_method: JwtVerificationMethod::PublicKey,
            jwt_public_key_path: String::new(),
            jwt_public_key: String::new(),
            jwt_allowed_algorithms: vec!["RS256".to_owned()],
            jwt_allowed_types: vec!["JWT".to_owned(), "at+jwt".to_owned(), String::new()],
            jwt_cache_max_entries: 10_000,
            jwks_url: String::new(),
            jwks_refresh_interval_seconds: 3600,
            jwks_max_stale_seconds: 300,
            jwks_url_allow_http: false,
            jwks_min_refresh_interval_seconds: 10,
            leeway_seconds: 30,
            permissions_claim: "permissions".to_owned(),
            strict_validation: true,
            api_keys_enabled: false,
            api_key_header: "X-API-Key".to_owned(),
            api_keys: Vec::new(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(f, "AuthConfig", self, "web.auth")
    }
}

/// One `[[web.auth.api_keys]]` entry.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// `key`: the key itself (at least 16 characters). Exactly one of `key` and `key_sha256`.
    pub key: Option<String>,
    /// `key_sha256`: the lowercase hex SHA-256 of the key (see
    /// [`hash_api_key`](crate::hash_api_key)), so no plaintext sits in the file.
    pub key_sha256: Option<String>,
    /// `permissions`: what the key grants (names or `resource:*`).
    pub permissions: Vec<String>,
    /// `description`: required; becomes the [`SecurityContext`](crate::SecurityContext) subject.
    pub description: String,
    /// `expires_at`: optional RFC 3339 time after which the key is refused.
    pub expires_at: Option<String>,
}

impl fmt::Debug for ApiKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(f, "ApiKeyConfig", self, "web.auth.api_keys[]")
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A bool, or a string holding one (what a `${VAR}` substitution leaves).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false (or a string holding one)")
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
            Ok(b)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
            parse_bool(s).ok_or_else(|| E::invalid_value(Unexpected::Str(s), &self))
        }
    }
    d.deserialize_any(V)
}

/// A non-negative integer, or a string holding one.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative whole number (or a string holding one)")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
            Ok(n)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
            u64::try_from(n).map_err(|_| E::invalid_value(Unexpected::Signed(n), &self))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
            s.trim()
                .parse::<u64>()
                .map_err(|_| E::invalid_value(Unexpected::Str(s), &self))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::redact::is_secret_key;
    use super::substitute::substitute;
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn substitution_expands_defaults_and_literals() {
        let env = |n: &str| (n == "A").then(|| "x".to_owned());
        assert_eq!(
            substitute("${A}-${B:-y}-$${A}-$5", &env).unwrap(),
            "x-y-${A}-$5"
        );
    }

    #[test]
    fn substitution_unset_variable_is_error_naming_it() {
        let err = substitute("${NOPE}", &no_env).unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
    }

    #[test]
    fn debug_and_redacted_hide_the_same_secrets() {
        let mut config = TaskerConfig::default();
        config.web.auth.jwt_public_key = "-----BEGIN PUBLIC KEY-----inline".to_owned();
        config.web.auth.api_keys = vec![
            ApiKeyConfig {
                key: Some("plaintext-key-0123456789".to_owned()),
                description: "reader".to_owned(),
                ..ApiKeyConfig::default()
            },
            ApiKeyConfig {
                key_sha256: Some("ab".repeat(32)),
                description: "hashed".to_owned(),
                ..ApiKeyConfig::default()
            },
        ];
        let debug = format!("{config:?} {:?}", config.web.auth.api_keys[0]);
        let redacted = config.redacted().to_string();
        for text in [&debug, &redacted] {
            assert!(!text.contains("inline"), "{text}");
            assert!(!text.contains("plaintext-key"), "{text}");
            assert!(!text.contains(&"ab".repeat(32)), "{text}");
            assert!(text.contains("reader") && text.contains("hashed"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        assert!(debug.contains("AuthConfig {") && debug.contains("ApiKeyConfig {"));
        assert!(is_secret_key("web.auth.api_keys[12].key_sha256"));
        assert!(!is_secret_key("web.auth.api_keys[0].description"));
    }

    #[test]
    fn wrong_type_of_a_secret_is_not_echoed() {
        let err = TaskerConfig::from_toml_str(
            "[[web.auth.api_keys]]\nkey = 98765432109876543\n",
            &no_env,
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("web.auth.api_keys[0].key"));
        assert!(!err.to_string().contains("98765432109876543"), "{err}");
    }

    #[test]
    fn invalid_substitution_does_not_echo_its_text() {
        let err = substitute("${not valid:-hunter2}", &no_env).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn empty_document_gives_defaults() {
        let config = TaskerConfig::from_toml_str("", &no_env).unwrap();
        assert_eq!(config, TaskerConfig::default());
        assert!(!config.web.auth.enabled);
    }

    #[test]
    fn grpc_section_parses_with_defaults_and_refuses_unknown_keys() {
        let config = TaskerConfig::from_toml_str("", &no_env).unwrap();
        assert!(config.grpc.enabled);
        assert_eq!(config.grpc.bind_address, DEFAULT_GRPC_BIND_ADDRESS);
        let config = TaskerConfig::from_toml_str(
            "[grpc]\nenabled = \"${GRPC:-false}\"\nbind_address = \"0.0.0.0:50051\"\n",
            &no_env,
        )
        .unwrap();
        assert!(!config.grpc.enabled);
        assert_eq!(config.grpc.bind_address, "0.0.0.0:50051");
        let env = |n: &str| (n == "TASKER_GRPC_BIND_ADDRESS").then(|| "127.0.0.1:0".to_owned());
        let config = TaskerConfig::from_toml_str("[grpc]\nbind_address = \"x:1\"\n", &env).unwrap();
        assert_eq!(config.grpc.bind_address, "127.0.0.1:0");
        let err = TaskerConfig::from_toml_str("[grpc]\nport = 9190\n", &no_env).unwrap_err();
        assert_eq!(err.key(), Some("grpc.port"), "{err}");
    }

    #[test]
    fn unknown_key_error_names_the_key() {
        let err = TaskerConfig::from_toml_str("[web.auth]\nenabeld = true\n", &no_env).unwrap_err();
        assert_eq!(err.key(), Some("web.auth.enabeld"), "{err}");
        assert!(err.to_string().contains("enabeld"), "{err}");
    }
}
