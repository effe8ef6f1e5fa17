//! Client-side credentials for calling the Tasker APIs.
//!
//! [`ClientCredentials::from_env`] resolves, for one [`Endpoint`], the first of:
//!
//! 1. `TASKER_ORCHESTRATION_AUTH_TOKEN` (orchestration) or `TASKER_WORKER_AUTH_TOKEN` (worker):
//!    a bearer token;
//! 2. `TASKER_AUTH_TOKEN`: a bearer token for both APIs;
//! 3. `TASKER_API_KEY`: an API key, sent in the header named by `TASKER_API_KEY_HEADER`
//!    (default `X-API-Key`);
//! 4. `TASKER_JWT_PRIVATE_KEY_PATH`: a private key that mints tokens here, with
//!    `TASKER_JWT_PERMISSIONS` (required; comma- or space-separated), `TASKER_JWT_SUBJECT`
//!    (default `tasker-client`), `TASKER_JWT_ISSUER` (default `tasker-core`) and
//!    `TASKER_JWT_AUDIENCE` (default `tasker-api`). Minted tokens live one hour and are renewed
//!    when less than 20% of their life, or less than 60 s, remains;
//! 5. nothing: requests go out without credentials.
//!
//! A variable set to an empty string counts as unset. Resolution reads the key file and checks
//! every value up front, so a misconfigured client fails when it starts, naming the variable.
//!
//! Credentials attach themselves to requests: [`RequestBuilderExt::with_tasker_auth`] for
//! reqwest, [`ClientCredentials::apply_to_request`] for any client built on the `http` crate,
//! and (feature `grpc`) `GrpcCredentialsLayer` around a tonic channel.
//! Either logs a warning (once per host) when credentials are about to travel over plain `http`
//! to a host that is not loopback. Secrets never appear in `Debug` output or in errors.
//!
//! # Example
//!
//! ```no_run
//! use tasker_auth::client::{ClientCredentials, Endpoint, RequestBuilderExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let creds = ClientCredentials::from_env(Endpoint::Orchestration)?;
//! let tasks = reqwest::Client::new()
//!     .get("http://127.0.0.1:8080/v1/tasks")
//!     .with_tasker_auth(&creds)?
//!     .send()
//!     .await?;
//! println!("{}", tasks.status());
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Uri, header};

use crate::config::{DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER};
#[cfg(feature = "grpc")]
pub use crate::grpc_client::{
    BoxError, GrpcCredentialsFuture, GrpcCredentialsLayer, GrpcCredentialsService,
};
use crate::keys::{KeyError, KeyPair, TokenRequest};
use crate::permission_set::PermissionSet;

/// Which Tasker API the credentials are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The orchestration API (port 8080): `TASKER_ORCHESTRATION_AUTH_TOKEN` comes first.
    Orchestration,
    /// The worker API (port 8081): `TASKER_WORKER_AUTH_TOKEN` comes first.
    Worker,
}

impl Endpoint {
    /// The endpoint-specific token variable.
    pub const fn token_var(self) -> &'static str {
        match self {
            Endpoint::Orchestration => "TASKER_ORCHESTRATION_AUTH_TOKEN",
            Endpoint::Worker => "TASKER_WORKER_AUTH_TOKEN",
        }
    }
}

/// `TASKER_AUTH_TOKEN`: a bearer token for both APIs.
pub const AUTH_TOKEN_VAR: &str = "TASKER_AUTH_TOKEN";
/// `TASKER_API_KEY`: an API key.
pub const API_KEY_VAR: &str = "TASKER_API_KEY";
/// `TASKER_API_KEY_HEADER`: the header carrying the API key (default `X-API-Key`).
pub const API_KEY_HEADER_VAR: &str = "TASKER_API_KEY_HEADER";
/// `TASKER_JWT_PRIVATE_KEY_PATH`: a private key PEM to mint tokens with.
pub const PRIVATE_KEY_PATH_VAR: &str = "TASKER_JWT_PRIVATE_KEY_PATH";
/// `TASKER_JWT_PERMISSIONS`: the permissions of minted tokens (comma- or space-separated).
pub const PERMISSIONS_VAR: &str = "TASKER_JWT_PERMISSIONS";
/// `TASKER_JWT_SUBJECT`: the subject of minted tokens (default `tasker-client`).
pub const SUBJECT_VAR: &str = "TASKER_JWT_SUBJECT";
/// `TASKER_JWT_ISSUER`: the issuer of minted tokens (default `tasker-core`).
pub const ISSUER_VAR: &str = "TASKER_JWT_ISSUER";
/// `TASKER_JWT_AUDIENCE`: the audience of minted tokens (default `tasker-api`).
pub const AUDIENCE_VAR: &str = "TASKER_JWT_AUDIENCE";

