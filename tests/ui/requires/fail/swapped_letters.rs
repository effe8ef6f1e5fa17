// Two letters swapped are one typo; with the resource misspelt as well, the permission meant is
// named once for both.
use tasker_auth::requires;

#[requires(tasks:raed)]
async fn read_task() {}

#[requires(tasks:lsit)]
async fn list_tasks() {}

#[requires(taks:raed)]
async fn read_task_again() {}

fn main() {}
