//! Verification keys fetched from a JWKS endpoint (or read from a `jwks.json` file).
//!
//! A [`JwksKeyStore`] keeps the usable keys of a JWK set, indexed by `kid`, and keeps them fresh:
//!
//! - a background task refetches the set every `refresh_interval`; after a failed fetch it retries
//!   with a bounded exponential backoff (from `min_refresh_interval`, doubling, at most
//!   `min(refresh_interval, 5 min)`), which is also how a store whose first fetch failed recovers;
//! - a token whose `kid` is unknown triggers a refetch, with at most one fetch in flight (every
//!   caller waits on the same fetch) and at most one started per `min_refresh_interval`, however
//!   many requests ask;
//! - a fetch that fails — transport error, non-200 status (redirects are not followed), slower than
//!   `fetch_timeout`, larger than `max_response_bytes` (enforced while streaming), not a JWK set,
//!   or holding no usable key — never replaces the cached keys: they are served until
//!   `refresh_interval + max_stale` after the last successful fetch; past that, [`JwksKeyStore::key`]
//!   fails with [`JwksError::Unavailable`];
//! - keys are filtered when a set is read: a key is kept only if it has a `kid`, is meant for
//!   signatures (no `use: enc`, `key_ops` including `verify` when present), is RSA (2048 to 8192
//!   bits), EC P-256 / P-384 or OKP Ed25519, parses as a valid public key, and fits one of the
//!   allowed algorithms (its own `alg`, when given, must be allowed and match its type). Unusable
//!   entries are skipped (and logged by `kid`), never failing the whole set.
//!
//! Key material is never logged nor shown by `Debug`.
//!
//! # Example
//!
//! ```
//! use jsonwebtoken::Algorithm;
//! use tasker_auth::{JwksError, JwksKeyStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A set read from a file (as `tasker-ctl auth validate-token --jwks FILE` does).
//! let jwks = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "2026-11",
//!     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
//! let store = JwksKeyStore::from_jwks_json(jwks, &[Algorithm::EdDSA])?;
//!
//! let key = store.key("2026-11").await?;
//! assert_eq!(key.alg(), Some(Algorithm::EdDSA));
//! assert!(matches!(store.key("unknown").await, Err(JwksError::UnknownKid)));
//!
//! // A set served by an identity provider, refreshed in the background.
//! let mut settings = tasker_auth::JwksSettings::new("https://tenant.auth0.com/.well-known/jwks.json");
//! settings.allowed_algorithms = vec![Algorithm::RS256];
//! let remote = JwksKeyStore::new(settings)?;
//! # drop(remote);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as lc, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};

/// Settings of a [`JwksKeyStore`], taken from the `jwks_*` keys of `[web.auth]`.
#[derive(Clone)]
pub struct JwksSettings {
    /// `jwks_url`: where the JWK set is served (`https`, or `http` with `allow_http`).
    pub url: String,
    /// `jwks_refresh_interval_seconds` (default 3600).
    pub refresh_interval: Duration,
    /// `jwks_max_stale_seconds` (default 300): how long cached keys are served after refreshes
    /// start failing, i.e. beyond `refresh_interval` after the last successful fetch.
    pub max_stale: Duration,
    /// `jwks_min_refresh_interval_seconds` (default 10): an unknown `kid` refetches at most this
    /// often; also the first retry delay after a failed fetch.
    pub min_refresh_interval: Duration,
    /// `jwks_url_allow_http` (default false).
    pub allow_http: bool,
    /// `jwt_allowed_algorithms`: keys whose type fits none of them are ignored (default `RS256`).
    pub allowed_algorithms: Vec<Algorithm>,
    /// A fetch slower than this fails (default 5 s).
    pub fetch_timeout: Duration,
    /// A response larger than this fails (default 1 MiB).
    pub max_response_bytes: usize,
}

impl JwksSettings {
    /// Settings for `url` with the defaults of SPEC §4: refresh every hour, serve stale keys for
    /// 5 minutes, refetch on an unknown `kid` at most every 10 seconds, `https` only, `RS256`,
    /// 5 s and 1 MiB per fetch.
    pub fn new(url: impl Into<String>) -> Self {
        JwksSettings {
            url: url.into(),
            refresh_interval: Duration::from_secs(3600),
            max_stale: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(10),
            allow_http: false,
            allowed_algorithms: vec![Algorithm::RS256],
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
        }
    }
}

