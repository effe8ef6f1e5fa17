//! The Tasker orchestration API: tasks, workflow steps, templates, handlers, analytics and the
//! dead-letter queue (the route table is in `docs/openapi.md`).
//!
//! `examples/orchestration.rs` serves it on its own:
//!
//! ```text
//! cargo run --example orchestration -- --config examples/orchestration.toml [--bind 127.0.0.1:0]
//! ```
//!
//! and [`crate::demo`] serves it with authentication on, next to the worker API.

use crate::api_error::{ApiError, find_template};
use crate::extract::{Json, Path, Query};
use crate::server::{self, ApiKind, AppState, StartupError};
use crate::store::{
    Bottleneck, DlqEntry, DlqStats, DlqStatus, DlqUpdate, HandlerInfo, NewTask, PerformanceMetrics,
    StepResolution, Store, Task, TaskStatus, Template, WorkflowStep,
};
use axum::Router;
use axum::extract::State;
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tasker_auth::openapi::ProtectedRoutes;
use tasker_auth::{Permission, SecurityContext, SecurityService, TaskerConfig, requires};
use utoipa::openapi::OpenApi;
use utoipa_axum::routes;
use uuid::Uuid;

/// Query of `GET /v1/tasks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only tasks with this status.
    status: Option<TaskStatus>,
}

/// Query of `GET /v1/dlq`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DlqFilter {
    /// Only entries with this status.
    resolution_status: Option<DlqStatus>,
}

/// Whether the caller may see task contexts (they can hold customer data).
fn sees_context(ctx: &SecurityContext) -> bool {
    ctx.has(Permission::TasksContextRead)
}

/// Submit a task. The initiator is the caller's subject.
#[requires(tasks:create)]
#[utoipa::path(post, path = "/v1/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, description = "The task was created", body = Task),
              (status = 507, description = "The demo store is full (reason `store_full`)")))]
async fn create_task(
    ctx: SecurityContext,
    State(app): State<AppState>,
    Json(new): Json<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let mut task = app.store.create_task(new, ctx.subject())?;
    if !sees_context(&ctx) {
        task.context = None;
    }
    Ok((StatusCode::CREATED, Json(task)))
}

/// List tasks, newest first.
#[requires(tasks:list)]
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(TaskFilter),
    responses((status = 200, description = "The tasks", body = Vec<Task>)))]
async fn list_tasks(
    ctx: SecurityContext,
    State(app): State<AppState>,
    Query(filter): Query<TaskFilter>,
) -> Json<Vec<Task>> {
    Json(app.store.list_tasks(filter.status, sees_context(&ctx)))
}

/// One task. `context` is present only for callers that also hold `tasks:context_read`.
#[requires(tasks:read)]
#[utoipa::path(get, path = "/v1/tasks/{uuid}", tag = "tasks",
    params(("uuid" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The task", body = Task),
              (status = 404, description = "No such task")))]
async fn get_task(
    ctx: SecurityContext,
    State(app): State<AppState>,
    Path(uuid): Path<Uuid>,
) -> Result<Json<Task>, ApiError> {
    app.store
        .task(uuid, sees_context(&ctx))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("task {uuid}")))
}

/// Cancel a task that has not finished.
#[requires(tasks:cancel)]
#[utoipa::path(delete, path = "/v1/tasks/{uuid}", tag = "tasks",
    params(("uuid" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The cancelled task", body = Task),
              (status = 404, description = "No such task"),
              (status = 409, description = "The task already finished (reason `conflict`)")))]
async fn cancel_task(
    State(app): State<AppState>,
    Path(uuid): Path<Uuid>,
) -> Result<Json<Task>, ApiError> {
    match app.store.cancel_task(uuid) {
        None => Err(ApiError::not_found(format_args!("task {uuid}"))),
        Some(Err(status)) => Err(ApiError::conflict(format!(
            "task {uuid} is {status:?} and cannot be cancelled"
        ))),
        Some(Ok(task)) => Ok(Json(task)),
    }
}

/// A task's context (its input): always a JSON object, `{}` when the task was submitted without
/// one.
#[requires(tasks:context_read)]
#[utoipa::path(get, path = "/v1/tasks/{uuid}/context", tag = "tasks",
    params(("uuid" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The context", body = Object),
              (status = 404, description = "No such task")))]
async fn get_task_context(
    State(app): State<AppState>,
    Path(uuid): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    app.store
        .task_context(uuid)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("task {uuid}")))
}

