use tasker_auth::requires;

#[requires(users:read)]
async fn list_users() {}

#[requires(taks:list)]
async fn list_tasks() {}

fn main() {}
