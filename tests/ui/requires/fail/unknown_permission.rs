use tasker_auth::requires;

#[requires(tasks:creat)]
async fn create_task() {}

fn main() {}
