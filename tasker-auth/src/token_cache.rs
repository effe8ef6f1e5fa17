//! The verified-token cache: a bearer token whose signature held once skips the signature check
//! the next times it arrives (a worker polling the API sends the same token thousands of times).
//!
//! It must be invisible to callers: with the cache on or off, every request gets the same
//! decision at the same instant. So an entry is only a shortcut past what cannot change for a
//! given token and configuration (its shape, header, signature and the claims checked against
//! configuration), and everything that can change is checked again on every hit:
//!
//! - time: `nbf`, `iat` and `exp` (with the leeway) against the current clock, in the order and
//!   with the errors of the full check;
//! - the key: a token verified with a JWK-set key is served from the cache only while the store
//!   still hands out that very key for its `kid` (the same `Arc`): a refreshed set, a removed key
//!   or a set gone stale sends the token down the full path, which decides as it always does.
//!   A static key cannot change under a running service; a new configuration is a new
//!   [`SecurityService`](crate::SecurityService) with a new, empty cache.
//!
//! Failures are never cached, nor are tokens whose `nbf` or `iat` lies ahead of the clock. The
//! entries are keyed by the whole token and found by exact comparison, so no two tokens can
//! share an entry. The map hashes the token with SipHash under a key drawn at random per
//! process (std's `RandomState`), so callers cannot steer tokens into one bucket; that hash is
//! most of what a hit costs (about 2 instructions per byte), where a SHA-256 of the token cost
//! 11 times more. Their number is bounded by `jwt_cache_max_entries` (quick_cache's S3-FIFO eviction),
//! whatever callers send.

use std::fmt;
use std::hash::RandomState;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{Lifecycle, UnitWeighter};

use crate::context::SecurityContext;
use crate::error::AuthError;
use crate::jwt::{TimeClaims, Verified};

/// The largest `jwt_cache_max_entries` accepted: about 1.3 GB of entries with 1 KB tokens.
pub(crate) const MAX_ENTRIES_LIMIT: u64 = 1_000_000;

/// The cache key: the token itself.
type TokenKey = Box<str>;

/// The key a cached token was verified with.
#[derive(Debug)]
pub(crate) enum VerifiedBy {
    /// The service's static key, fixed for its lifetime.
    StaticKey,
    /// A key of the JWK set: the entry holds only while the store returns this same key.
    #[cfg(feature = "jwks")]
    Jwk(Arc<crate::jwks::JwksKey>),
}

/// What a hit needs to decide as the full check would.
#[derive(Debug)]
pub(crate) struct CachedToken {
    pub(crate) context: SecurityContext,
    pub(crate) times: TimeClaims,
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) verified_by: VerifiedBy,
}

impl CachedToken {
    /// The decision the full check would make at `now`, for a token that verified before.
    #[inline]
    pub(crate) fn decide(&self, leeway: u64, now: i64) -> Result<SecurityContext, AuthError> {
        self.times.check_started(leeway, now)?;
        self.times.check_not_expired(leeway, now)?;
        Ok(self.context.clone())
    }
}

/// Bounded, concurrent map from token to verified token, with hit/miss/eviction counts.
pub(crate) struct TokenCache {
    entries: Cache<TokenKey, Arc<CachedToken>, UnitWeighter, RandomState, CountEvictions>,
    max_entries: u64,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

/// Counts what quick_cache evicts to stay within the bound.
#[derive(Clone)]
struct CountEvictions(Arc<Stats>);

impl Lifecycle<TokenKey, Arc<CachedToken>> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: TokenKey, _value: Arc<CachedToken>) {
        self.0.evictions.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tasker_auth_token_cache_evictions_total").increment(1);
    }
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens, or `None` for 0 (caching disabled).
    pub(crate) fn new(max_entries: u64) -> Option<Self> {
        if max_entries == 0 {
            return None;
        }
        let stats = Arc::new(Stats::default());
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(max_entries).unwrap_or(usize::MAX))
            .weight_capacity(max_entries)
            .build()
            .ok()?;
        let entries = Cache::with_options(
            options,
            UnitWeighter,
            RandomState::new(),
            CountEvictions(Arc::clone(&stats)),
        );
        Some(TokenCache {
            entries,
            max_entries,
            stats,
        })
    }

    /// The entry for `token`, if any (neither counted nor checked: see [`CachedToken::decide`]).
    #[inline]
    pub(crate) fn get(&self, token: &str) -> Option<Arc<CachedToken>> {
        self.entries.get(token)
    }

    /// Counts a request answered from the cache.
    #[inline]
    pub(crate) fn record_hit(&self) {
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tasker_auth_token_cache_hits_total").increment(1);
    }

    /// Counts a bearer token that had to be verified in full.
    #[inline]
    pub(crate) fn record_miss(&self) {
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tasker_auth_token_cache_misses_total").increment(1);
    }

    /// Drops an entry whose key no longer holds.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn remove(&self, token: &str) {
        self.entries.remove(token);
    }

    /// Keeps a token that just verified, unless it only becomes valid later (`nbf` or `iat`
    /// ahead of `now`): such a token is rare and short-lived in that state, and not caching it
    /// keeps the entries to tokens already in force.
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: &Verified,
        verified_by: VerifiedBy,
        now: i64,
    ) {
        if verified.times.starts_after(now) {
            return;
        }
        let entry = CachedToken {
            context: verified.context.clone(),
            times: verified.times,
            verified_by,
        };
        self.entries.insert(Box::from(token), Arc::new(entry));
    }

    /// Counts and size, for tests and diagnostics.
    pub(crate) fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            entries: self.entries.len() as u64,
            max_entries: self.max_entries,
            hits: self.stats.hits.load(Ordering::Relaxed),
            misses: self.stats.misses.load(Ordering::Relaxed),
            evictions: self.stats.evictions.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

