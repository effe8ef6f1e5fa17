//! The per-request [`SecurityContext`]: who is calling, how they proved it, what they may do.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::error::AuthError;
use crate::permission_set::PermissionSet;
use tasker_permissions::Permission;

/// How the caller of a request was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A JWT bearer token, verified against a static key or a JWKS endpoint.
    Jwt {
        /// The token's `iss` claim.
        issuer: Arc<str>,
    },
    /// An API key from the configured registry.
    ApiKey {
        /// The key's configured `description` (never the key itself).
        description: Arc<str>,
    },
    /// Authentication is disabled: every request is let through with every permission.
    Disabled,
}

impl AuthMethod {
    /// A short lowercase name for logs and metrics: `jwt`, `api_key` or `disabled`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AuthMethod::Jwt { .. } => "jwt",
            AuthMethod::ApiKey { .. } => "api_key",
            AuthMethod::Disabled => "disabled",
        }
    }
}

/// Who is calling, how they were authenticated and which permissions they hold.
///
/// The authentication layer puts one in the request extensions of every protected route;
/// handlers take it as an extractor. It is cheap to clone.
///
/// # Example
///
/// ```
/// use tasker_auth::{Permission, SecurityContext};
///
/// let ctx = SecurityContext::disabled();
/// assert!(ctx.has(Permission::TasksCreate));
/// assert_eq!(ctx.subject(), "anonymous");
/// ```
#[derive(Clone, Debug)]
pub struct SecurityContext {
    subject: Arc<str>,
    method: AuthMethod,
    permissions: PermissionSet,
    expires_at: Option<SystemTime>,
}

impl SecurityContext {
    /// A context for an authenticated caller.
    pub fn new(
        subject: impl Into<Arc<str>>,
        method: AuthMethod,
        permissions: PermissionSet,
        expires_at: Option<SystemTime>,
    ) -> Self {
        SecurityContext {
            subject: subject.into(),
            method,
            permissions,
            expires_at,
        }
    }

    /// The context every request gets when authentication is disabled: subject `anonymous`,
    /// [`AuthMethod::Disabled`], every permission, no expiry.
    pub fn disabled() -> Self {
        SecurityContext::new("anonymous", AuthMethod::Disabled, PermissionSet::ALL, None)
    }

    /// The caller: a token's `sub`, or an API key's description.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// How the caller was authenticated.
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// Every permission the caller holds (wildcards already expanded).
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// When the credential stops being valid, if it says.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether the caller holds `permission`.
    #[inline]
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }
}

/// Reads the context the authentication layer left in the request extensions.
///
/// Without the layer there is no context, and the request fails closed with
/// [`AuthError::Misconfigured`] (500, logged), not with a 401 that would hide the mistake.
impl<S: Send + Sync> FromRequestParts<S> for SecurityContext {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<SecurityContext>() {
            Some(ctx) => Ok(ctx.clone()),
            None => Err(AuthError::misconfigured(parts.uri.path())),
        }
    }
}
