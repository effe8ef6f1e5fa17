//! What the request benches share: a trivial route with or without the auth layer, a request
//! carrying one credential header, and a runtime-free way to drive `oneshot`.

#[allow(dead_code)] // the benches that time in pairs use it
pub(crate) mod paired;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderName, HeaderValue, Request};
use tasker_auth::{ApiKeyConfig, AuthConfig, SecurityService};
use tower::ServiceExt;

/// Polls a future that never waits (everything here is in memory) to completion, without the
/// cost of an async runtime in the figures.
pub(crate) fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// `GET /v1/tasks` answering "ok", behind `security`'s layer when there is one.
pub(crate) fn router(security: Option<&SecurityService>) -> Router {
    let route = get(|| async { "ok" });
    let route = match security {
        Some(s) => route.route_layer(s.layer()),
        None => route,
    };
    Router::new().route("/v1/tasks", route)
}

/// `GET /v1/tasks` with one credential header.
pub(crate) fn request(name: &HeaderName, value: &HeaderValue) -> Request<Body> {
    Request::builder()
        .uri("/v1/tasks")
        .header(name, value.clone())
        .body(Body::empty())
        .unwrap()
}

/// One whole request through `app`, which must accept it.
pub(crate) fn oneshot(app: &Router, req: Request<Body>) {
    let response = run(app.clone().oneshot(req)).unwrap();
    assert!(response.status().is_success());
    black_box(response);
}

/// A service accepting `n` API keys (each with `tasks:list`), and the last
/// of them as a header value: a scan of the keys would reach it last.
#[allow(dead_code)] // not every bench measures API keys
pub(crate) fn api_key_service(n: usize) -> (SecurityService, HeaderValue) {
    let key = |i: usize| format!("bench-api-key-0123456789-{i:05}");
    let keys = (0..n)
        .map(|i| ApiKeyConfig {
            key: Some(key(i)),
            permissions: vec!["tasks:list".to_owned()],
            description: format!("bench-{i}"),
            ..Default::default()
        })
        .collect();
    let security = SecurityService::from_config(&AuthConfig {
        enabled: true,
        api_keys_enabled: true,
        api_keys: keys,
        ..AuthConfig::default()
    })
    .unwrap();
    (security, HeaderValue::from_str(&key(n - 1)).unwrap())
}