/// A snapshot of a service's verified-token cache. For tests: not public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Tokens held now.
    pub entries: u64,
    /// `jwt_cache_max_entries`.
    pub max_entries: u64,
    /// Requests answered from the cache.
    pub hits: u64,
    /// Bearer tokens verified in full while the cache was on.
    pub misses: u64,
    /// Entries dropped to stay within the bound.
    pub evictions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::AuthMethod;
    use crate::error::FailureReason;
    use crate::permission_set::PermissionSet;

    fn verified(exp: i64, nbf: Option<i64>, iat: Option<i64>) -> Verified {
        Verified {
            context: SecurityContext::new(
                Arc::from("sub"),
                AuthMethod::Jwt {
                    issuer: Arc::from("iss"),
                },
                PermissionSet::EMPTY,
                None,
            ),
            times: TimeClaims { exp, nbf, iat },
        }
    }

    #[test]
    fn zero_entries_disables_the_cache() {
        assert!(TokenCache::new(0).is_none());
        assert_eq!(TokenCache::new(5).unwrap().stats().max_entries, 5);
    }

    #[test]
    fn token_not_yet_in_force_is_not_kept() {
        let cache = TokenCache::new(8).unwrap();
        let (a, b, c) = ("a", "b", "c");
        cache.insert(
            a,
            &verified(200, Some(101), None),
            VerifiedBy::StaticKey,
            100,
        );
        cache.insert(
            b,
            &verified(200, None, Some(101)),
            VerifiedBy::StaticKey,
            100,
        );
        cache.insert(
            c,
            &verified(200, Some(100), Some(100)),
            VerifiedBy::StaticKey,
            100,
        );
        assert!(cache.get(a).is_none());
        assert!(cache.get(b).is_none());
        assert!(cache.get(c).is_some());
    }

    #[test]
    fn tokens_differing_in_one_byte_never_share_an_entry() {
        let cache = TokenCache::new(8).unwrap();
        cache.insert(
            "header.payload.sig",
            &verified(200, None, None),
            VerifiedBy::StaticKey,
            100,
        );
        assert!(cache.get("header.payload.sig").is_some());
        for other in [
            "header.payload.siG",
            "header.payload.si",
            "header.payload.sig.",
            "",
        ] {
            assert!(cache.get(other).is_none(), "{other:?} found an entry");
        }
        cache.remove("header.payload.sig");
        assert!(cache.get("header.payload.sig").is_none());
    }

    #[test]
    fn hit_is_refused_past_exp_plus_leeway_and_before_nbf_minus_leeway() {
        let entry = CachedToken {
            context: verified(200, Some(100), None).context,
            times: TimeClaims {
                exp: 200,
                nbf: Some(100),
                iat: None,
            },
            verified_by: VerifiedBy::StaticKey,
        };
        assert!(entry.decide(10, 210).is_ok());
        assert_eq!(
            entry.decide(10, 211).unwrap_err().reason(),
            FailureReason::Expired
        );
        assert!(entry.decide(10, 90).is_ok());
        assert_eq!(
            entry.decide(10, 89).unwrap_err().reason(),
            FailureReason::Invalid
        );
    }
}
