// Dashes for underscores.
use tasker_auth::requires;

#[requires(tasks:context-read)]
async fn read_context() {}

#[requires(system:analytics-read)]
async fn read_analytics() {}

fn main() {}
