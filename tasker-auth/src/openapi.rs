//! OpenAPI support (feature `openapi`): security schemes, and [`ProtectedRoutes`], which builds
//! the protected part of an API so that a route without a permission cannot be shipped.
//!
//! `#[requires(...)]` writes the permission into the handler's `#[utoipa::path]` operation
//! (`x-required-permission`, the `bearer_auth`/`api_key_auth` requirements, 401 and 403
//! responses); [`ProtectedRoutes`] only accepts handlers through `utoipa_axum::routes!`, refuses
//! any operation without `x-required-permission` when it is built, and puts the authentication
//! layer in front of every route it holds. One annotation drives the router, the check and the
//! document.
//!
//! # Example
//!
//! ```
//! use axum::Json;
//! use tasker_auth::openapi::ProtectedRoutes;
//! use tasker_auth::{SecurityService, requires};
//! use utoipa_axum::routes;
//!
//! #[requires(tasks:list)]
//! #[utoipa::path(get, path = "/v1/tasks", responses((status = 200, body = Vec<String>)))]
//! async fn list_tasks() -> Json<Vec<String>> {
//!     Json(vec![])
//! }
//!
//! async fn unguarded() -> &'static str { "oops" }
//!
//! let security = SecurityService::disabled(); // in a server: SecurityService::from_config(..)
//! let (_router, api) = ProtectedRoutes::<()>::new(&security)
//!     .routes(routes!(list_tasks))
//!     .build()
//!     .unwrap();
//! let op = api.paths.paths["/v1/tasks"].get.as_ref().unwrap();
//! assert_eq!(op.extensions.as_ref().unwrap()["x-required-permission"], "tasks:list");
//!
//! #[utoipa::path(get, path = "/oops", responses((status = 200)))]
//! async fn oops() -> &'static str { "oops" }
//! let Err(err) = ProtectedRoutes::<()>::new(&security).routes(routes!(oops)).build() else {
//!     panic!("a handler without #[requires] cannot be built into the protected router");
//! };
//! assert_eq!(
//!     err.to_string(),
//!     "GET /oops is a protected route without a permission: annotate its handler with \
//!      #[requires(resource:action)], written above #[utoipa::path] (below it, the permission \
//!      never reaches the document)",
//! );
//!
//! // Below `#[utoipa::path]`, which has expanded by then, `#[requires]` cannot reach the
//! // document: the handler is guarded but its operation has no permission, and is refused too.
//! #[utoipa::path(get, path = "/late", responses((status = 200)))]
//! #[requires(tasks:read)]
//! async fn late() -> &'static str { "late" }
//! let Err(err) = ProtectedRoutes::<()>::new(&security).routes(routes!(late)).build() else {
//!     panic!("an operation whose permission is missing from the document cannot be built");
//! };
//! assert!(err.to_string().starts_with("GET /late is a protected route without a permission"));
//! # let _ = unguarded;
//! ```

use std::fmt;

use axum::Router;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::{AuthLayer, Permission, SecurityService};

/// The name of the OpenAPI extension that carries an operation's permission.
pub const REQUIRED_PERMISSION_EXTENSION: &str = "x-required-permission";
/// The name of the bearer-token security scheme.
pub const BEARER_SCHEME: &str = "bearer_auth";
/// The name of the API-key security scheme.
pub const API_KEY_SCHEME: &str = "api_key_auth";

/// Registers the `bearer_auth` (HTTP bearer, JWT) and `api_key_auth` (API key in the header named
/// `api_key_header`) security schemes in `openapi`.
pub fn add_security_schemes(openapi: &mut OpenApi, api_key_header: &str) {
    let components = openapi.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("A JWT signed by the configured key or JWKS endpoint"))
                .build(),
        ),
    );
    components.add_security_scheme(
        API_KEY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            api_key_header,
            "An API key from the server's configuration",
        ))),
    );
}

/// Every operation of `openapi`, with its method, path and `x-required-permission` (if any and
/// if it names a permission of the vocabulary).
pub fn operations(openapi: &OpenApi) -> Vec<DocumentedOperation> {
    let mut out = Vec::new();
    for (path, item) in &openapi.paths.paths {
        for (method, op) in item_operations(item) {
            out.push(DocumentedOperation {
                method,
                path: path.clone(),
                permission: required_permission(op),
            });
        }
    }
    out
}

/// One operation of an OpenAPI document, as [`operations`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentedOperation {
    /// The HTTP method, uppercase (`GET`).
    pub method: &'static str,
    /// The path template (`/v1/tasks/{uuid}`).
    pub path: String,
    /// The permission of its `x-required-permission`, if present and valid.
    pub permission: Option<Permission>,
}

/// The permission an operation's `x-required-permission` names, if present and valid.
pub fn required_permission(op: &Operation) -> Option<Permission> {
    op.extensions
        .as_ref()?
        .get(REQUIRED_PERMISSION_EXTENSION)?
        .as_str()?
        .parse()
        .ok()
}

fn item_operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("HEAD", &item.head),
        ("PATCH", &item.patch),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
}

/// A protected operation that carries no permission: building [`ProtectedRoutes`] fails with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{method} {path} is a protected route without a permission: annotate its handler with \
     #[requires(resource:action)], written above #[utoipa::path] (below it, the permission never \
     reaches the document)"
)]
pub struct UnguardedRoute {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template.
    pub path: String,
}

/// The protected part of an API. Routes enter only through `utoipa_axum::routes!`, so each is
/// documented; each gets the authentication layer of the [`SecurityService`] as a
/// `MethodRouter::route_layer` (unknown paths stay 404 and wrong methods 405, without asking for
/// credentials); [`build`](ProtectedRoutes::build) refuses any operation that lacks
/// `x-required-permission`, that is, a handler without `#[requires]`.
pub struct ProtectedRoutes<S = ()> {
    router: OpenApiRouter<S>,
    layer: AuthLayer,
}

impl<S: Clone + Send + Sync + 'static> fmt::Debug for ProtectedRoutes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedRoutes")
            .field("paths", &self.router.get_openapi().paths.paths.keys())
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> ProtectedRoutes<S> {
    /// No routes yet; the routes added will be authenticated by `security`.
    pub fn new(security: &SecurityService) -> Self {
        ProtectedRoutes {
            router: OpenApiRouter::new(),
            layer: security.layer(),
        }
    }

    /// Adds the handlers of a `utoipa_axum::routes!(...)` invocation, behind authentication.
    #[must_use]
    pub fn routes(self, (schemas, paths, method_router): UtoipaMethodRouter<S>) -> Self {
        let method_router = method_router.route_layer(self.layer.clone());
        ProtectedRoutes {
            router: self.router.routes((schemas, paths, method_router)),
            layer: self.layer,
        }
    }

    /// The router and its OpenAPI document, once every operation is checked to carry a
    /// permission.
    pub fn build(self) -> Result<(Router<S>, OpenApi), UnguardedRoute> {
        let (router, openapi) = self.router.split_for_parts();
        if let Some(op) = operations(&openapi)
            .into_iter()
            .find(|op| op.permission.is_none())
        {
            return Err(UnguardedRoute {
                method: op.method,
                path: op.path,
            });
        }
        Ok((router, openapi))
    }
}