impl fmt::Debug for JwksSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSettings")
            .field("url", &redact_url(&self.url))
            .field("refresh_interval", &self.refresh_interval)
            .field("max_stale", &self.max_stale)
            .field("min_refresh_interval", &self.min_refresh_interval)
            .field("allow_http", &self.allow_http)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A key of the set, ready to verify signatures.
#[derive(Clone)]
pub struct JwksKey {
    kid: String,
    alg: Option<Algorithm>,
    decoding_key: DecodingKey,
}

impl JwksKey {
    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm a token must use with this key, when it is fixed: the JWK's `alg`, or the
    /// curve's algorithm for EC (`ES256` for P-256, `ES384` for P-384) and OKP (`EdDSA`) keys.
    /// `None` for an RSA key without `alg` (any allowed RSA algorithm fits).
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The verification key (its `family()` says which algorithms fit it).
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }
}

impl fmt::Debug for JwksKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had for a token, or why a key store could not be built or refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// No key with this `kid`, even after a refetch (or the refetch cooldown applies).
    #[error("no key with this kid in the key set")]
    UnknownKid,
    /// The cached keys are older than `max_stale` (or none was ever fetched) and the endpoint
    /// cannot be reached.
    #[error("the key set is stale and the endpoint is unavailable")]
    Unavailable,
    /// The settings are unusable (bad URL, http without `jwks_url_allow_http`, ...).
    #[error("invalid JWKS settings: {0}")]
    Settings(String),
    /// [`JwksKeyStore::new`] was called outside a Tokio runtime.
    #[error("the JWKS key store needs a Tokio runtime for its background refresh")]
    NoRuntime,
    /// A JWK set given as JSON is unusable (not JSON, not a set, or no usable key).
    #[error("invalid JWK set: {0}")]
    InvalidSet(String),
    /// A fetch asked for by [`JwksKeyStore::refresh`] failed; the cached keys are kept.
    #[error("fetching the JWK set failed: {0}")]
    Fetch(String),
}

/// Caches the keys of a JWKS endpoint and keeps them fresh.
///
/// Cloning is cheap and shares the cache; the background refresh stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct JwksKeyStore {
    inner: Arc<Inner>,
    _refresher: Option<Arc<RefreshTask>>,
}

impl fmt::Debug for JwksKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("JwksKeyStore");
        match &self.inner.source {
            Source::Remote(remote) => d.field("url", &remote.display_url),
            Source::Static => d.field("url", &"(static set)"),
        };
        d.field("keys", &self.inner.read().keys.len())
            .finish_non_exhaustive()
    }
}

/// Aborts the background refresh when the last store clone goes away.
struct RefreshTask(tokio::task::AbortHandle);

impl Drop for RefreshTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Inner {
    source: Source,
    allowed_algorithms: Vec<Algorithm>,
    state: RwLock<State>,
}

enum Source {
    Remote(Box<Remote>),
    Static,
}

struct Remote {
    settings: JwksSettings,
    url: reqwest::Url,
    /// The URL without user information, for logs and `Debug`.
    display_url: String,
    client: reqwest::Client,
    /// Held for the whole of a fetch: at most one in flight.
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Arc<JwksKey>>,
    last_success: Option<Instant>,
    last_fetch_started: Option<Instant>,
    /// A fetch is running (it holds the fetch lock).
    fetching: bool,
    last_fetch_finished: Option<Instant>,
    consecutive_failures: u32,
    /// Fetches finished (successfully or not): tells a waiter whether one completed meanwhile.
    completed_fetches: u64,
}

/// The longest delay between two retries after failed fetches.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// The shortest one, so that a zero `min_refresh_interval` cannot spin.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(10);

