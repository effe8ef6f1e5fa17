use tasker_auth::requires;

#[requires(tasks:read, tasks:context_read)]
async fn task_context() {}

#[requires(tasks:read if admin)]
async fn read_task() {}

fn main() {}