/// A task's workflow steps.
#[requires(steps:read)]
#[utoipa::path(get, path = "/v1/tasks/{uuid}/workflow_steps", tag = "steps",
    params(("uuid" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The steps", body = Vec<WorkflowStep>),
              (status = 404, description = "No such task")))]
async fn list_steps(
    State(app): State<AppState>,
    Path(uuid): Path<Uuid>,
) -> Result<Json<Vec<WorkflowStep>>, ApiError> {
    app.store
        .steps(uuid)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("task {uuid}")))
}

/// One workflow step.
#[requires(steps:read)]
#[utoipa::path(get, path = "/v1/tasks/{uuid}/workflow_steps/{step_uuid}", tag = "steps",
    params(("uuid" = Uuid, Path, description = "The task"),
           ("step_uuid" = Uuid, Path, description = "The step")),
    responses((status = 200, description = "The step", body = WorkflowStep),
              (status = 404, description = "No such task or step")))]
async fn get_step(
    State(app): State<AppState>,
    Path((uuid, step_uuid)): Path<(Uuid, Uuid)>,
) -> Result<Json<WorkflowStep>, ApiError> {
    app.store
        .step(uuid, step_uuid)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("step {step_uuid} of task {uuid}")))
}

/// Resolve a step by hand, or reset it for retry. `resolved_by` is the caller's subject, never
/// a field of the body.
#[requires(steps:resolve)]
#[utoipa::path(patch, path = "/v1/tasks/{uuid}/workflow_steps/{step_uuid}", tag = "steps",
    params(("uuid" = Uuid, Path, description = "The task"),
           ("step_uuid" = Uuid, Path, description = "The step")),
    request_body = StepResolution,
    responses((status = 200, description = "The updated step", body = WorkflowStep),
              (status = 404, description = "No such task or step"),
              (status = 507, description = "The demo store is full (reason `store_full`)")))]
async fn resolve_step(
    ctx: SecurityContext,
    State(app): State<AppState>,
    Path((uuid, step_uuid)): Path<(Uuid, Uuid)>,
    Json(resolution): Json<StepResolution>,
) -> Result<Json<WorkflowStep>, ApiError> {
    match app
        .store
        .resolve_step(uuid, step_uuid, resolution, ctx.subject())
    {
        None => Err(ApiError::not_found(format_args!(
            "step {step_uuid} of task {uuid}"
        ))),
        Some(result) => Ok(Json(result?)),
    }
}

/// Every task template.
#[requires(templates:read)]
#[utoipa::path(get, path = "/v1/templates", tag = "templates",
    responses((status = 200, description = "The templates", body = Vec<Template>)))]
async fn list_templates(State(app): State<AppState>) -> Json<Vec<Template>> {
    Json(app.store.templates())
}

/// One task template.
#[requires(templates:read)]
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

/// Registered step handlers.
#[requires(system:handlers_read)]
#[utoipa::path(get, path = "/v1/handlers", tag = "system",
    responses((status = 200, description = "The handlers", body = Vec<HandlerInfo>)))]
async fn list_handlers(State(app): State<AppState>) -> Json<Vec<HandlerInfo>> {
    Json(app.store.handlers())
}

/// Task completion and error rates.
#[requires(system:analytics_read)]
#[utoipa::path(get, path = "/v1/analytics/performance", tag = "analytics",
    responses((status = 200, description = "Performance figures", body = PerformanceMetrics)))]
async fn analytics_performance(State(app): State<AppState>) -> Json<PerformanceMetrics> {
    Json(app.store.performance())
}

/// Steps with the most errors and retries.
#[requires(system:analytics_read)]
#[utoipa::path(get, path = "/v1/analytics/bottlenecks", tag = "analytics",
    responses((status = 200, description = "Bottlenecks, worst first", body = Vec<Bottleneck>)))]
async fn analytics_bottlenecks(State(app): State<AppState>) -> Json<Vec<Bottleneck>> {
    Json(app.store.bottlenecks())
}

/// Dead-letter-queue entries.
#[requires(dlq:read)]
#[utoipa::path(get, path = "/v1/dlq", tag = "dlq", params(DlqFilter),
    responses((status = 200, description = "The entries", body = Vec<DlqEntry>)))]
async fn list_dlq(
    State(app): State<AppState>,
    Query(filter): Query<DlqFilter>,
) -> Json<Vec<DlqEntry>> {
    Json(app.store.dlq(filter.resolution_status))
}

