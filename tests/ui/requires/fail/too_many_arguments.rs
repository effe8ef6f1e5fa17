// axum handlers take at most 16 extractors and the guard is one: 16 of the user's own is one too
// many, said plainly instead of as an unsatisfied `Handler` bound where the handler is routed.
use axum::Router;
use axum::http::{HeaderMap, Method, Uri, Version};
use axum::routing::get;
use tasker_auth::requires;

#[requires(tasks:read)]
async fn read_task(
    _m1: Method, _u1: Uri, _v1: Version, _h1: HeaderMap,
    _m2: Method, _u2: Uri, _v2: Version, _h2: HeaderMap,
    _m3: Method, _u3: Uri, _v3: Version, _h3: HeaderMap,
    _m4: Method, _u4: Uri, _v4: Version, _h4: HeaderMap,
) {}

fn main() {
    let _app: Router = Router::new().route("/v1/tasks/{uuid}", get(read_task));
}
