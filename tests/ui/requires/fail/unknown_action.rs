use tasker_auth::requires;

#[requires(tasks:delete)]
async fn delete_task() {}

#[requires(tasks:resolve)]
async fn resolve_step() {}

fn main() {}