/// The DLQ entries of one task.
#[requires(dlq:read)]
#[utoipa::path(get, path = "/v1/dlq/task/{task_uuid}", tag = "dlq",
    params(("task_uuid" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The task's entries", body = Vec<DlqEntry>),
              (status = 404, description = "The task has no DLQ entry")))]
async fn dlq_for_task(
    State(app): State<AppState>,
    Path(task_uuid): Path<Uuid>,
) -> Result<Json<Vec<DlqEntry>>, ApiError> {
    let entries = app.store.dlq_for_task(task_uuid);
    if entries.is_empty() {
        return Err(ApiError::not_found(format_args!(
            "DLQ entry for task {task_uuid}"
        )));
    }
    Ok(Json(entries))
}

/// Update a DLQ entry's investigation status. `updated_by` is the caller's subject.
#[requires(dlq:update)]
#[utoipa::path(patch, path = "/v1/dlq/entry/{dlq_entry_uuid}", tag = "dlq",
    params(("dlq_entry_uuid" = Uuid, Path, description = "The entry")),
    request_body = DlqUpdate,
    responses((status = 200, description = "The updated entry", body = DlqEntry),
              (status = 404, description = "No such entry"),
              (status = 507, description = "The demo store is full (reason `store_full`)")))]
async fn update_dlq_entry(
    ctx: SecurityContext,
    State(app): State<AppState>,
    Path(dlq_entry_uuid): Path<Uuid>,
    Json(update): Json<DlqUpdate>,
) -> Result<Json<DlqEntry>, ApiError> {
    match app.store.update_dlq(dlq_entry_uuid, update, ctx.subject()) {
        None => Err(ApiError::not_found(format_args!(
            "DLQ entry {dlq_entry_uuid}"
        ))),
        Some(result) => Ok(Json(result?)),
    }
}

/// DLQ counts by status and reason.
#[requires(dlq:stats)]
#[utoipa::path(get, path = "/v1/dlq/stats", tag = "dlq",
    responses((status = 200, description = "Counts", body = DlqStats)))]
async fn dlq_stats(State(app): State<AppState>) -> Json<DlqStats> {
    Json(app.store.dlq_stats())
}

/// The running configuration, every secret replaced by `"[REDACTED]"`. Routed (and documented)
/// only when `web.config_endpoint_enabled` is true.
#[requires(system:config_read)]
#[utoipa::path(get, path = "/config", tag = "system",
    responses((status = 200, description = "The running configuration, redacted", body = Object)))]
async fn get_config(State(app): State<AppState>) -> Json<Value> {
    Json(Value::clone(&app.redacted_config))
}

/// Every protected route of the orchestration API.
pub fn protected_routes(
    config: &TaskerConfig,
    security: &SecurityService,
) -> ProtectedRoutes<AppState> {
    let routes = ProtectedRoutes::new(security)
        .routes(routes!(create_task, list_tasks))
        .routes(routes!(get_task, cancel_task))
        .routes(routes!(get_task_context))
        .routes(routes!(list_steps))
        .routes(routes!(get_step, resolve_step))
        .routes(routes!(list_templates))
        .routes(routes!(get_template))
        .routes(routes!(list_handlers))
        .routes(routes!(analytics_performance))
        .routes(routes!(analytics_bottlenecks))
        .routes(routes!(list_dlq))
        .routes(routes!(dlq_for_task))
        .routes(routes!(update_dlq_entry))
        .routes(routes!(dlq_stats));
    if config.web.config_endpoint_enabled {
        routes.routes(routes!(get_config))
    } else {
        routes
    }
}

/// The whole orchestration application and its OpenAPI document, authenticating with a
/// [`SecurityService`] of its own built from `config.web.auth`.
pub fn app(config: &TaskerConfig, store: Store) -> Result<(Router, OpenApi), StartupError> {
    let security = SecurityService::from_config(&config.web.auth)?;
    app_with(config, &security, store)
}

/// The whole orchestration application and its OpenAPI document, authenticating with `security`
/// (which a server shares with its gRPC listener).
pub fn app_with(
    config: &TaskerConfig,
    security: &SecurityService,
    store: Store,
) -> Result<(Router, OpenApi), StartupError> {
    server::build_app(
        ApiKind::Orchestration,
        config,
        security,
        protected_routes,
        store,
    )
}
