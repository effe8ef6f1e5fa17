//! The crypto provider jsonwebtoken calls into.

use jsonwebtoken::crypto::CryptoProvider;

/// Makes sure jsonwebtoken has a crypto provider, so no jsonwebtoken call can panic for want of
/// one; `false` if none can be installed.
///
/// tasker-auth builds jsonwebtoken with `aws_lc_rs` only. If feature unification also enables
/// `rust_crypto` (another crate in the build asking for it), jsonwebtoken cannot choose and would
/// panic at its first use; we install aws-lc-rs explicitly instead, and callers fail with a clear
/// error if even that is impossible.
pub(crate) fn ensure_provider() -> bool {
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race with another installer is fine: any installed provider will do.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
    match CryptoProvider::try_get_default() {
        Some(p) if std::ptr::eq(p, &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER) => true,
        Some(_) => {
            tracing::warn!("jsonwebtoken uses a crypto provider installed by the application");
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_provider_is_available() {
        assert!(ensure_provider());
        assert!(CryptoProvider::try_get_default().is_some());
    }
}
