//! The Tasker worker API: the templates a worker can run and their validation (the route table
//! is in `docs/openapi.md`).
//!
//! `examples/worker.rs` serves it on its own:
//!
//! ```text
//! cargo run --example worker -- --config examples/worker.toml [--bind 127.0.0.1:0]
//! ```

use crate::api_error::{ApiError, find_template};
use crate::extract::{Json, Path};
use crate::server::{self, ApiKind, AppState, StartupError};
use crate::store::{Store, Template};
use axum::Router;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tasker_auth::openapi::ProtectedRoutes;
use tasker_auth::{SecurityService, TaskerConfig, requires};
use utoipa::openapi::OpenApi;
use utoipa_axum::routes;

/// The body of `POST /v1/templates/{namespace}/{name}/{version}/validate`: a task context to
/// check against the template.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationRequest {
    /// The context a task of this template would be submitted with: a JSON object.
    #[serde(deserialize_with = "crate::store::json_object")]
    #[schema(value_type = Object)]
    context: Value,
}

/// The outcome of a validation.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ValidationReport {
    /// Whether a task with this context can run.
    valid: bool,
    /// Required context fields that are missing.
    missing_fields: Vec<String>,
    /// The handlers the template's steps need.
    handlers: Vec<String>,
}

/// The templates this worker can run.
#[requires(worker:templates_read)]
#[utoipa::path(get, path = "/v1/templates", tag = "templates",
    responses((status = 200, description = "The templates", body = Vec<Template>)))]
async fn list_templates(State(app): State<AppState>) -> Json<Vec<Template>> {
    Json(app.store.templates())
}

/// One template.
#[requires(worker:templates_read)]
#[utoipa::path(get, path = "/v1/templates/{namespace}/{name}/{version}", tag = "templates",
    params(("namespace" = String, Path, description = "Namespace"),
           ("name" = String, Path, description = "Name"),
           ("version" = String, Path, description = "Version")),
    responses((status = 200, description = "The template", body = Template),
              (status = 404, description = "No such template")))]
async fn get_template(
    State(app): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
) -> Result<Json<Template>, ApiError> {
    find_template(&app.store, &namespace, &name, &version).map(Json)
}

/// Check a task context against a template before submitting it.
#[requires(templates:validate)]
#[utoipa::path(post, path = "/v1/templates/{namespace}/{name}/{version}/validate", tag = "templates",
    params(("namespace" = String, Path, description = "Namespace"),
           ("name" = String, Path, description = "Name"),
           ("version" = String, Path, description = "Version")),
    request_body = ValidationRequest,
    responses((status = 200, description = "The validation report", body = ValidationReport),
              (status = 404, description = "No such template")))]
async fn validate_template(
    State(app): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    Json(request): Json<ValidationRequest>,
) -> Result<Json<ValidationReport>, ApiError> {
    let template = find_template(&app.store, &namespace, &name, &version)?;
    let missing_fields: Vec<String> = template
        .required_context
        .iter()
        .filter(|field| request.context.get(field.as_str()).is_none())
        .cloned()
        .collect();
    Ok(Json(ValidationReport {
        valid: missing_fields.is_empty(),
        missing_fields,
        handlers: template.steps.iter().map(|s| s.handler.clone()).collect(),
    }))
}

/// The running configuration, every secret replaced by `"[REDACTED]"`. Routed (and documented)
/// only when `web.config_endpoint_enabled` is true.
#[requires(worker:config_read)]
#[utoipa::path(get, path = "/config", tag = "system",
    responses((status = 200, description = "The running configuration, redacted", body = Object)))]
async fn get_config(State(app): State<AppState>) -> Json<Value> {
    Json(Value::clone(&app.redacted_config))
}

/// Every protected route of the worker API.
pub fn protected_routes(
    config: &TaskerConfig,
    security: &SecurityService,
) -> ProtectedRoutes<AppState> {
    let routes = ProtectedRoutes::new(security)
        .routes(routes!(list_templates))
        .routes(routes!(get_template))
        .routes(routes!(validate_template));
    if config.web.config_endpoint_enabled {
        routes.routes(routes!(get_config))
    } else {
        routes
    }
}

/// The whole worker application and its OpenAPI document, authenticating with a
/// [`SecurityService`] of its own built from `config.web.auth`.
pub fn app(config: &TaskerConfig, store: Store) -> Result<(Router, OpenApi), StartupError> {
    let security = SecurityService::from_config(&config.web.auth)?;
    app_with(config, &security, store)
}

/// The whole worker application and its OpenAPI document, authenticating with `security`
/// (which a server shares with its gRPC listener).
pub fn app_with(
    config: &TaskerConfig,
    security: &SecurityService,
    store: Store,
) -> Result<(Router, OpenApi), StartupError> {
    server::build_app(ApiKind::Worker, config, security, protected_routes, store)
}
