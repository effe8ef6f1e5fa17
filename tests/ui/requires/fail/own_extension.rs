use tasker_auth::requires;

#[requires(tasks:create)]
#[utoipa::path(post, path = "/v1/tasks", extensions(("x-required-permission" = json!("tasks:read"))))]
async fn create_task() {}

fn main() {}
