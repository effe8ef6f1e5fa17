//! The cost of authorization: a permission check on its own, and one request through a
//! `#[requires]`-guarded handler against the same handler unguarded (and through `authorize()`).
//!
//! Run with `cargo bench --bench permission -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use axum::{Extension, Router};
use criterion::{Criterion, criterion_group, criterion_main};
use tasker_auth::{
    Action, AuthMethod, Permission, PermissionSet, Resource, SecurityContext, authorize, requires,
};
use tower::ServiceExt;

fn caller() -> SecurityContext {
    let grants = PermissionSet::parse_grants(["tasks:read", "tasks:list", "dlq:*"]).permissions;
    SecurityContext::new(
        "bench-client",
        AuthMethod::Jwt {
            issuer: "tasker-core".into(),
        },
        grants,
        None,
    )
}

fn checks(c: &mut Criterion) {
    let set = caller().permissions();
    let ctx = caller();
    c.bench_function("permission_set_contains", |b| {
        b.iter(|| black_box(set).contains(black_box(Permission::DlqStats)))
    });
    c.bench_function("security_context_has", |b| {
        b.iter(|| black_box(&ctx).has(black_box(Permission::TasksRead)))
    });
}

async fn unguarded() -> &'static str {
    "task"
}

#[requires(tasks:read)]
async fn guarded() -> &'static str {
    "task"
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let app = |router: Router| router.layer(Extension(caller()));
    let routers = [
        (
            "request_unguarded",
            app(Router::new().route("/v1/tasks/{id}", get(unguarded))),
        ),
        (
            "request_requires",
            app(Router::new().route("/v1/tasks/{id}", get(guarded))),
        ),
        (
            "request_authorize",
            app(Router::new().route(
                "/v1/tasks/{id}",
                get(authorize(Resource::Tasks, Action::Read, unguarded)),
            )),
        ),
    ];
    for (name, router) in routers {
        c.bench_function(name, |b| {
            b.iter(|| {
                let req = Request::get("/v1/tasks/42").body(Body::empty()).unwrap();
                let response = runtime.block_on(router.clone().oneshot(req)).unwrap();
                assert!(response.status().is_success());
                response
            })
        });
    }
}

criterion_group!(benches, checks, requests);
criterion_main!(benches);
