//! The authentication middleware: [`AuthLayer`], its service [`AuthMiddleware`] and its
//! [`ResponseFuture`].
//!
//! Apply it with `route_layer` on each protected [`MethodRouter`](axum::routing::MethodRouter),
//! so that it runs only for requests that match a route and a method: unknown paths stay 404 and
//! wrong methods 405, without asking for credentials. ([`Router::route_layer`](axum::Router::route_layer)
//! keeps 404s too, but in axum 0.8 it also wraps each path's 405 fallback, so a wrong method
//! without credentials would get a 401.) Public routes (health, metrics, docs) are added without
//! it and never see it.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use tasker_auth::{SecurityContext, SecurityService, requires};
//!
//! #[requires(tasks:list)]
//! async fn list_tasks(ctx: SecurityContext) -> String {
//!     format!("tasks for {}", ctx.subject())
//! }
//!
//! let security = SecurityService::disabled();
//! let app: Router = Router::new()
//!     .route("/v1/tasks", get(list_tasks).route_layer(security.layer()))
//!     .route("/health", get(|| async { "ok" }));
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use axum::response::{IntoResponse, Response};
use http::Request;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::protocol::Protocol;
use crate::service::{Outcome, SecurityService};

/// Authenticates every request of the routes it wraps and puts the caller's
/// [`SecurityContext`](crate::SecurityContext) in the request extensions; refuses the others
/// with a 401.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    security: SecurityService,
}

impl AuthLayer {
    /// A layer authenticating with `security`.
    pub fn new(security: SecurityService) -> Self {
        AuthLayer { security }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthMiddleware {
            inner,
            security: self.security.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthMiddleware<S> {
    inner: S,
    security: SecurityService,
}

impl<S> AuthMiddleware<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, security: SecurityService) -> Self {
        AuthMiddleware { inner, security }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service, dropping the authentication.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The [`SecurityService`] requests are authenticated with.
    pub fn security(&self) -> &SecurityService {
        &self.security
    }
}

impl<S, B> Service<Request<B>> for AuthMiddleware<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let outcome = {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            self.security
                .authenticate_now(req.headers(), route, Protocol::Http)
        };
        match outcome {
            Outcome::Done(Ok(ctx)) => {
                req.extensions_mut().insert(ctx);
                ResponseFuture::inner(self.inner.call(req))
            }
            Outcome::Done(Err(e)) => ResponseFuture::response(e.into_response()),
            Outcome::NeedsKeyStore => {
                // `poll_ready` was called on `self.inner`: keep that instance for this call.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let security = self.security.clone();
                ResponseFuture::boxed(Box::pin(async move {
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|p| p.as_str().to_owned());
                    let result = security
                        .authenticate_with_key_store(
                            req.headers(),
                            route.as_deref(),
                            Protocol::Http,
                        )
                        .await;
                    match result {
                        Ok(ctx) => {
                            req.extensions_mut().insert(ctx);
                            inner.call(req).await
                        }
                        Err(e) => Ok(e.into_response()),
                    }
                }))
            }
        }
    }
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project! {
    /// The future of [`AuthMiddleware`]: the inner service's future, an immediate refusal, or
    /// (JWKS only) a boxed future that first waits for the key.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Response { response: Option<Response> },
        Boxed { future: BoxedResponse },
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    fn response(response: Response) -> Self {
        ResponseFuture {
            kind: Kind::Response {
                response: Some(response),
            },
        }
    }

    fn boxed(future: BoxedResponse) -> Self {
        ResponseFuture {
            kind: Kind::Boxed { future },
        }
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Response { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| http::StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
            KindProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Response { .. } => "response",
            Kind::Boxed { .. } => "boxed",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middleware_gives_access_to_the_inner_service() {
        let layer = AuthLayer::new(SecurityService::disabled());
        let mut middleware = layer.layer(7_u32);
        assert_eq!(*middleware.get_ref(), 7);
        *middleware.get_mut() += 1;
        assert!(!middleware.security().is_enabled());
        assert_eq!(middleware.into_inner(), 8);
    }
}
