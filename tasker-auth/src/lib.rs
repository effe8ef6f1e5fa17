//! Authentication and declarative, compile-time checked authorization for the Tasker HTTP APIs.
//!
//! A request passes through two gates:
//!
//! 1. the authentication layer turns its credentials (a JWT bearer token or an API key) into a
//!    [`SecurityContext`], or refuses it with a 401;
//! 2. each handler declares the permission it needs with `#[requires(resource:action)]`, checked
//!    against the vocabulary when the code is compiled and enforced before any other extractor
//!    runs, so a caller without the permission gets a 403 and the request body is never read.
//!
//! # Example
//!
//! ```
//! use axum::{Json, Router, routing::post};
//! use tasker_auth::{SecurityContext, requires};
//!
//! #[derive(serde::Deserialize)]
//! struct NewTask { name: String }
//!
//! #[requires(tasks:create)]
//! async fn create_task(ctx: SecurityContext, Json(task): Json<NewTask>) -> String {
//!     format!("{} created {}", ctx.subject(), task.name)
//! }
//!
//! let app: Router = Router::new().route("/v1/tasks", post(create_task));
//! ```
//!
//! # Guarding a handler
//!
//! `#[requires(resource:action)]` goes on an `async fn` handler, above `#[utoipa::path]` if the
//! handler has one. It adds a first extractor that checks the caller's [`SecurityContext`], so the
//! check runs before `Path`, `Query`, `Json`, `Form`, custom extractors and the body, and it adds
//! `x-required-permission`, the security requirements and the 401/403 responses to the OpenAPI
//! operation. [`authorize`] does the same for a handler at the router, and
//! [`require_permission`] checks a further permission inside a handler.
//!
//! Every mistake is a compile error pointing at the offending token. A misspelt permission:
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks:creat)] // error: unknown permission `tasks:creat`; did you mean `tasks:create`?
//! async fn create_task() {}
//! ```
//!
//! An action the resource does not have:
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks:delete)] // error: unknown action `delete` for resource `tasks`; expected one of: ...
//! async fn delete_task() {}
//! ```
//!
//! A resource, a wildcard or several permissions instead of one `resource:action`:
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks)] // error: missing action: write `#[requires(tasks:<action>)]` with one of: ...
//! async fn create_task() {}
//! ```
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks:read, tasks:context_read)] // error: unexpected tokens after `tasks:read` ...
//! async fn task_context() {}
//! ```
//!
//! A handler that is not `async`, or one guarded twice:
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks:create)] // error: `#[requires]` guards axum handlers, which are async
//! fn create_task() {}
//! ```
//!
//! ```compile_fail
//! # use tasker_auth::requires;
//! #[requires(tasks:read)]
//! #[requires(tasks:context_read)] // error: `#[requires]` is applied twice
//! async fn task_context() {}
//! ```
//!
//! `docs/permissions.md` lists every error with its fix.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | yes | `#[requires(resource:action)]` |
//! | `openapi` | no | utoipa schemas and security schemes for the generated OpenAPI document |
//! | `jwks` | no | verification against keys fetched from a JWKS endpoint |
//! | `keys` | no | key generation, JWK thumbprints and token minting |
//! | `client` | no | client-side credential resolution (implies `keys`) |
//! | `grpc` | no | [`grpc::GrpcAuthLayer`] for tonic servers and `#[grpc_service]`; with `client`, `client::GrpcCredentialsLayer` for tonic channels |

mod api_key;
mod authorize;
#[cfg(feature = "client")]
pub mod client;
mod clock;
mod config;
mod context;
mod crypto;
mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(all(feature = "grpc", feature = "client"))]
mod grpc_client;
#[cfg(feature = "jwks")]
mod jwks;
mod jwt;
mod key_type;
#[cfg(feature = "keys")]
pub mod keys;
mod layer;
#[cfg(feature = "openapi")]
pub mod openapi;
mod permission_set;
mod protocol;
mod service;
mod token_cache;

pub use api_key::hash_api_key;
pub use authorize::{
    Authorized, AuthorizedFuture, UnknownPermissionPair, authorize, require_permission,
    try_authorize,
};
pub use config::{
    ApiKeyConfig, AuthConfig, ConfigError, DEFAULT_GRPC_BIND_ADDRESS, DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER, GrpcConfig, JwtVerificationMethod, TaskerConfig, WebConfig, redact_url,
};
pub use context::{AuthMethod, SecurityContext};
pub use error::{
    AuthError, ErrorBody, ErrorDetail, FAILURE_REASON_HEADER, FailureReason, InvalidReason,
};
#[cfg(feature = "jwks")]
pub use jwks::{JwksError, JwksKey, JwksKeyStore, JwksSettings};
pub use layer::{AuthLayer, AuthMiddleware, ResponseFuture};
pub use permission_set::{ParsedGrants, PermissionSet, Role, UnknownRole};
pub use service::SecurityService;
pub use tasker_permissions::{Action, Permission, Resource, UnknownPermission};

/// Declares the permission of every method of a tonic service `impl` block; see
/// [`grpc`](crate::grpc).
#[cfg(all(feature = "macros", feature = "grpc"))]
pub use tasker_auth_macros::grpc_service;
/// Guards an async axum handler with one permission, checked at compile time and enforced before
/// any other extractor runs; see [the crate documentation](crate#guarding-a-handler).
#[cfg(feature = "macros")]
pub use tasker_auth_macros::requires;

/// Items the `#[requires]` expansion names. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::authorize::Require;
    pub use crate::clock::ManualClock;
    pub use crate::token_cache::TokenCacheStats;

    /// [`SecurityService::from_config`](crate::SecurityService::from_config) with token times
    /// read from `clock`, so that tests can move time to the second.
    pub fn service_with_clock(
        cfg: &crate::config::AuthConfig,
        clock: ManualClock,
    ) -> Result<crate::service::SecurityService, crate::config::ConfigError> {
        crate::service::SecurityService::with_clock(cfg, crate::clock::Clock::Manual(clock))
    }

    /// [`SecurityService::from_config_with_key_store`](crate::SecurityService::from_config_with_key_store)
    /// with token times read from `clock`.
    #[cfg(feature = "jwks")]
    pub fn service_with_key_store_and_clock(
        cfg: &crate::config::AuthConfig,
        store: crate::jwks::JwksKeyStore,
        clock: ManualClock,
    ) -> Result<crate::service::SecurityService, crate::config::ConfigError> {
        crate::service::SecurityService::with_key_store_and_clock(
            cfg,
            store,
            crate::clock::Clock::Manual(clock),
        )
    }

    /// With the `openapi` feature, the handler whose `#[utoipa::path]` `#[requires]` completed.
    #[cfg(feature = "openapi")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __tasker_auth_if_openapi {
        ({ $($documented:tt)* } { $($undocumented:tt)* }) => { $($documented)* };
    }

    /// Without the `openapi` feature, the completed `#[utoipa::path]` would name
    /// `tasker_auth::ErrorBody`, which is then no schema: keep the user's attribute as written and
    /// explain, in one error, which feature is missing.
    #[cfg(not(feature = "openapi"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __tasker_auth_if_openapi {
        ({ $($documented:tt)* } { $($undocumented:tt)* }) => {
            ::core::compile_error!(
                "`#[requires]` documents this handler's `#[utoipa::path]` with `tasker_auth::ErrorBody`, \
                 which needs the `openapi` feature: tasker-auth = { features = [\"openapi\"] }"
            );
            $($undocumented)*
        };
    }

    pub use crate::__tasker_auth_if_openapi as if_openapi;
}
