use tasker_auth::requires;

#[requires(tasks:read)]
#[requires(tasks:context_read)]
async fn task_context() {}

fn main() {}
