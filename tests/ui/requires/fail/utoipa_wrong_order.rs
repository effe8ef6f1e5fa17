use tasker_auth::requires;

/// Creates a task.
#[utoipa::path(post, path = "/v1/tasks", responses((status = 201, description = "created")))]
#[requires(tasks:create)]
async fn create_task() {}

mod nested {
    use tasker_auth::requires;

    #[utoipa::path(
        get,
        path = "/v1/tasks/{uuid}", // a comment with a ] bracket
        responses((status = 200, description = "the task ]")),
    )]
    /// Doc comments between the attributes do not hide the mistake.
    #[allow(unused)]
    #[requires(tasks:read)]
    pub async fn read_task() {}
}

fn main() {}
