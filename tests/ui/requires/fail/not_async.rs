use tasker_auth::requires;

#[requires(tasks:create)]
fn create_task() -> &'static str {
    "created"
}

fn main() {}
