//! `#[requires]` above `#[utoipa::path]`, merging with the user's own responses, security and
//! extensions.

use axum::Json;
use axum::extract::Path;
use tasker_auth::requires;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[requires(tasks:create)]
#[utoipa::path(post, path = "/v1/tasks", responses((status = 201, description = "created")))]
async fn create(Json(name): Json<String>) -> String {
    name
}

#[requires(tasks:read)]
#[::utoipa::path(
    get,
    path = "/v1/tasks/{uuid}",
    params(("uuid" = String, Path, description = "task id")),
    responses(
        (status = 200, description = "the task"),
        (status = 403, description = "not yours", body = tasker_auth::ErrorBody),
    ),
    security(("bearer_auth" = [])),
    extensions(("x-owner" = json!("team-a"))),
)]
async fn read(Path(uuid): Path<String>) -> String {
    uuid
}

#[test]
fn documented_operations_carry_the_permission() {
    let (_router, api) = OpenApiRouter::<()>::new()
        .routes(routes!(create))
        .routes(routes!(read))
        .split_for_parts();
    let json = api.to_json().unwrap();
    assert!(json.contains("x-required-permission"));
}
