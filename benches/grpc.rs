//! What the gRPC authentication layer costs per call, next to what the REST layer costs per
//! request, measured the same way.
//!
//! gRPC: one unary call (`TemplateService/ListTemplates`, a handler answering an empty list),
//! framed as tonic receives it from HTTP/2, sent with `oneshot` through the tonic server service
//! (`Routes`), with and without `GrpcAuthLayer` in front; the response body is read to its end
//! (message and trailers). REST: `GET /v1/tasks` through an axum `Router` with and without
//! `AuthLayer` (the `benches/common` router). Both with an ES256 JWT answered from the
//! verified-token cache (the steady state of a client reusing its token) and with an API key.
//! No runtime: the futures never wait, and are polled to completion by `common::run`.
//!
//! Run: `cargo bench --bench grpc -- --warm-up-time 1 --measurement-time 3` (criterion, each case
//! in its own seconds), or `cargo bench --bench grpc -- paired` (every case timed back to back in
//! each of 2000 rounds, each figure the median difference from the same protocol's call without
//! auth: steady on a machine whose speed drifts; see `common/paired.rs`).
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use std::hint::black_box;

use common::paired::{self, Column};
use common::*;
use criterion::{Criterion, criterion_group};
use fixtures::*;
use http::{HeaderName, HeaderValue, header};
use http_body_util::BodyExt as _;
use tasker_auth::grpc::{GrpcAuthLayer, GrpcMethodTable};
use tasker_auth::grpc_service;
use tasker_proto::v1::template_service_server::{TemplateService, TemplateServiceServer};
use tasker_proto::v1::{GetTemplateRequest, ListTemplatesRequest, ListTemplatesResponse, Template};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tower::{Layer as _, ServiceExt as _};

struct Templates;

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TemplateService for Templates {
    #[requires(templates:read)]
    async fn list_templates(
        &self,
        _request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        Ok(Response::new(ListTemplatesResponse::default()))
    }

    #[requires(templates:read)]
    async fn get_template(
        &self,
        _request: Request<GetTemplateRequest>,
    ) -> Result<Response<Template>, Status> {
        Err(Status::not_found("no templates here"))
    }
}

fn routes() -> Routes {
    Routes::new(TemplateServiceServer::new(Templates))
}

/// A unary call as it arrives from HTTP/2: the path, gRPC headers, one empty message frame.
fn grpc_request(
    credential: Option<(&HeaderName, &HeaderValue)>,
) -> http::Request<tonic::body::Body> {
    let mut request = http::Request::builder()
        .method("POST")
        .uri("/tasker.v1.TemplateService/ListTemplates")
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers");
    if let Some((name, value)) = credential {
        request = request.header(name, value.clone());
    }
    // Compression flag 0, length 0: an empty ListTemplatesRequest.
    let frame = bytes::Bytes::from_static(&[0, 0, 0, 0, 0]);
    request
        .body(tonic::body::Body::new(http_body_util::Full::new(frame)))
        .unwrap()
}

/// One whole call through `service`, which must answer `grpc-status: 0`.
fn grpc_oneshot<S>(service: &S, request: http::Request<tonic::body::Body>)
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone,
    S::Error: std::fmt::Debug,
{
    let response = run(service.clone().oneshot(request)).unwrap();
    let body = run(response.into_body().collect()).unwrap();
    let trailers = body.trailers().expect("trailers");
    assert_eq!(trailers["grpc-status"], "0");
    black_box(trailers);
}

/// The services and credentials both modes measure.
struct Setup {
    bearer: HeaderValue,
    api_key_header: HeaderName,
    /// An API key holding `tasks:*` (REST) and one holding `templates:read` (gRPC).
    rest_key: HeaderValue,
    grpc_key: HeaderValue,
    grpc_bare: Routes,
    grpc_guarded: <GrpcAuthLayer as tower::Layer<Routes>>::Service,
    rest_bare: axum::Router,
    rest_guarded: axum::Router,
}