/// The lifetime of tokens minted by [`ClientCredentials::from_env`].
pub const DEFAULT_MINTED_TTL: Duration = Duration::from_secs(3600);

const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";

/// Why credentials could not be resolved or attached. Never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// A token variable holds characters that cannot go in an HTTP header.
    #[error("{var} is not a usable bearer token (it must be printable ASCII without spaces)")]
    InvalidToken {
        /// The variable at fault.
        var: &'static str,
    },
    /// `TASKER_API_KEY` holds characters that cannot go in an HTTP header.
    #[error("{API_KEY_VAR} is not a usable API key (it must be printable ASCII)")]
    InvalidApiKey,
    /// `TASKER_API_KEY_HEADER` is not a valid header name.
    #[error("{API_KEY_HEADER_VAR} is not a valid HTTP header name")]
    InvalidHeaderName,
    /// The private key file could not be read.
    #[error("cannot read {PRIVATE_KEY_PATH_VAR} ({path}): {source}")]
    KeyFile {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The private key file holds no usable key.
    #[error("{PRIVATE_KEY_PATH_VAR} ({path}) holds no usable private key: {source}")]
    Key {
        /// The path given.
        path: PathBuf,
        /// Why the key was refused.
        #[source]
        source: KeyError,
    },
    /// Minting needs permissions and `TASKER_JWT_PERMISSIONS` is unset or empty.
    #[error(
        "{PERMISSIONS_VAR} must list the permissions of minted tokens (e.g. \"tasks:read,tasks:list\") when {PRIVATE_KEY_PATH_VAR} is set"
    )]
    MissingPermissions,
    /// `TASKER_JWT_PERMISSIONS` names permissions the vocabulary does not know.
    #[error("{PERMISSIONS_VAR} holds unknown permissions: {}", with_suggestions(.unknown))]
    UnknownPermissions {
        /// The unknown entries (bare `*` included: it grants nothing).
        unknown: Vec<String>,
    },
    /// Minting a token failed.
    #[error("cannot mint a token: {0}")]
    Mint(#[source] KeyError),
    /// The request could not be built (reqwest's own error, e.g. a bad URL).
    #[error("cannot build the request: {0}")]
    Request(#[source] reqwest::Error),
}

/// What kind of credential was resolved, and from where. Carries no secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// No credentials: requests go out bare.
    None,
    /// A bearer token from the named variable (or `"explicit"` when built in code).
    BearerToken {
        /// Where the token came from.
        source: &'static str,
    },
    /// An API key.
    ApiKey,
    /// Tokens minted from a private key and renewed before they expire.
    MintedToken,
}

/// The credentials of one endpoint: resolved once, attached to every request.
///
/// Cheap to clone (shared state); safe to use from many tasks at once. `Debug` shows what kind of
/// credential it is and where it came from, never the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    warned_hosts: Mutex<HashSet<String>>,
}

enum Source {
    None,
    Bearer {
        origin: &'static str,
        value: HeaderValue,
    },
    ApiKey {
        header: HeaderName,
        value: HeaderValue,
    },
    Minted(Box<Minter>),
}

struct Minter {
    key: KeyPair,
    request: TokenRequest,
    cache: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    value: HeaderValue,
    renew_at: SystemTime,
}