impl JwksKeyStore {
    /// Validates the settings and starts the background refresh (needs a Tokio runtime).
    ///
    /// The first fetch starts at once in the background; a [`key`](Self::key) call that comes
    /// before it finishes waits for it. If it fails, it is retried with backoff.
    pub fn new(settings: JwksSettings) -> Result<Self, JwksError> {
        let url = validate_settings(&settings)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JwksError::NoRuntime)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!settings.allow_http)
            .connect_timeout(settings.fetch_timeout)
            .user_agent(concat!("tasker-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Settings(format!("cannot build the HTTP client: {e}")))?;
        let display_url = redact_url(&settings.url);
        let inner = Arc::new(Inner {
            allowed_algorithms: settings.allowed_algorithms.clone(),
            source: Source::Remote(Box::new(Remote {
                settings,
                url,
                display_url,
                client,
                fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
                fetches: AtomicU64::new(0),
            })),
            state: RwLock::new(State::default()),
        });
        let task = runtime.spawn(refresh_loop(Arc::downgrade(&inner)));
        Ok(JwksKeyStore {
            inner,
            _refresher: Some(Arc::new(RefreshTask(task.abort_handle()))),
        })
    }

    /// A store holding a fixed JWK set (`{"keys": [...]}`), e.g. read from a `jwks.json` file.
    /// It never fetches nor expires. Needs no runtime.
    ///
    /// Unusable entries are skipped; a set that is not JSON, not a JWK set or holds no usable key
    /// is a [`JwksError::InvalidSet`].
    pub fn from_jwks_json(json: &str, allowed_algorithms: &[Algorithm]) -> Result<Self, JwksError> {
        let keys = parse_set(json.as_bytes(), allowed_algorithms)
            .map_err(|e| JwksError::InvalidSet(e.to_string()))?;
        let state = State {
            keys,
            last_success: Some(Instant::now()),
            ..State::default()
        };
        Ok(JwksKeyStore {
            inner: Arc::new(Inner {
                source: Source::Static,
                allowed_algorithms: allowed_algorithms.to_vec(),
                state: RwLock::new(state),
            }),
            _refresher: None,
        })
    }

    /// The key for `kid`, refetching the set (at most one fetch in flight, at most one per
    /// `min_refresh_interval`) when the kid is unknown or the cache has expired.
    ///
    /// Fails with [`JwksError::UnknownKid`] when the (fresh) set has no such key, and with
    /// [`JwksError::Unavailable`] when no set was fetched within `refresh_interval + max_stale`.
    pub async fn key(&self, kid: &str) -> Result<Arc<JwksKey>, JwksError> {
        let seen = match self.inner.lookup(kid) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Miss {
                completed_fetches,
                worth_waiting: true,
            } => completed_fetches,
            // In the cooldown with no fetch running: answer without queueing on the lock.
            Lookup::Miss { .. } => return Err(self.inner.miss_error()),
        };
        let Source::Remote(remote) = &self.inner.source else {
            return Err(JwksError::UnknownKid);
        };
        let guard = remote.fetch_lock.clone().lock_owned().await;
        let should_fetch = {
            let state = self.inner.read();
            let cooled_down = state
                .last_fetch_started
                .is_none_or(|started| started.elapsed() >= remote.settings.min_refresh_interval);
            // A fetch that finished while this call waited already answered it.
            state.completed_fetches == seen && cooled_down
        };
        if should_fetch {
            // The outcome shows in the cache; a failure was logged.
            let _ = self.fetch_detached(guard).await;
        } else {
            drop(guard);
        }
        match self.inner.lookup(kid) {
            Lookup::Found(key) => Ok(key),
            Lookup::Miss { .. } => Err(self.inner.miss_error()),
        }
    }

    /// Fetches the set now, ignoring the cooldown (still at most one fetch in flight), and returns
    /// how many usable keys it holds. On failure the cached keys are kept. A static set returns
    /// its size.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let Source::Remote(remote) = &self.inner.source else {
            return Ok(self.inner.read().keys.len());
        };
        let guard = remote.fetch_lock.clone().lock_owned().await;
        self.fetch_detached(guard).await
    }

    /// The `kid`s of the cached keys, sorted (whatever their age; no fetch).
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.inner.read().keys.keys().cloned().collect();
        kids.sort_unstable();
        kids
    }

    /// How many fetches this store has started (0 for a static set).
    pub fn fetch_count(&self) -> u64 {
        match &self.inner.source {
            Source::Remote(remote) => remote.fetches.load(Ordering::Relaxed),
            Source::Static => 0,
        }
    }

    /// Runs one fetch in its own task, holding `guard` until it ends, so that a caller that gives
    /// up (a dropped request) neither cancels the fetch nor lets a second one start beside it.
    async fn fetch_detached(
        &self,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<usize, JwksError> {
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(async move {
            let result = inner.fetch_and_apply().await;
            drop(guard);
            result
        });
        match task.await {
            Ok(result) => result.map_err(|e| JwksError::Fetch(e.to_string())),
            Err(_) => Err(JwksError::Fetch(
                "the fetch task ended abnormally".to_owned(),
            )),
        }
    }
}

