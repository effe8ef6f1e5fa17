use tasker_auth::requires;

#[requires(tasks:create)]
struct CreateTask;

fn main() {}