impl ClientCredentials {
    /// Resolves the credentials of `endpoint` from the process environment (see the
    /// [module docs](self) for the order).
    ///
    /// # Errors
    ///
    /// A [`CredentialError`] naming the variable at fault: a token or key unusable in a header,
    /// a bad header name, an unreadable or unusable private key, missing or unknown permissions.
    pub fn from_env(endpoint: Endpoint) -> Result<Self, CredentialError> {
        Self::from_env_source(endpoint, |name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `env` instead of the process
    /// environment (for tests, or configuration held elsewhere).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_env_source<F>(endpoint: Endpoint, env: F) -> Result<Self, CredentialError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        for var in [endpoint.token_var(), AUTH_TOKEN_VAR] {
            if let Some(token) = get(var) {
                return Self::bearer_from(var, &token);
            }
        }
        if let Some(key) = get(API_KEY_VAR) {
            let header = get(API_KEY_HEADER_VAR);
            let header = header
                .as_deref()
                .map(str::trim)
                .unwrap_or(DEFAULT_API_KEY_HEADER);
            return Self::api_key(header, key.trim());
        }
        if let Some(path) = get(PRIVATE_KEY_PATH_VAR) {
            let path = PathBuf::from(path.trim());
            let pem =
                std::fs::read_to_string(&path).map_err(|source| CredentialError::KeyFile {
                    path: path.clone(),
                    source,
                })?;
            let key = KeyPair::from_private_pem(&pem)
                .map_err(|source| CredentialError::Key { path, source })?;
            let permissions = get(PERMISSIONS_VAR)
                .ok_or(CredentialError::MissingPermissions)?
                .split([',', ' '])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            let text = |var, default: &str| {
                get(var).map_or_else(|| default.to_owned(), |v| v.trim().to_owned())
            };
            return Self::minted(
                key,
                TokenRequest {
                    subject: text(SUBJECT_VAR, "tasker-client"),
                    permissions,
                    issuer: text(ISSUER_VAR, DEFAULT_JWT_ISSUER),
                    audience: text(AUDIENCE_VAR, DEFAULT_JWT_AUDIENCE),
                    ttl: DEFAULT_MINTED_TTL,
                    kid: None,
                },
            );
        }
        Ok(Self::from_source(Source::None))
    }

    /// No credentials.
    pub fn none() -> Self {
        Self::from_source(Source::None)
    }

    /// A fixed bearer token. A leading `Bearer ` is accepted and dropped.
    ///
    /// # Errors
    ///
    /// [`CredentialError::InvalidToken`] when the token cannot go in a header.
    pub fn bearer(token: &str) -> Result<Self, CredentialError> {
        Self::bearer_from("explicit", token)
    }

