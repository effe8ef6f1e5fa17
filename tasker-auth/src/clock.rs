//! The clock token times (`exp`, `nbf`, `iat`) are compared with: the system's, or one a test
//! sets by hand so that "expires exactly when" can be checked to the second.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from the system or from a [`ManualClock`].
#[derive(Clone, Debug, Default)]
pub(crate) enum Clock {
    #[default]
    System,
    Manual(ManualClock),
}

impl Clock {
    /// Now, in whole seconds since the Unix epoch (0 for a system clock set before 1970).
    #[inline]
    pub(crate) fn now(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Manual(clock) => clock.now(),
        }
    }
}

/// A clock that only moves when told to, shared by its clones. For tests: not public API.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock reading `secs` seconds since the Unix epoch.
    pub fn new(secs: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(secs)))
    }

    /// The time it reads, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the time, forwards or backwards.
    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Moves the time by `secs` (negative: backwards).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}
