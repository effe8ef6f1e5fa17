use tasker_auth::requires;

#[requires("tasks:create")]
async fn create_task() {}

fn main() {}