enum Lookup {
    Found(Arc<JwksKey>),
    Miss {
        completed_fetches: u64,
        /// A fetch is running, or the cooldown allows one.
        worth_waiting: bool,
    },
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, kid: &str) -> Lookup {
        let now = Instant::now();
        let state = self.read();
        if self.state_is_fresh(&state, now)
            && let Some(key) = state.keys.get(kid)
        {
            return Lookup::Found(Arc::clone(key));
        }
        let worth_waiting = match &self.source {
            Source::Static => false,
            Source::Remote(remote) => {
                state.fetching
                    || state.last_fetch_started.is_none_or(|started| {
                        now.saturating_duration_since(started)
                            >= remote.settings.min_refresh_interval
                    })
            }
        };
        Lookup::Miss {
            completed_fetches: state.completed_fetches,
            worth_waiting,
        }
    }

    /// Why a key cannot be had: a fresh set without it, or no fresh set at all.
    fn miss_error(&self) -> JwksError {
        if self.state_is_fresh(&self.read(), Instant::now()) {
            JwksError::UnknownKid
        } else {
            JwksError::Unavailable
        }
    }

    /// Cached keys are served until `refresh_interval + max_stale` after the last success.
    fn state_is_fresh(&self, state: &State, now: Instant) -> bool {
        let Some(last_success) = state.last_success else {
            return false;
        };
        match &self.source {
            Source::Static => true,
            Source::Remote(remote) => {
                let settings = &remote.settings;
                settings
                    .refresh_interval
                    .checked_add(settings.max_stale)
                    .and_then(|ttl| last_success.checked_add(ttl))
                    .is_none_or(|expiry| now < expiry)
            }
        }
    }

    /// When the background task should fetch next (`None`: now, nothing was fetched yet).
    fn next_refresh_due(&self, remote: &Remote) -> Option<Instant> {
        let state = self.read();
        let finished = state.last_fetch_finished?;
        let due = if state.consecutive_failures == 0 {
            let last_success = state.last_success.unwrap_or(finished);
            last_success.checked_add(remote.settings.refresh_interval)
        } else {
            finished.checked_add(retry_delay(&remote.settings, state.consecutive_failures))
        };
        // An interval too long to represent: check again in a day.
        Some(due.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400)))
    }

    /// One fetch; the caller holds the fetch lock. A failure leaves the cached keys alone.
    async fn fetch_and_apply(&self) -> Result<usize, FetchError> {
        let Source::Remote(remote) = &self.source else {
            return Ok(self.read().keys.len());
        };
        remote.fetches.fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.write();
            state.last_fetch_started = Some(Instant::now());
            state.fetching = true;
        }
        let result = match tokio::time::timeout(remote.settings.fetch_timeout, remote.fetch()).await
        {
            Ok(body) => body.and_then(|body| {
                parse_set(&body, &self.allowed_algorithms).map_err(FetchError::Set)
            }),
            Err(_) => Err(FetchError::Timeout(remote.settings.fetch_timeout)),
        };
        let now = Instant::now();
        let mut state = self.write();
        state.completed_fetches += 1;
        state.last_fetch_finished = Some(now);
        state.fetching = false;
        match result {
            Ok(keys) => {
                let count = keys.len();
                state.keys = keys;
                state.last_success = Some(now);
                state.consecutive_failures = 0;
                drop(state);
                metrics::counter!("tasker_jwks_fetches_total", "result" => "success").increment(1);
                tracing::debug!(url = %remote.display_url, keys = count, "JWK set refreshed");
                Ok(count)
            }
            Err(error) => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                let failures = state.consecutive_failures;
                let cached = state.keys.len();
                drop(state);
                metrics::counter!("tasker_jwks_fetches_total", "result" => "failure").increment(1);
                tracing::warn!(
                    url = %remote.display_url,
                    %error,
                    consecutive_failures = failures,
                    cached_keys = cached,
                    "JWK set fetch failed; keeping the cached keys"
                );
                Err(error)
            }
        }
    }
}

