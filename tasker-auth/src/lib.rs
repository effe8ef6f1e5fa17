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
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | yes | `#[requires(resource:action)]` |
//! | `openapi` | no | utoipa schemas and security schemes for the generated OpenAPI document |
//! | `jwks` | no | verification against keys fetched from a JWKS endpoint |
//! | `keys` | no | key generation, JWK thumbprints and token minting |
//! | `client` | no | client-side credential resolution (implies `keys`) |

mod api_key;
mod authorize;
mod config;
mod context;
mod error;
#[cfg(feature = "jwks")]
mod jwks;
mod jwt;
#[cfg(feature = "keys")]
pub mod keys;
mod layer;
#[cfg(feature = "openapi")]
pub mod openapi;
mod permission_set;
mod service;

pub use api_key::{ApiKeyRegistry, MIN_API_KEY_LEN, hash_api_key};
pub use authorize::{
    Authorized, UnknownPermissionPair, authorize, require_permission, try_authorize,
};
pub use config::{
    ApiKeyConfig, AuthConfig, ConfigError, JwtVerificationMethod, REDACTED, TaskerConfig, WebConfig,
};
pub use context::{AuthMethod, SecurityContext};
pub use error::{AuthError, ErrorBody, ErrorDetail, FAILURE_REASON_HEADER, FailureReason};
#[cfg(feature = "jwks")]
pub use jwks::{JwksError, JwksKey, JwksKeyStore, JwksSettings};
pub use jwt::MAX_CREDENTIAL_BYTES;
pub use layer::{AuthLayer, AuthMiddleware, ResponseFuture};
pub use permission_set::{ParsedGrants, PermissionSet, Role, UnknownRole};
pub use service::SecurityService;
pub use tasker_permissions::{Action, Permission, Resource, UnknownPermission};

#[cfg(feature = "macros")]
pub use tasker_auth_macros::requires;

/// Items the `#[requires]` expansion names. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::authorize::Require;

    /// Expands to nothing with the `openapi` feature; without it, to an error explaining that a
    /// `#[requires]` handler documented with `#[utoipa::path]` needs the feature.
    #[cfg(feature = "openapi")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __tasker_auth_openapi_feature_required {
        () => {};
    }

    /// Expands to nothing with the `openapi` feature; without it, to an error explaining that a
    /// `#[requires]` handler documented with `#[utoipa::path]` needs the feature.
    #[cfg(not(feature = "openapi"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __tasker_auth_openapi_feature_required {
        () => {
            ::core::compile_error!(
                "`#[requires]` documents this handler's `#[utoipa::path]` with `tasker_auth::ErrorBody`, \
                 which needs the `openapi` feature: tasker-auth = { features = [\"openapi\"] }"
            );
        };
    }

    pub use crate::__tasker_auth_openapi_feature_required as openapi_feature_required;
}
