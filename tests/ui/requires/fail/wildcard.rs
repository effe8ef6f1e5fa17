use tasker_auth::requires;

#[requires(tasks:*)]
async fn anything_on_tasks() {}

fn main() {}
