use tasker_auth::requires;

#[requires(health:read)]
async fn health() {}

fn main() {}
