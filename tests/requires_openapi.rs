//! What `#[requires]` writes into the OpenAPI document through `#[utoipa::path]` (docs/permissions.md, "The OpenAPI effect").

use axum::Json;
use axum::extract::Path;
use serde_json::{Value, json};
use tasker_auth::requires;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[requires(tasks:create)]
#[utoipa::path(post, path = "/v1/tasks", responses((status = 201, description = "created")))]
async fn create_task(Json(name): Json<String>) -> String {
    name
}

#[requires(tasks:read)]
#[utoipa::path(
    get,
    path = "/v1/tasks/{uuid}",
    params(("uuid" = String, Path, description = "task id")),
    responses(
        (status = 200, description = "the task"),
        (status = 403, description = "not yours"),
    ),
    security(("bearer_auth" = [])),
    extensions(("x-owner" = json!("team-a"))),
)]
async fn read_task(Path(uuid): Path<String>) -> String {
    uuid
}

#[utoipa::path(get, path = "/health", responses((status = 200, description = "up")))]
async fn health() -> &'static str {
    "ok"
}

fn document() -> Value {
    let (_router, api) = OpenApiRouter::<()>::new()
        .routes(routes!(create_task))
        .routes(routes!(read_task))
        .routes(routes!(health))
        .split_for_parts();
    serde_json::from_str(&api.to_json().unwrap()).unwrap()
}

#[test]
fn requires_adds_permission_security_and_error_responses() {
    let doc = document();
    let op = &doc["paths"]["/v1/tasks"]["post"];
    assert_eq!(op["x-required-permission"], "tasks:create");
    assert_eq!(
        op["security"],
        json!([{"bearer_auth": []}, {"api_key_auth": []}])
    );
    let responses = op["responses"].as_object().unwrap();
    assert_eq!(responses.keys().collect::<Vec<_>>(), ["201", "401", "403"]);
    for status in ["401", "403"] {
        assert_eq!(
            responses[status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{status}"
        );
    }
    assert_eq!(
        responses["403"]["description"],
        "The caller lacks the permission `tasks:create`"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[test]
fn requires_merges_with_user_extensions_security_and_responses() {
    let doc = document();
    let op = &doc["paths"]["/v1/tasks/{uuid}"]["get"];
    assert_eq!(op["x-required-permission"], "tasks:read");
    assert_eq!(op["x-owner"], "team-a");
    assert_eq!(
        op["security"],
        json!([{"bearer_auth": []}, {"api_key_auth": []}])
    );
    // The user's own 403 is kept; only the missing 401 is added.
    assert_eq!(op["responses"]["403"]["description"], "not yours");
    assert!(op["responses"]["401"].is_object());
    assert_eq!(op["parameters"][0]["name"], "uuid");
}

#[test]
fn unguarded_operation_has_no_permission_or_security() {
    let doc = document();
    let op = &doc["paths"]["/health"]["get"];
    assert!(op.get("x-required-permission").is_none());
    assert!(op.get("security").is_none());
    assert!(op["responses"].get("403").is_none());
}
