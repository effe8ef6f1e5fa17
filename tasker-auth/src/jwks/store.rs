//! The key cache: [`JwksKeyStore`], its freshness rules and the background refresh.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;

use super::fetch::{FetchError, Remote, validate_settings};
use super::parse::parse_set;
use super::{JwksError, JwksKey, JwksSettings};
use crate::config::redact_url;

/// Caches the keys of a JWKS endpoint and keeps them fresh.
///
/// Cloning is cheap and shares the cache; the background refresh stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct JwksKeyStore {
    pub(super) inner: Arc<Inner>,
    _refresher: Option<Arc<RefreshTask>>,
}

impl fmt::Debug for JwksKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("JwksKeyStore");
        match &self.inner.source {
            Source::Remote(remote) => {
                if remote.settings.discovery_issuer.is_some() {
                    let jwks_uri = remote
                        .discovered
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .as_ref()
                        .map(|url| redact_url(url.as_str()));
                    d.field("discovery_url", &remote.display_url)
                        .field("jwks_uri", &jwks_uri)
                } else {
                    d.field("url", &remote.display_url)
                }
            }
            Source::Static => d.field("url", &"(static set)"),
        };
        d.field("keys", &self.inner.read().keys.len())
            .finish_non_exhaustive()
    }
}

/// Aborts the background refresh when the last store clone goes away.
pub(super) struct RefreshTask(tokio::task::AbortHandle);

impl Drop for RefreshTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) struct Inner {
    pub(super) source: Source,
    pub(super) allowed_algorithms: Vec<Algorithm>,
    pub(super) state: RwLock<State>,
}

pub(super) enum Source {
    Remote(Box<Remote>),
    Static,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) keys: HashMap<String, Arc<JwksKey>>,
    pub(super) last_success: Option<Instant>,
    pub(super) last_fetch_started: Option<Instant>,
    /// A fetch is running (it holds the fetch lock).
    pub(super) fetching: bool,
    pub(super) last_fetch_finished: Option<Instant>,
    pub(super) consecutive_failures: u32,
    /// Fetches finished (successfully or not): tells a waiter whether one completed meanwhile.
    pub(super) completed_fetches: u64,
}

/// The longest delay between two retries after failed fetches.
pub(super) const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// The shortest one, so that a zero `min_refresh_interval` cannot spin.
pub(super) const MIN_RETRY_DELAY: Duration = Duration::from_millis(10);

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
                discovered: std::sync::Mutex::new(None),
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

    /// The key for `kid` if the store holds it and may serve it now, without fetching: what
    /// [`key`](Self::key) returns at once. The verified-token cache compares it with the key a
    /// token was verified with.
    pub(crate) fn current_key(&self, kid: &str) -> Option<Arc<JwksKey>> {
        match self.inner.lookup(kid) {
            Lookup::Found(key) => Some(key),
            Lookup::Miss { .. } => None,
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

pub(super) enum Lookup {
    Found(Arc<JwksKey>),
    Miss {
        completed_fetches: u64,
        /// A fetch is running, or the cooldown allows one.
        worth_waiting: bool,
    },
}

impl Inner {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, State> {
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
        let result = remote.fetch_set(&self.allowed_algorithms).await;
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

/// The background refresh: periodic, and retrying failed fetches with backoff. Holds only a weak
/// reference while it sleeps, and is aborted when the last store is dropped.
pub(super) async fn refresh_loop(inner: Weak<Inner>) {
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
pub(super) fn retry_delay(settings: &JwksSettings, failures: u32) -> Duration {
    let base = settings.min_refresh_interval.max(MIN_RETRY_DELAY);
    let cap = settings.refresh_interval.min(MAX_RETRY_DELAY).max(base);
    let factor = 1u32 << failures.saturating_sub(1).min(20);
    base.saturating_mul(factor).min(cap)
}
