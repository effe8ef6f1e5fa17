use tasker_auth::requires;

#[requires]
async fn create_task() {}

#[requires()]
async fn read_task() {}

fn main() {}