    fn bearer_from(origin: &'static str, token: &str) -> Result<Self, CredentialError> {
        let token = token.trim();
        let token = match token.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => token,
        };
        if token.is_empty() || token.contains(' ') {
            return Err(CredentialError::InvalidToken { var: origin });
        }
        let value = bearer_value(token).ok_or(CredentialError::InvalidToken { var: origin })?;
        Ok(Self::from_source(Source::Bearer { origin, value }))
    }

    /// An API key sent in the header `header_name` (usually `X-API-Key`).
    ///
    /// # Errors
    ///
    /// [`CredentialError::InvalidHeaderName`] or [`CredentialError::InvalidApiKey`].
    pub fn api_key(header_name: &str, key: &str) -> Result<Self, CredentialError> {
        let header =
            HeaderName::try_from(header_name).map_err(|_| CredentialError::InvalidHeaderName)?;
        let mut value = HeaderValue::try_from(key).map_err(|_| CredentialError::InvalidApiKey)?;
        if key.is_empty() {
            return Err(CredentialError::InvalidApiKey);
        }
        value.set_sensitive(true);
        Ok(Self::from_source(Source::ApiKey { header, value }))
    }

    /// Tokens minted from `key` for `request`, renewed before they expire. `request.ttl` below
    /// one second is raised to one second.
    ///
    /// # Errors
    ///
    /// [`CredentialError::MissingPermissions`] or [`CredentialError::UnknownPermissions`] when
    /// the request's permissions would be refused by a strict server; [`CredentialError::Mint`]
    /// when a first token cannot be minted.
    pub fn minted(key: KeyPair, mut request: TokenRequest) -> Result<Self, CredentialError> {
        if request.permissions.is_empty() {
            return Err(CredentialError::MissingPermissions);
        }
        let parsed = PermissionSet::parse_grants(request.permissions.iter().map(String::as_str));
        if !parsed.unknown.is_empty() {
            return Err(CredentialError::UnknownPermissions {
                unknown: parsed.unknown,
            });
        }
        request.ttl = request.ttl.max(Duration::from_secs(1));
        let minter = Minter {
            key,
            request,
            cache: Mutex::new(None),
        };
        // Fail now rather than on the first request.
        minter.current(SystemTime::now())?;
        Ok(Self::from_source(Source::Minted(Box::new(minter))))
    }

    fn from_source(source: Source) -> Self {
        ClientCredentials {
            inner: Arc::new(Inner {
                source,
                warned_hosts: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// What kind of credential this is.
    pub fn kind(&self) -> CredentialKind {
        match &self.inner.source {
            Source::None => CredentialKind::None,
            Source::Bearer { origin, .. } => CredentialKind::BearerToken { source: origin },
            Source::ApiKey { .. } => CredentialKind::ApiKey,
            Source::Minted(_) => CredentialKind::MintedToken,
        }
    }

    /// The header to send (`Authorization: Bearer ...` or the API-key header), or `None` without
    /// credentials. The value is marked sensitive. A minted token is renewed here when due.
    ///
    /// # Errors
    ///
    /// [`CredentialError::Mint`] when a renewal fails.
    pub fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>, CredentialError> {
        self.header_at(SystemTime::now())
    }

    /// As [`header`](Self::header), with `now` as the current time (renewal decisions and the
    /// `iat` of a renewed token use it).
    ///
    /// # Errors
    ///
    /// As [`header`](Self::header).
    pub fn header_at(
        &self,
        now: SystemTime,
    ) -> Result<Option<(HeaderName, HeaderValue)>, CredentialError> {
        Ok(match &self.inner.source {
            Source::None => None,
            Source::Bearer { value, .. } => Some((header::AUTHORIZATION, value.clone())),
            Source::ApiKey { header, value } => Some((header.clone(), value.clone())),
            Source::Minted(minter) => Some((header::AUTHORIZATION, minter.current(now)?)),
        })
    }

    /// Sets the credential header in `headers`, replacing any previous value of that header.
    ///
    /// # Errors
    ///
    /// As [`header`](Self::header).
    pub fn apply(&self, headers: &mut HeaderMap) -> Result<(), CredentialError> {
        if let Some((name, value)) = self.header()? {
            headers.insert(name, value);
        }
        Ok(())
    }

    /// Attaches the credentials to an `http` request (for hyper or any client built on `http`),
    /// warning first if they would travel over plain http to a non-loopback host.
    ///
    /// # Errors
    ///
    /// As [`header`](Self::header).
    pub fn apply_to_request<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(), CredentialError> {
        self.check_transport(request.uri());
        self.apply(request.headers_mut())
    }

    /// Whether sending these credentials to `uri` exposes them: plain `http` to a host that is
    /// not loopback (`localhost`, `127.0.0.0/8`, `::1`). Always `false` without credentials.
    pub fn is_exposed_at(&self, uri: &Uri) -> bool {
        !matches!(self.inner.source, Source::None) && plaintext_to_remote(uri)
    }

    /// Logs a warning (once per host) when [`is_exposed_at`](Self::is_exposed_at) holds.
    /// Returns whether the URI exposes the credentials.
    pub fn check_transport(&self, uri: &Uri) -> bool {
        if !self.is_exposed_at(uri) {
            return false;
        }
        let host = uri.host().unwrap_or_default().to_owned();
        let first = lock(&self.inner.warned_hosts).insert(host.clone());
        if first {
            tracing::warn!(
                host = %host,
                "sending Tasker credentials over plain http to a non-loopback host: \
                 anyone on the path can read and replay them; use https"
            );
        }
        true
    }
}

impl Minter {
    fn current(&self, now: SystemTime) -> Result<HeaderValue, CredentialError> {
        let mut cache = lock(&self.cache);
        if let Some(cached) = cache.as_ref()
            && now < cached.renew_at
        {
            return Ok(cached.value.clone());
        }
        let token = self
            .key
            .mint_at(&self.request, now)
            .map_err(CredentialError::Mint)?;
        let value = bearer_value(&token).ok_or(CredentialError::InvalidToken { var: "minted" })?;
        let renew_at = now + self.request.ttl - renewal_margin(self.request.ttl);
        *cache = Some(CachedToken {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }
}

/// How long before expiry a minted token is replaced: 20% of its life, but at least 60 s (so a
/// token of a minute or less is minted afresh for each request).
/// The unknown grants, each with its "did you mean" when one is close.
fn with_suggestions(unknown: &[String]) -> String {
    unknown
        .iter()
        .map(|u| match tasker_permissions::suggest::grant(u) {
            Some(meant) => format!("{u} (did you mean `{meant}`?)"),
            None => u.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn renewal_margin(ttl: Duration) -> Duration {
    (ttl / 5).max(Duration::from_secs(60)).min(ttl)
}

fn bearer_value(token: &str) -> Option<HeaderValue> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn plaintext_to_remote(uri: &Uri) -> bool {
    if uri.scheme_str() != Some("http") {
        return false;
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return false;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => !ip.is_loopback(),
        Err(_) => true,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent across a panic (whole-value writes), so poison is moot.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientCredentials");
        match &self.inner.source {
            Source::None => d.field("kind", &"none"),
            Source::Bearer { origin, .. } => d
                .field("kind", &"bearer")
                .field("source", origin)
                .field("token", &"[REDACTED]"),
            Source::ApiKey { header, .. } => d
                .field("kind", &"api_key")
                .field("header", header)
                .field("key", &"[REDACTED]"),
            Source::Minted(m) => d
                .field("kind", &"minted")
                .field("key", &m.key)
                .field("subject", &m.request.subject)
                .field("permissions", &m.request.permissions)
                .field("ttl", &m.request.ttl),
        };
        d.finish()
    }
}

/// Attaches [`ClientCredentials`] to a reqwest request.
pub trait RequestBuilderExt: Sized {
    /// Adds the credential header (renewing a minted token when due), after warning if it would
    /// travel over plain http to a non-loopback host.
    ///
    /// # Errors
    ///
    /// [`CredentialError::Mint`] when a renewal fails; [`CredentialError::Request`] when the
    /// request itself is invalid (reqwest's error, e.g. an unparseable URL).
    fn with_tasker_auth(self, credentials: &ClientCredentials) -> Result<Self, CredentialError>;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn with_tasker_auth(self, credentials: &ClientCredentials) -> Result<Self, CredentialError> {
        let (client, request) = self.build_split();
        let mut request = request.map_err(CredentialError::Request)?;
        if let Ok(uri) = request.url().as_str().parse::<Uri>() {
            credentials.check_transport(&uri);
        }
        credentials.apply(request.headers_mut())?;
        Ok(reqwest::RequestBuilder::from_parts(client, request))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::keys::KeyAlgorithm;

    const ALL_VARS: [&str; 5] = [
        "TASKER_ORCHESTRATION_AUTH_TOKEN",
        "TASKER_WORKER_AUTH_TOKEN",
        "TASKER_AUTH_TOKEN",
        "TASKER_API_KEY",
        "TASKER_JWT_PRIVATE_KEY_PATH",
    ];

    struct KeyFile(PathBuf);

    impl Drop for KeyFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn key_file(tag: &str) -> (KeyPair, KeyFile) {
        let key = KeyPair::generate(KeyAlgorithm::EdDsa).unwrap();
        let path = std::env::temp_dir().join(format!(
            "tasker-client-test-{}-{tag}.pem",
            std::process::id()
        ));
        std::fs::write(&path, key.private_key_pem()).unwrap();
        (key, KeyFile(path))
    }

    fn resolve(
        endpoint: Endpoint,
        vars: &HashMap<&str, String>,
    ) -> Result<ClientCredentials, CredentialError> {
        ClientCredentials::from_env_source(endpoint, |name| vars.get(name).cloned())
    }

    fn header_of(creds: &ClientCredentials) -> Option<(String, String)> {
        creds
            .header()
            .unwrap()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
    }

    fn claims(token: &str) -> serde_json::Value {
        use base64::Engine as _;
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn priority_holds_for_every_combination() {
        let (_key, file) = key_file("priority");
        let value_of = |var: &str| match var {
            "TASKER_JWT_PRIVATE_KEY_PATH" => file.0.display().to_string(),
            other => format!("value-of-{other}"),
        };
        for endpoint in [Endpoint::Orchestration, Endpoint::Worker] {
            for mask in 0u32..(1 << ALL_VARS.len()) {
                let mut vars: HashMap<&str, String> = ALL_VARS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, v)| (*v, value_of(v)))
                    .collect();
                vars.insert("TASKER_JWT_PERMISSIONS", "tasks:read".into());
                let creds = resolve(endpoint, &vars).unwrap();
                let has = |v: &str| vars.contains_key(v);
                let expected = if has(endpoint.token_var()) {
                    Some((
                        "authorization".to_owned(),
                        format!("Bearer value-of-{}", endpoint.token_var()),
                    ))
                } else if has("TASKER_AUTH_TOKEN") {
                    Some((
                        "authorization".to_owned(),
                        "Bearer value-of-TASKER_AUTH_TOKEN".to_owned(),
                    ))
                } else if has("TASKER_API_KEY") {
                    Some(("x-api-key".to_owned(), "value-of-TASKER_API_KEY".to_owned()))
                } else if has("TASKER_JWT_PRIVATE_KEY_PATH") {
                    assert_eq!(creds.kind(), CredentialKind::MintedToken, "mask {mask:05b}");
                    let (name, value) = header_of(&creds).unwrap();
                    assert_eq!(name, "authorization");
                    assert!(value.starts_with("Bearer ey"), "mask {mask:05b}");
                    continue;
                } else {
                    None
                };
                assert_eq!(header_of(&creds), expected, "{endpoint:?}, mask {mask:05b}");
            }
        }
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let vars = HashMap::from([
            ("TASKER_ORCHESTRATION_AUTH_TOKEN", "".to_owned()),
            ("TASKER_AUTH_TOKEN", "  ".to_owned()),
            ("TASKER_API_KEY", "k-123".to_owned()),
        ]);
        let creds = resolve(Endpoint::Orchestration, &vars).unwrap();
        assert_eq!(creds.kind(), CredentialKind::ApiKey);
        assert!(
            resolve(Endpoint::Worker, &HashMap::new())
                .unwrap()
                .header()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn api_key_header_is_configurable() {
        let vars = HashMap::from([
            ("TASKER_API_KEY", "k-123".to_owned()),
            ("TASKER_API_KEY_HEADER", "X-Tasker-Key".to_owned()),
        ]);
        let creds = resolve(Endpoint::Worker, &vars).unwrap();
        assert_eq!(
            header_of(&creds),
            Some(("x-tasker-key".into(), "k-123".into()))
        );
        let bad = HashMap::from([
            ("TASKER_API_KEY", "k-123".to_owned()),
            ("TASKER_API_KEY_HEADER", "bad header".to_owned()),
        ]);
        assert!(matches!(
            resolve(Endpoint::Worker, &bad),
            Err(CredentialError::InvalidHeaderName)
        ));
    }

    #[test]
    fn bearer_prefix_is_accepted_and_bad_tokens_name_the_variable() {
        let vars = HashMap::from([("TASKER_AUTH_TOKEN", "Bearer abc.def.ghi".to_owned())]);
        let creds = resolve(Endpoint::Orchestration, &vars).unwrap();
        assert_eq!(header_of(&creds).unwrap().1, "Bearer abc.def.ghi");
        let vars = HashMap::from([("TASKER_WORKER_AUTH_TOKEN", "two words".to_owned())]);
        let err = resolve(Endpoint::Worker, &vars).unwrap_err();
        assert!(
            err.to_string().contains("TASKER_WORKER_AUTH_TOKEN"),
            "{err}"
        );
        assert!(!err.to_string().contains("words"), "{err}");
    }

    #[test]
    fn minted_tokens_use_the_jwt_variables_and_defaults() {
        let (key, file) = key_file("claims");
        let mut vars = HashMap::from([
            ("TASKER_JWT_PRIVATE_KEY_PATH", file.0.display().to_string()),
            (
                "TASKER_JWT_PERMISSIONS",
                "tasks:read, tasks:list dlq:*".to_owned(),
            ),
        ]);
        let creds = resolve(Endpoint::Orchestration, &vars).unwrap();
        let token = header_of(&creds)
            .unwrap()
            .1
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        let c = claims(&token);
        assert_eq!(c["sub"], "tasker-client");
        assert_eq!(c["iss"], "tasker-core");
        assert_eq!(c["aud"], "tasker-api");
        assert_eq!(
            c["permissions"],
            serde_json::json!(["tasks:read", "tasks:list", "dlq:*"])
        );
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            3600
        );
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some(key.kid())
        );

        vars.insert("TASKER_JWT_SUBJECT", "svc".into());
        vars.insert("TASKER_JWT_ISSUER", "idp".into());
        vars.insert("TASKER_JWT_AUDIENCE", "aud".into());
        let creds = resolve(Endpoint::Orchestration, &vars).unwrap();
        let c = claims(
            header_of(&creds)
                .unwrap()
                .1
                .strip_prefix("Bearer ")
                .unwrap(),
        );
        assert_eq!(
            (c["sub"].as_str(), c["iss"].as_str(), c["aud"].as_str()),
            (Some("svc"), Some("idp"), Some("aud"))
        );
    }

    #[test]
    fn minting_refuses_missing_or_unknown_permissions_and_bad_key_files() {
        let (_key, file) = key_file("refuse");
        let path = file.0.display().to_string();
        let mut vars = HashMap::from([("TASKER_JWT_PRIVATE_KEY_PATH", path.clone())]);
        assert!(matches!(
            resolve(Endpoint::Worker, &vars),
            Err(CredentialError::MissingPermissions)
        ));
        vars.insert("TASKER_JWT_PERMISSIONS", "tasks:read,*,nope".into());
        match resolve(Endpoint::Worker, &vars) {
            Err(CredentialError::UnknownPermissions { unknown }) => {
                assert_eq!(unknown, ["*", "nope"])
            }
            other => panic!("{other:?}"),
        }
        vars.insert("TASKER_JWT_PERMISSIONS", "tasks:raed,dlq:*x,nope".into());
        let err = resolve(Endpoint::Worker, &vars).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TASKER_JWT_PERMISSIONS holds unknown permissions: tasks:raed (did you mean \
             `tasks:read`?), dlq:*x (did you mean `dlq:*`?), nope"
        );
        vars.insert("TASKER_JWT_PRIVATE_KEY_PATH", "/nonexistent/key.pem".into());
        let err = resolve(Endpoint::Worker, &vars).unwrap_err();
        assert!(matches!(err, CredentialError::KeyFile { .. }));
        assert!(err.to_string().contains("/nonexistent/key.pem"), "{err}");
    }

    #[test]
    fn minted_token_is_reused_then_renewed_before_expiry() {
        let key = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
        let request = TokenRequest {
            subject: "svc".into(),
            permissions: vec!["tasks:read".into()],
            issuer: "tasker-core".into(),
            audience: "tasker-api".into(),
            ttl: Duration::from_secs(3600),
            kid: None,
        };
        let creds = ClientCredentials::minted(key, request).unwrap();
        let t0 = SystemTime::now() + Duration::from_secs(10);
        let token = |at| {
            creds
                .header_at(at)
                .unwrap()
                .unwrap()
                .1
                .to_str()
                .unwrap()
                .to_owned()
        };
        let first = token(t0);
        // Reused while more than 20% (12 min) of the hour remains.
        assert_eq!(token(t0 + Duration::from_secs(40 * 60)), first);
        let renewed = token(t0 + Duration::from_secs(49 * 60));
        assert_ne!(renewed, first);
        let c = claims(renewed.strip_prefix("Bearer ").unwrap());
        let expected_iat = (t0 + Duration::from_secs(49 * 60))
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(c["iat"].as_u64(), Some(expected_iat));
        assert_eq!(token(t0 + Duration::from_secs(50 * 60)), renewed);
    }

    #[test]
    fn renewal_margin_is_a_fifth_but_at_least_a_minute() {
        assert_eq!(
            renewal_margin(Duration::from_secs(3600)),
            Duration::from_secs(720)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn minted_credentials_are_shared_across_threads() {
        let key = KeyPair::generate(KeyAlgorithm::EdDsa).unwrap();
        let creds = ClientCredentials::minted(
            key,
            TokenRequest {
                subject: "svc".into(),
                permissions: vec!["tasks:read".into()],
                issuer: "i".into(),
                audience: "a".into(),
                ttl: Duration::from_secs(3600),
                kid: None,
            },
        )
        .unwrap();
        let tokens: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| creds.header().unwrap().unwrap().1))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn plain_http_to_remote_hosts_is_flagged() {
        let creds = ClientCredentials::bearer("abc").unwrap();
        let exposed = |u: &str| creds.is_exposed_at(&u.parse().unwrap());
        assert!(exposed("http://tasker.example.com/v1/tasks"));
        assert!(exposed("http://10.0.0.5:8080/v1/tasks"));
        assert!(exposed("http://[2001:db8::1]:8080/"));
        assert!(!exposed("https://tasker.example.com/v1/tasks"));
        assert!(!exposed("http://127.0.0.1:8080/v1/tasks"));
        assert!(!exposed("http://127.1.2.3/"));
        assert!(!exposed("http://localhost:8080/"));
        assert!(!exposed("http://[::1]:8081/"));
        assert!(
            !ClientCredentials::none()
                .is_exposed_at(&"http://tasker.example.com/".parse().unwrap())
        );
        assert!(creds.check_transport(&"http://tasker.example.com/".parse().unwrap()));
        assert!(!creds.check_transport(&"https://tasker.example.com/".parse().unwrap()));
    }

    #[test]
    fn debug_redacts_every_secret() {
        let (_key, file) = key_file("debug");
        let secret_token = "eyJsecret.token.value";
        let bearer = ClientCredentials::bearer(secret_token).unwrap();
        let api = ClientCredentials::api_key("X-API-Key", "supersecretkey123").unwrap();
        let vars = HashMap::from([
            ("TASKER_JWT_PRIVATE_KEY_PATH", file.0.display().to_string()),
            ("TASKER_JWT_PERMISSIONS", "tasks:read".to_owned()),
        ]);
        let minted = resolve(Endpoint::Orchestration, &vars).unwrap();
        let minted_token = header_of(&minted).unwrap().1;
        let pem = std::fs::read_to_string(&file.0).unwrap();
        let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for (creds, secret) in [
            (&bearer, secret_token),
            (&api, "supersecretkey123"),
            (&minted, &minted_token[7..]),
            (&minted, &pem_body[..20]),
        ] {
            let debug = format!("{creds:?}");
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(format!("{bearer:?}").contains("[REDACTED]"));
        // Header values are marked sensitive, so http's own Debug hides them too.
        let (_, value) = bearer.header().unwrap().unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("secret"));
    }

    #[test]
    fn apply_to_request_sets_the_header() {
        let creds = ClientCredentials::api_key("X-API-Key", "k-123").unwrap();
        let mut request = http::Request::get("http://127.0.0.1:8080/v1/tasks")
            .body(())
            .unwrap();
        creds.apply_to_request(&mut request).unwrap();
        assert_eq!(request.headers()["x-api-key"], "k-123");
    }

    #[test]
    fn with_tasker_auth_sets_the_header_on_reqwest() {
        let creds = ClientCredentials::bearer("abc.def.ghi").unwrap();
        let request = reqwest::Client::new()
            .get("http://127.0.0.1:8080/v1/tasks")
            .with_tasker_auth(&creds)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(request.headers()["authorization"], "Bearer abc.def.ghi");
    }
}
