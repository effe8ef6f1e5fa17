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

/// The macro crate cannot depend on the runtime crate (which depends on it), so it writes the
/// extension and security scheme names as literals: they must be the runtime's.
#[test]
fn the_macro_writes_the_runtime_extension_and_scheme_names() {
    use tasker_auth::Permission;
    use tasker_auth::openapi::{API_KEY_SCHEME, BEARER_SCHEME, required_permission};

    let (_router, api) = OpenApiRouter::<()>::new()
        .routes(routes!(create))
        .split_for_parts();
    let op = api.paths.paths["/v1/tasks"].post.as_ref().unwrap();
    // Reads the extension named by `REQUIRED_PERMISSION_EXTENSION`.
    assert_eq!(required_permission(op), Some(Permission::TasksCreate));
    let requirement = |scheme: &str| {
        let mut one = serde_json::Map::new();
        one.insert(scheme.to_owned(), serde_json::json!([]));
        serde_json::Value::Object(one)
    };
    assert_eq!(
        serde_json::to_value(&op.security).unwrap(),
        serde_json::json!([requirement(BEARER_SCHEME), requirement(API_KEY_SCHEME)])
    );
}
