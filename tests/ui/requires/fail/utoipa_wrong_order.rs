use tasker_auth::requires;

/// Creates a task.
#[utoipa::path(post, path = "/v1/tasks", responses((status = 201, description = "created")))]
#[requires(tasks:create)]
async fn create_task() {}

fn main() {}
