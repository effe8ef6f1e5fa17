//! Authorization: the permission check that runs before a handler's extractors, for
//! `#[requires(...)]`, [`authorize`] and [`require_permission`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use pin_project_lite::pin_project;

use crate::context::SecurityContext;
use crate::error::AuthError;
use crate::protocol::Protocol;
use tasker_permissions::{Action, Permission, Resource};

/// Checks that `ctx` holds `permission`; a denial is logged and counted, and becomes a 403.
///
/// Use it for checks that depend on the request itself, inside a handler:
///
/// ```
/// use tasker_auth::{require_permission, AuthError, Permission, SecurityContext};
///
/// fn show_context(ctx: &SecurityContext) -> Result<(), AuthError> {
///     require_permission(ctx, Permission::TasksContextRead)?;
///     Ok(())
/// }
/// assert!(show_context(&SecurityContext::disabled()).is_ok());
/// ```
pub fn require_permission(ctx: &SecurityContext, permission: Permission) -> Result<(), AuthError> {
    if ctx.has(permission) {
        return Ok(());
    }
    deny(ctx, permission, None, Protocol::Http)
}

#[cfg(feature = "grpc")]
/// [`require_permission`] for a call of `protocol` to `route`, counted and logged as such.
pub(crate) fn require_permission_for(
    ctx: &SecurityContext,
    permission: Permission,
    route: Option<&str>,
    protocol: Protocol,
) -> Result<(), AuthError> {
    if ctx.has(permission) {
        return Ok(());
    }
    deny(ctx, permission, route, protocol)
}

#[cold]
fn deny(
    ctx: &SecurityContext,
    permission: Permission,
    route: Option<&str>,
    protocol: Protocol,
) -> Result<(), AuthError> {
    tracing::info!(
        subject = ctx.subject(),
        method = ctx.method().as_str(),
        permission = permission.as_str(),
        route,
        "permission denied"
    );
    metrics::counter!(
        "tasker_permission_denials_total",
        "permission" => permission.as_str(),
        "protocol" => protocol.as_str()
    )
    .increment(1);
    Err(AuthError::Forbidden {
        required: permission,
    })
}

/// The check itself, on a request's parts: a context must be there (else the server is
/// misconfigured) and must hold the permission.
#[inline]
pub(crate) fn check_parts(parts: &Parts, permission: Permission) -> Result<(), AuthError> {
    match parts.extensions.get::<SecurityContext>() {
        Some(ctx) if ctx.has(permission) => Ok(()),
        Some(ctx) => deny(ctx, permission, Some(parts.uri.path()), Protocol::Http),
        None => Err(AuthError::misconfigured(parts.uri.path())),
    }
}

/// The extractor `#[requires(...)]` puts first in a handler's arguments. Axum runs
/// `FromRequestParts` extractors in order and the body extractor last, so this check runs before
/// any other extractor and before the body is polled.
///
/// `P` is a [`Permission::index`]; the macro writes it as `Permission::X as u8` so that rustc
/// checks the variant name too.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Require<const P: u8>;

impl<S: Send + Sync, const P: u8> FromRequestParts<S> for Require<P> {
    type Rejection = AuthError;

    #[inline]
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Permission::from_index(P) {
            Some(permission) => check_parts(parts, permission).map(|()| Require),
            None => Err(AuthError::misconfigured(parts.uri.path())),
        }
    }
}

/// A pair of resource and action that names no permission, such as `tasks` + `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("there is no permission `{resource}:{action}`")]
pub struct UnknownPermissionPair {
    /// The resource.
    pub resource: Resource,
    /// The action.
    pub action: Action,
}

/// Wraps `handler` so that the caller must hold the permission of `resource` + `action` before
/// any of the handler's extractors run: the router-level twin of `#[requires(...)]`, with the
/// same responses.
///
/// # Panics
///
/// When the pair names no permission (`Tasks` + `Delete`). That happens while the router is
/// built, at start-up, never while serving; use [`try_authorize`] to handle it as an error.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::delete};
/// use tasker_auth::{Action, Resource, authorize};
///
/// async fn cancel_task() -> &'static str { "cancelled" }
///
/// let app: Router = Router::new()
///     .route("/v1/tasks/{uuid}", delete(authorize(Resource::Tasks, Action::Cancel, cancel_task)));
/// ```
pub fn authorize<H>(resource: Resource, action: Action, handler: H) -> Authorized<H> {
    match try_authorize(resource, action, handler) {
        Ok(authorized) => authorized,
        Err(e) => panic!("authorize(): {e}; see docs/permissions.md for the vocabulary"),
    }
}

/// Like [`authorize`], but returns an error for a pair that names no permission.
pub fn try_authorize<H>(
    resource: Resource,
    action: Action,
    handler: H,
) -> Result<Authorized<H>, UnknownPermissionPair> {
    match Permission::from_parts(resource, action) {
        Some(permission) => Ok(Authorized::new(permission, handler)),
        None => Err(UnknownPermissionPair { resource, action }),
    }
}

/// A handler guarded by a permission; made by [`authorize`].
#[derive(Debug, Clone)]
pub struct Authorized<H> {
    permission: Permission,
    inner: H,
}

impl<H> Authorized<H> {
    /// Guards `handler` with `permission`.
    pub fn new(permission: Permission, handler: H) -> Self {
        Authorized {
            permission,
            inner: handler,
        }
    }

    /// The permission the handler requires.
    pub fn permission(&self) -> Permission {
        self.permission
    }
}

// Without this, rustc offers `Authorized<H>` as a fix whenever some handler does not implement
// `Handler`, although the problem is almost always an argument that is not an extractor.
#[diagnostic::do_not_recommend]
impl<H, T, S> Handler<T, S> for Authorized<H>
where
    H: Handler<T, S>,
    S: Send + 'static,
{
    type Future = AuthorizedFuture<H::Future>;

    fn call(self, req: Request, state: S) -> Self::Future {
        let (parts, body) = req.into_parts();
        match check_parts(&parts, self.permission) {
            Ok(()) => AuthorizedFuture::Allowed {
                inner: self.inner.call(Request::from_parts(parts, body), state),
            },
            Err(e) => AuthorizedFuture::Denied {
                response: Some(e.into_response()),
            },
        }
    }
}

pin_project! {
    /// The future of an [`Authorized`] handler: the refusal, ready at once, or the handler's own
    /// future. No allocation either way.
    #[project = AuthorizedFutureProj]
    #[allow(missing_docs)] // the variants are private in all but name
    pub enum AuthorizedFuture<F> {
        #[doc(hidden)]
        Denied { response: Option<Response> },
        #[doc(hidden)]
        Allowed { #[pin] inner: F },
    }
}

impl<F> fmt::Debug for AuthorizedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthorizedFuture::Denied { .. } => "AuthorizedFuture::Denied",
            AuthorizedFuture::Allowed { .. } => "AuthorizedFuture::Allowed",
        })
    }
}

impl<F: Future<Output = Response>> Future for AuthorizedFuture<F> {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            AuthorizedFutureProj::Allowed { inner } => inner.poll(cx),
            // Polled again after completion (a caller bug): answer with the fail-closed 500
            // rather than panic.
            AuthorizedFutureProj::Denied { response } => Poll::Ready(
                response
                    .take()
                    .unwrap_or_else(|| AuthError::Misconfigured.into_response()),
            ),
        }
    }
}