fn setup() -> Setup {
    let token = token(ec256(), &claims(&["templates:read", "tasks:list"]));
    // The fixtures' keys grant tasks:* at most: add one holding templates:read for the gRPC call.
    let security = {
        let mut config = config_for(ec256());
        config.api_keys.push(tasker_auth::ApiKeyConfig {
            key: Some("bench-templates-key-0123456789".to_owned()),
            permissions: vec!["templates:read".to_owned()],
            description: "bench".to_owned(),
            ..Default::default()
        });
        tasker_auth::SecurityService::from_config(&config).unwrap()
    };
    let table = GrpcMethodTable::new().service::<Templates>();
    Setup {
        bearer: HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        api_key_header: HeaderName::from_static("x-api-key"),
        rest_key: HeaderValue::from_static(READER_KEY),
        grpc_key: HeaderValue::from_static("bench-templates-key-0123456789"),
        grpc_bare: routes(),
        grpc_guarded: GrpcAuthLayer::new(security.clone(), table).layer(routes()),
        rest_bare: router(None),
        rest_guarded: router(Some(&security)),
    }
}

fn calls(c: &mut Criterion) {
    let s = setup();
    let auth = header::AUTHORIZATION;
    let mut group = c.benchmark_group("grpc");
    group.bench_function("unary_no_auth", |b| {
        b.iter(|| grpc_oneshot(&s.grpc_bare, grpc_request(None)))
    });
    group.bench_function("unary_jwt_cache_hit", |b| {
        b.iter(|| grpc_oneshot(&s.grpc_guarded, grpc_request(Some((&auth, &s.bearer)))))
    });
    group.bench_function("unary_api_key", |b| {
        b.iter(|| {
            grpc_oneshot(
                &s.grpc_guarded,
                grpc_request(Some((&s.api_key_header, &s.grpc_key))),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("rest");
    group.bench_function("request_no_auth", |b| {
        b.iter(|| oneshot(&s.rest_bare, request(&auth, &s.bearer)))
    });
    group.bench_function("request_jwt_cache_hit", |b| {
        b.iter(|| oneshot(&s.rest_guarded, request(&auth, &s.bearer)))
    });
    group.bench_function("request_api_key", |b| {
        b.iter(|| oneshot(&s.rest_guarded, request(&s.api_key_header, &s.rest_key)))
    });
    group.finish();
}

/// The same six cases, timed in pairs.
fn paired_calls() {
    let (rounds, batch) = paired::rounds_and_batch();
    let s = setup();
    let auth = header::AUTHORIZATION;
    let mut cases = vec![
        paired::Case::new("gRPC, no auth layer", || {
            grpc_oneshot(&s.grpc_bare, grpc_request(None))
        }),
        paired::Case::new("gRPC, JWT cache hit", || {
            grpc_oneshot(&s.grpc_guarded, grpc_request(Some((&auth, &s.bearer))))
        }),
        paired::Case::new("gRPC, API key", || {
            grpc_oneshot(
                &s.grpc_guarded,
                grpc_request(Some((&s.api_key_header, &s.grpc_key))),
            )
        }),
        paired::Case::new("REST, no auth layer", || {
            oneshot(&s.rest_bare, request(&auth, &s.bearer))
        }),
        paired::Case::new("REST, JWT cache hit", || {
            oneshot(&s.rest_guarded, request(&auth, &s.bearer))
        }),
        paired::Case::new("REST, API key", || {
            oneshot(&s.rest_guarded, request(&s.api_key_header, &s.rest_key))
        }),
    ];
    let columns = [Column {
        title: "over the same protocol without the auth layer",
        against: vec![None, Some(0), Some(0), None, Some(3), Some(3)],
    }];
    paired::run(&mut cases, &columns, rounds, batch);
}

fn main() {
    if std::env::args().any(|a| a == "paired") {
        paired_calls();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

criterion_group!(benches, calls);
