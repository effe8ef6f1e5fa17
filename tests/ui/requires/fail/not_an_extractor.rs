// An argument that is no extractor: axum's `Handler` error, without rustc suggesting the
// `Authorized<H>` wrapper of `authorize()`, which would not help.
use axum::Router;
use axum::routing::get;
use tasker_auth::requires;

struct NotAnExtractor;

#[requires(tasks:read)]
async fn read_task(_: NotAnExtractor) {}

fn main() {
    let _app: Router = Router::new().route("/v1/tasks/{uuid}", get(read_task));
}