impl Remote {
    /// GET the set, refusing redirects and any status but 200, and reading at most
    /// `max_response_bytes` of body.
    async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
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

/// The background refresh: periodic, and retrying failed fetches with backoff. Holds only a weak
/// reference while it sleeps, and is aborted when the last store is dropped.
async fn refresh_loop(inner: Weak<Inner>) {
    loop {
        let due = {
            let Some(inner) = inner.upgrade() else { return };
            let Source::Remote(remote) = &inner.source else {
                return;
            };
            inner.next_refresh_due(remote)
        };
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let Some(inner) = inner.upgrade() else { return };
        let Source::Remote(remote) = &inner.source else {
            return;
        };
        let _guard = remote.fetch_lock.lock().await;
        // An on-demand fetch may have run meanwhile and moved the schedule.
        if inner
            .next_refresh_due(remote)
            .is_none_or(|due| Instant::now() >= due)
        {
            let _ = inner.fetch_and_apply().await;
        }
    }
}

/// `min_refresh_interval`, doubled per further failure, capped at `min(refresh_interval, 5 min)`.
fn retry_delay(settings: &JwksSettings, failures: u32) -> Duration {
    let base = settings.min_refresh_interval.max(MIN_RETRY_DELAY);
    let cap = settings.refresh_interval.min(MAX_RETRY_DELAY).max(base);
    let factor = 1u32 << failures.saturating_sub(1).min(20);
    base.saturating_mul(factor).min(cap)
}

fn validate_settings(settings: &JwksSettings) -> Result<reqwest::Url, JwksError> {
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
fn redact_url(raw: &str) -> String {
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

fn is_hmac(alg: Algorithm) -> bool {
    alg.family() == jsonwebtoken::AlgorithmFamily::Hmac
}

/// Why a fetch failed. Never holds key material or a URL with credentials.
#[derive(Debug)]
enum FetchError {
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

/// Why a JWK set document was refused as a whole.
#[derive(Debug)]
enum SetError {
    NotJson(serde_json::Error),
    NotASet,
    NoUsableKey { entries: usize },
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // serde_json's message names a line and column, never the content.
            SetError::NotJson(e) => write!(f, "not JSON ({e})"),
            SetError::NotASet => f.write_str("not a JWK set (expected {\"keys\": [...]})"),
            SetError::NoUsableKey { entries } => {
                write!(f, "no usable key among {entries} entries")
            }
        }
    }
}

/// Reads a JWK set, keeping the usable keys (see the module docs for the rules).
fn parse_set(
    body: &[u8],
    allowed: &[Algorithm],
) -> Result<HashMap<String, Arc<JwksKey>>, SetError> {
    let document: serde_json::Value = serde_json::from_slice(body).map_err(SetError::NotJson)?;
    let Some(entries) = document.get("keys").and_then(serde_json::Value::as_array) else {
        return Err(SetError::NotASet);
    };
    let mut keys = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match parse_key(entry, allowed) {
            Ok(key) => {
                if keys.contains_key(&key.kid) {
                    tracing::warn!(kid = %key.kid, "JWK set: duplicate kid, keeping the first key");
                    continue;
                }
                keys.insert(key.kid.clone(), Arc::new(key));
            }
            Err(reason) => {
                let kid = entry.get("kid").and_then(serde_json::Value::as_str);
                tracing::debug!(index, kid, reason, "JWK set: key skipped");
            }
        }
    }
    if keys.is_empty() {
        return Err(SetError::NoUsableKey {
            entries: entries.len(),
        });
    }
    Ok(keys)
}

/// Validates a JWK's public key parameters beyond what `DecodingKey::from_jwk` checks.
type KeyCheck = fn(&serde_json::Value) -> Result<(), &'static str>;

/// One JWK to a key, or why it is unusable (a static reason, safe to log).
fn parse_key(entry: &serde_json::Value, allowed: &[Algorithm]) -> Result<JwksKey, &'static str> {
    let field = |name: &str| entry.get(name);
    let text = |name: &str| field(name).and_then(serde_json::Value::as_str);

