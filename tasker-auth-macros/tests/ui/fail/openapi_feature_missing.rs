// `#[utoipa::path]` under `#[requires]` without tasker-auth's `openapi` feature: one error that
// names the feature, and nothing that follows from it.
use tasker_auth::requires;

#[requires(tasks:create)]
#[utoipa::path(post, path = "/v1/tasks", responses((status = 201, description = "created")))]
async fn create_task() {}

fn main() {
    let _ = create_task;
}
