use tasker_auth::requires;

#[requires(tasks)]
async fn create_task() {}

#[requires(dlq:)]
async fn read_dlq() {}

fn main() {}