    let kid = match text("kid") {
        Some(kid) if !kid.is_empty() => kid,
        _ => return Err("no kid"),
    };
    match field("use") {
        None => {}
        Some(value) if value.as_str() == Some("sig") => {}
        Some(_) => return Err("not a signature key (use)"),
    }
    if let Some(ops) = field("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("not a verification key (key_ops)");
        }
    }
    let (candidates, checked): (&[Algorithm], KeyCheck) = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => (jsonwebtoken::AlgorithmFamily::Rsa.algorithms(), check_rsa),
        (Some("EC"), Some("P-256")) => (&[Algorithm::ES256], check_ec_p256),
        (Some("EC"), Some("P-384")) => (&[Algorithm::ES384], check_ec_p384),
        (Some("EC"), _) => return Err("unsupported EC curve"),
        (Some("OKP"), Some("Ed25519")) => (&[Algorithm::EdDSA], check_ed25519),
        (Some("OKP"), _) => return Err("unsupported OKP curve"),
        (Some("oct"), _) => return Err("symmetric keys are never taken from a JWK set"),
        _ => return Err("unsupported or missing kty"),
    };
    let alg = match field("alg") {
        None | Some(serde_json::Value::Null) => {
            if !candidates.iter().any(|alg| allowed.contains(alg)) {
                return Err("key type fits no allowed algorithm");
            }
            // EC and OKP keys fit exactly one algorithm; pin it.
            (candidates.len() == 1).then(|| candidates[0])
        }
        Some(value) => {
            let alg = match value.as_str() {
                // RFC 9864 names the fully specified Ed25519 algorithm `Ed25519`.
                Some("EdDSA" | "Ed25519") => Algorithm::EdDSA,
                Some(name) => name.parse().map_err(|_| "unsupported alg")?,
                None => return Err("alg is not a string"),
            };
            if !candidates.contains(&alg) {
                return Err("alg does not match the key type");
            }
            if !allowed.contains(&alg) {
                return Err("alg not allowed");
            }
            Some(alg)
        }
    };
    checked(entry)?;
    // `from_jwk` does not understand `alg: Ed25519`; it needs only the key parameters anyway.
    let mut bare = entry.clone();
    if let Some(object) = bare.as_object_mut() {
        object.remove("alg");
    }
    let jwk: Jwk = serde_json::from_value(bare).map_err(|_| "malformed JWK")?;
    let decoding_key = DecodingKey::from_jwk(&jwk).map_err(|_| "unusable key parameters")?;
    Ok(JwksKey {
        kid: kid.to_owned(),
        alg,
        decoding_key,
    })
}

fn b64_field(entry: &serde_json::Value, name: &str) -> Result<Vec<u8>, &'static str> {
    let value = entry
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or("missing key parameter")?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| "key parameter is not base64url")
}

fn check_rsa(entry: &serde_json::Value) -> Result<(), &'static str> {
    let n = b64_field(entry, "n")?;
    let e = b64_field(entry, "e")?;
    let significant = n.iter().position(|b| *b != 0).map_or(&[][..], |i| &n[i..]);
    let bits = significant.first().map_or(0, |first| {
        (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    });
    if !(2048..=8192).contains(&bits) {
        return Err("RSA modulus outside 2048..=8192 bits");
    }
    RsaPublicKeyComponents {
        n: significant,
        e: &e[..],
    }
    .to_parsed_public_key(&lc::RSA_PKCS1_2048_8192_SHA256)
    .map(drop)
    .map_err(|_| "invalid RSA public key")
}

fn check_ec(
    entry: &serde_json::Value,
    size: usize,
    alg: &'static lc::EcdsaVerificationAlgorithm,
) -> Result<(), &'static str> {
    let x = b64_field(entry, "x")?;
    let y = b64_field(entry, "y")?;
    if x.len() != size || y.len() != size {
        return Err("EC coordinates of the wrong length");
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    ParsedPublicKey::new(alg, &point)
        .map(drop)
        .map_err(|_| "EC point not on the curve")
}

fn check_ec_p256(entry: &serde_json::Value) -> Result<(), &'static str> {
    check_ec(entry, 32, &lc::ECDSA_P256_SHA256_FIXED)
}

fn check_ec_p384(entry: &serde_json::Value) -> Result<(), &'static str> {
    check_ec(entry, 48, &lc::ECDSA_P384_SHA384_FIXED)
}

