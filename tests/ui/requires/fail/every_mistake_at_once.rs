// Every mistake is reported in one build, and the handler stays usable by name.
use axum::Router;
use axum::routing::post;
use tasker_auth::requires;

#[requires(tasks:creat)]
#[requires(tasks:read)]
fn create_task() {}

fn main() {
    let _app: Router = Router::new().route("/v1/tasks", post(create_task));
}
