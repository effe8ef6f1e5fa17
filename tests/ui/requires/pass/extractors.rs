//! `#[requires]` keeps every kind of extractor working, with or without a `SecurityContext`
//! argument, generic handlers and `impl IntoResponse` return types included.

use axum::body::Bytes;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tasker_auth::{SecurityContext, requires};

#[derive(Clone)]
pub(crate) struct AppState {
    name: &'static str,
}

#[derive(Deserialize)]
struct NewTask {
    name: String,
}

#[derive(Deserialize)]
struct Page {
    limit: Option<u32>,
}

/// A custom parts extractor.
struct RequestId(String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get("x-request-id")
            .ok_or(StatusCode::BAD_REQUEST)?;
        Ok(RequestId(
            id.to_str().map_err(|_| StatusCode::BAD_REQUEST)?.to_owned(),
        ))
    }
}

/// A custom body extractor.
struct Upper(String);

impl<S: Send + Sync> FromRequest<S> for Upper {
    type Rejection = StatusCode;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let text = String::from_request(req, state)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        Ok(Upper(text.to_uppercase()))
    }
}

#[requires(tasks:create)]
async fn create(
    ctx: SecurityContext,
    State(state): State<AppState>,
    Json(task): Json<NewTask>,
) -> String {
    format!("{} {} {}", ctx.subject(), state.name, task.name)
}

#[requires(tasks:create)]
async fn create_without_context(Json(task): Json<NewTask>) -> String {
    task.name
}

#[requires(tasks:read)]
async fn read(Path(uuid): Path<String>, ctx: SecurityContext) -> impl IntoResponse {
    (StatusCode::OK, format!("{uuid} {}", ctx.subject()))
}

#[requires(tasks:list)]
async fn list(Query(page): Query<Page>) -> String {
    page.limit.unwrap_or(10).to_string()
}

#[requires(dlq:update)]
async fn update(Path(id): Path<u64>, Form(task): Form<NewTask>) -> String {
    format!("{id} {}", task.name)
}

#[requires(templates:validate)]
async fn validate(body: Bytes) -> String {
    body.len().to_string()
}

#[requires(steps:resolve)]
async fn custom(RequestId(id): RequestId, ctx: SecurityContext, Upper(text): Upper) -> String {
    format!("{id} {} {text}", ctx.subject())
}

#[requires(system:config_read)]
async fn no_arguments() -> &'static str {
    "config"
}

#[requires(worker:templates_read)]
pub(crate) async fn generic<T: Default + ToString + Send + 'static>(
    State(_): State<AppState>,
) -> String {
    T::default().to_string()
}

/// `#[requires]` above `#[axum::debug_handler]`: the guard passes axum's own checks.
#[requires(tasks:cancel)]
#[axum::debug_handler(state = AppState)]
async fn debugged(State(state): State<AppState>, Path(uuid): Path<String>) -> String {
    format!("{} {uuid}", state.name)
}

struct Handlers;

impl Handlers {
    #[requires(dlq:stats)]
    async fn stats(State(state): State<AppState>) -> Result<String, StatusCode> {
        Ok(state.name.to_owned())
    }
}

#[test]
fn every_extractor_kind_routes() {
    let _app: Router = Router::new()
        .route("/v1/tasks", post(create).get(list))
        .route("/v1/tasks2", post(create_without_context))
        .route("/v1/tasks/{uuid}", get(read))
        .route("/v1/dlq/entry/{id}", post(update))
        .route("/validate", post(validate))
        .route("/custom", post(custom))
        .route("/config", get(no_arguments))
        .route("/generic", get(generic::<u32>))
        .route("/stats", get(Handlers::stats))
        .route("/cancel/{uuid}", axum::routing::delete(debugged))
        .with_state(AppState { name: "state" });
}