fn check_ed25519(entry: &serde_json::Value) -> Result<(), &'static str> {
    let x = b64_field(entry, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 key of the wrong length");
    }
    ParsedPublicKey::new(&lc::ED25519, &x)
        .map(drop)
        .map_err(|_| "invalid Ed25519 key")
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair as _,
    };
    use serde_json::{Value, json};

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(kid: &str) -> Value {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        json!({
            "kty": "RSA", "kid": kid, "use": "sig",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    fn ec_jwk(kid: &str, p384: bool) -> Value {
        let (signing, crv, size) = if p384 {
            (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
        } else {
            (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
        };
        let pair = EcdsaKeyPair::generate(signing).unwrap();
        let point = pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": crv, "kid": kid,
            "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..]),
        })
    }

    fn ed_jwk(kid: &str) -> Value {
        let pair = Ed25519KeyPair::generate().unwrap();
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())})
    }

    fn set(keys: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    const ALL: [Algorithm; 4] = [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    fn settings(url: &str) -> JwksSettings {
        JwksSettings::new(url)
    }

    #[test]
    fn parse_keeps_rsa_ec_and_okp_keys_with_their_algorithms() {
        let body = set(vec![
            rsa_jwk("rsa"),
            ec_jwk("p256", false),
            ec_jwk("p384", true),
            ed_jwk("ed"),
        ]);
        let keys = parse_set(&body, &ALL).unwrap();
        assert_eq!(keys.len(), 4);
        assert_eq!(keys["rsa"].alg, None);
        assert_eq!(keys["p256"].alg, Some(Algorithm::ES256));
        assert_eq!(keys["p384"].alg, Some(Algorithm::ES384));
        assert_eq!(keys["ed"].alg, Some(Algorithm::EdDSA));
        assert_eq!(
            keys["rsa"].decoding_key.family(),
            jsonwebtoken::AlgorithmFamily::Rsa
        );
        assert_eq!(
            keys["ed"].decoding_key.family(),
            jsonwebtoken::AlgorithmFamily::Ed
        );
    }

    #[test]
    fn parse_skips_unusable_entries_without_failing_the_set() {
        let mut enc = rsa_jwk("enc");
        enc["use"] = json!("enc");
        let mut wrap_only = ec_jwk("wrap", false);
        wrap_only["key_ops"] = json!(["wrapKey"]);
        let mut no_kid = ed_jwk("x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut off_curve = ec_jwk("off-curve", false);
        off_curve["y"] = json!(b64(&[1u8; 32]));
        let mut short_rsa = rsa_jwk("short");
        short_rsa["n"] = json!(b64(&[0xC1; 128]));
        let mut mismatched = rsa_jwk("mismatch");
        mismatched["alg"] = json!("ES256");
        let mut disallowed = rsa_jwk("rs512");
        disallowed["alg"] = json!("RS512");
        let mut bad_b64 = ed_jwk("bad-b64");
        bad_b64["x"] = json!("***");
        let body = set(vec![
            json!("not an object"),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}),
            json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
            json!({"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": "AA"}),
            json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}),
            enc,
            wrap_only,
            no_kid,
            off_curve,
            short_rsa,
            mismatched,
            disallowed,
            bad_b64,
            ed_jwk("good"),
        ]);
        let keys = parse_set(&body, &ALL).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["good"]);
    }

    #[test]
    fn parse_skips_key_types_that_fit_no_allowed_algorithm() {
        let body = set(vec![rsa_jwk("rsa"), ec_jwk("ec", false), ed_jwk("ed")]);
        let keys = parse_set(&body, &[Algorithm::ES256]).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ec"]);
        let keys = parse_set(&body, &[Algorithm::PS256]).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["rsa"]);
    }

    #[test]
    fn parse_accepts_matching_alg_and_the_ed25519_name() {
        let mut rsa = rsa_jwk("rsa");
        rsa["alg"] = json!("RS256");
        let mut ed = ed_jwk("ed");
        ed["alg"] = json!("Ed25519");
        let mut ec = ec_jwk("ec", false);
        ec["key_ops"] = json!(["verify"]);
        let keys = parse_set(&set(vec![rsa, ed, ec]), &ALL).unwrap();
        assert_eq!(keys["rsa"].alg, Some(Algorithm::RS256));
        assert_eq!(keys["ed"].alg, Some(Algorithm::EdDSA));
        assert_eq!(keys["ec"].alg, Some(Algorithm::ES256));
    }

    #[test]
    fn parse_keeps_the_first_of_duplicate_kids() {
        let first = ed_jwk("same");
        let keys = parse_set(&set(vec![first.clone(), ed_jwk("same")]), &ALL).unwrap();
        assert_eq!(keys.len(), 1);
        let expected = parse_key(&first, &ALL).unwrap();
        assert_eq!(
            keys["same"].decoding_key.try_get_as_bytes().unwrap(),
            expected.decoding_key.try_get_as_bytes().unwrap()
        );
    }

    #[test]
    fn parse_refuses_documents_that_are_not_usable_sets() {
        assert!(matches!(
            parse_set(b"<html>oops</html>", &ALL),
            Err(SetError::NotJson(_))
        ));
        assert!(matches!(parse_set(b"[1, 2]", &ALL), Err(SetError::NotASet)));
        assert!(matches!(
            parse_set(br#"{"keys": {}}"#, &ALL),
            Err(SetError::NotASet)
        ));
        assert!(matches!(
            parse_set(br#"{"keys": []}"#, &ALL),
            Err(SetError::NoUsableKey { entries: 0 })
        ));
        let only_enc = set(vec![
            json!({"kty": "RSA", "kid": "a", "use": "enc", "n": "AA", "e": "AQAB"}),
        ]);
        assert!(matches!(
            parse_set(&only_enc, &ALL),
            Err(SetError::NoUsableKey { entries: 1 })
        ));
    }

    #[test]
    fn ed25519_key_verifies_the_rfc8037_signature() {
        // RFC 8037 appendix A.1 / A.4.
        let body = br#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "rfc",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let keys = parse_set(body, &[Algorithm::EdDSA]).unwrap();
        let signature = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let message = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let key = &keys["rfc"].decoding_key;
        assert!(jsonwebtoken::crypto::verify(signature, message, key, Algorithm::EdDSA).unwrap());
        assert!(
            !jsonwebtoken::crypto::verify(signature, b"tampered", key, Algorithm::EdDSA).unwrap()
        );
    }

    #[test]
    fn settings_refuse_http_without_allow_http() {
        let err = validate_settings(&settings("http://127.0.0.1:1/jwks.json")).unwrap_err();
        assert!(matches!(&err, JwksError::Settings(m) if m.contains("jwks_url_allow_http")));
        let mut allowed = settings("http://127.0.0.1:1/jwks.json");
        allowed.allow_http = true;
        assert!(validate_settings(&allowed).is_ok());
        assert!(validate_settings(&settings("https://idp.internal/jwks")).is_ok());
    }

    #[test]
    fn settings_refuse_unusable_values() {
        for url in [
            "",
            "   ",
            "not a url",
            "ftp://idp/jwks",
            "file:///etc/jwks.json",
        ] {
            assert!(
                matches!(
                    validate_settings(&settings(url)),
                    Err(JwksError::Settings(_))
                ),
                "{url:?} accepted"
            );
        }
        let mut hmac_only = settings("https://idp/jwks");
        hmac_only.allowed_algorithms = vec![Algorithm::HS256];
        assert!(matches!(
            validate_settings(&hmac_only),
            Err(JwksError::Settings(_))
        ));
        let mut no_algs = settings("https://idp/jwks");
        no_algs.allowed_algorithms.clear();
        assert!(matches!(
            validate_settings(&no_algs),
            Err(JwksError::Settings(_))
        ));
        let mut zero = settings("https://idp/jwks");
        zero.refresh_interval = Duration::ZERO;
        assert!(matches!(
            validate_settings(&zero),
            Err(JwksError::Settings(_))
        ));
    }

    #[test]
    fn new_outside_a_runtime_is_an_error() {
        let err = JwksKeyStore::new(settings("https://idp.internal/jwks")).unwrap_err();
        assert!(matches!(err, JwksError::NoRuntime));
    }

    #[test]
    fn retry_delay_doubles_up_to_its_cap() {
        let mut s = settings("https://idp/jwks");
        s.min_refresh_interval = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=8).map(|n| retry_delay(&s, n).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
        s.refresh_interval = Duration::from_secs(60);
        assert_eq!(retry_delay(&s, 30), Duration::from_secs(60));
        s.min_refresh_interval = Duration::ZERO;
        assert_eq!(retry_delay(&s, 1), MIN_RETRY_DELAY);
        assert_eq!(retry_delay(&s, u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn debug_output_holds_no_key_material_nor_url_credentials() {
        let jwk = ed_jwk("k1");
        let x = jwk["x"].as_str().unwrap().to_owned();
        let store = JwksKeyStore::from_jwks_json(&String::from_utf8(set(vec![jwk])).unwrap(), &ALL)
            .unwrap();
        let shown = format!("{store:?} {:?}", store.inner.read().keys["k1"]);
        assert!(shown.contains("k1") || shown.contains("keys: 1"), "{shown}");
        assert!(!shown.contains(&x));
        let s = settings("https://user:hunter2@idp.example/jwks");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("idp.example/jwks"));
    }

    #[tokio::test]
    async fn static_store_serves_its_keys_and_never_fetches() {
        let body = String::from_utf8(set(vec![ed_jwk("a"), ec_jwk("b", false)])).unwrap();
        let store = JwksKeyStore::from_jwks_json(&body, &ALL).unwrap();
        assert_eq!(store.kids(), ["a", "b"]);
        assert_eq!(store.key("a").await.unwrap().kid, "a");
        assert!(matches!(store.key("c").await, Err(JwksError::UnknownKid)));
        assert_eq!(store.refresh().await.unwrap(), 2);
        assert_eq!(store.fetch_count(), 0);
        assert!(matches!(
            JwksKeyStore::from_jwks_json(r#"{"keys": []}"#, &ALL),
            Err(JwksError::InvalidSet(_))
        ));
    }
}
