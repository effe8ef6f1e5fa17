// The permission's Rust name instead of its `resource:action` name.
use tasker_auth::requires;

#[requires(Permission::TasksRead)]
async fn read_task() {}

#[requires(tasker_auth::Permission::TasksList)]
async fn list_tasks() {}

#[requires(TasksCancel)]
async fn cancel_task() {}

fn main() {}
