//! The peers tasker-auth is measured against, as routers that the load server
//! (`peer-server`) and the instruction counter (`peers-callgrind`) share:
//!
//! - `bare`: the route with no authentication at all;
//! - `from-fn`: a hand-written `axum::middleware::from_fn` calling `jsonwebtoken::decode`, the
//!   baseline anyone can write in twenty lines;
//! - `jwt-authorizer`: the jwt-authorizer crate's layer, on the axum 0.7 it is written for;
//! - `tasker-auth`: tasker-auth's own `AuthLayer` and `#[requires]` in this same minimal server,
//!   so that it is compared with the peers on equal terms (the orchestration example server does
//!   more per request than these: more routes, timeouts, body limits, metrics, JSON errors).
//!
//! Every variant serves one route, `GET /v1/analytics/performance`, answering the same small JSON
//! body as the orchestration example's route of that name, and the authenticating ones verify an
//! RS256 token's signature, `exp`, `iss` and `aud` (30 s leeway) and require the
//! `system:analytics_read` permission, as the example server does.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// The route every variant serves.
pub const PATH: &str = "/v1/analytics/performance";
/// The `iss` a token must carry (the example server's default).
pub const ISSUER: &str = "tasker-core";
/// The `aud` a token must carry (the example server's default).
pub const AUDIENCE: &str = "tasker-api";
/// Clock skew allowed on `exp` (the example server's default).
pub const LEEWAY_SECONDS: u64 = 30;
/// The permission the route requires.
pub const PERMISSION: &str = "system:analytics_read";

/// The claims the authenticating variants read from a token.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Who the token speaks for.
    pub sub: String,
    /// What it may do.
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl Claims {
    /// Whether the token grants the route's permission.
    pub fn allows_route(&self) -> bool {
        self.permissions.iter().any(|p| p == PERMISSION)
    }
}

/// The response body: the same fields and values as the orchestration example's
/// `GET /v1/analytics/performance` over its seeded store.
#[derive(Debug, Clone, Serialize)]
pub struct Performance {
    /// Tasks known.
    pub total_tasks: usize,
    /// Complete.
    pub completed_tasks: usize,
    /// In error.
    pub failed_tasks: usize,
    /// Pending or in progress.
    pub active_tasks: usize,
    /// completed / total.
    pub completion_rate: f64,
    /// failed / total.
    pub error_rate: f64,
    /// Mean step attempts.
    pub average_step_attempts: f64,
}

/// The body every variant answers with.
pub fn performance() -> Performance {
    Performance {
        total_tasks: 3,
        completed_tasks: 1,
        failed_tasks: 1,
        active_tasks: 1,
        completion_rate: 1.0 / 3.0,
        error_rate: 1.0 / 3.0,
        average_step_attempts: 1.0909090909090908,
    }
}

/// `jsonwebtoken`'s validation for the route's tokens: RS256 only, `exp`, `iss` and `aud`.
pub fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// The bare route: no authentication.
pub fn bare() -> axum::Router {
    axum::Router::new().route(
        PATH,
        axum::routing::get(|| async { axum::Json(performance()) }),
    )
}

/// The route behind tasker-auth's `AuthLayer` (a static RS256 public key, `iss`, `aud`, `exp`
/// with the same leeway, the verified-token cache at its default size), the permission checked
/// by `#[requires]`.
///
/// # Errors
/// tasker-auth refuses the configuration (the PEM is not a usable RSA public key).
pub fn tasker_auth(public_key_pem: &str) -> Result<axum::Router, tasker_auth::ConfigError> {
    let config = tasker_auth::AuthConfig {
        enabled: true,
        jwt_verification_method: tasker_auth::JwtVerificationMethod::PublicKey,
        jwt_public_key: public_key_pem.to_owned(),
        jwt_issuer: ISSUER.to_owned(),
        jwt_audience: AUDIENCE.to_owned(),
        jwt_allowed_algorithms: vec!["RS256".to_owned()],
        leeway_seconds: LEEWAY_SECONDS,
        ..tasker_auth::AuthConfig::default()
    };
    let security = tasker_auth::SecurityService::from_config(&config)?;
    let route = axum::routing::get(guarded_performance).route_layer(security.layer());
    Ok(axum::Router::new().route(PATH, route))
}

#[tasker_auth::requires(system:analytics_read)]
async fn guarded_performance() -> axum::Json<Performance> {
    axum::Json(performance())
}

/// What the `from_fn` middleware verifies with.
#[derive(Clone)]
struct Verifier {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

/// The route behind a hand-written `from_fn` middleware: `Authorization: Bearer`, then
/// `jsonwebtoken::decode` with a key parsed once, then the permission.
///
/// # Errors
/// The PEM is not an RSA public key.
pub fn from_fn(public_key_pem: &[u8]) -> Result<axum::Router, jsonwebtoken::errors::Error> {
    let verifier = Verifier {
        key: Arc::new(DecodingKey::from_rsa_pem(public_key_pem)?),
        validation: Arc::new(validation()),
    };
    let route = axum::routing::get(|| async { axum::Json(performance()) }).route_layer(
        axum::middleware::from_fn_with_state(verifier, verify_bearer),
    );
    Ok(axum::Router::new().route(PATH, route))
}

async fn verify_bearer(
    State(verifier): State<Verifier>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation) {
        Ok(data) if data.claims.allows_route() => {
            request.extensions_mut().insert(data.claims);
            next.run(request).await
        }
        Ok(_) => StatusCode::FORBIDDEN.into_response(),
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The route behind jwt-authorizer's layer (RS256 public key, `iss`, `aud`, `exp`), its handler
/// reading the claims with jwt-authorizer's `JwtClaims` extractor. An axum 0.7 router.
///
/// # Errors
/// jwt-authorizer refuses the key.
pub async fn jwt_authorizer(
    public_key_pem: &str,
) -> Result<axum07::Router, jwt_authorizer::error::InitError> {
    use jwt_authorizer::{IntoLayer, JwtAuthorizer, JwtClaims};
    let authorizer = JwtAuthorizer::<Claims>::from_rsa_pem_text(public_key_pem)
        .validation(
            jwt_authorizer::Validation::new()
                .iss(&[ISSUER])
                .aud(&[AUDIENCE])
                .leeway(LEEWAY_SECONDS),
        )
        .build()
        .await?;
    let handler = |JwtClaims(claims): JwtClaims<Claims>| async move {
        if claims.allows_route() {
            axum07::Json(performance()).into_07_response()
        } else {
            axum07::http::StatusCode::FORBIDDEN.into_07_response()
        }
    };
    Ok(axum07::Router::new()
        .route(PATH, axum07::routing::get(handler))
        .route_layer([authorizer].into_layer()))
}

/// `IntoResponse` of axum 0.7, named apart from axum 0.8's.
trait Into07Response {
    fn into_07_response(self) -> axum07::response::Response;
}

impl<T: axum07::response::IntoResponse> Into07Response for T {
    fn into_07_response(self) -> axum07::response::Response {
        axum07::response::IntoResponse::into_response(self)
    }
}

/// Polls a future that never waits (everything in the callgrind harness is in memory) to
/// completion, without an async runtime's cost in the figures.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
