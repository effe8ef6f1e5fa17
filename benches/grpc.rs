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
//! Run: `cargo bench --bench grpc -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
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

fn calls(c: &mut Criterion) {
    let token = token(ec256(), &claims(&["templates:read", "tasks:list"]));
    let bearer_value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let reader_key = HeaderValue::from_static(READER_KEY);
    let api_key_header = HeaderName::from_static("x-api-key");
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
    let grpc_key = HeaderValue::from_static("bench-templates-key-0123456789");

    let bare = routes();
    let table = GrpcMethodTable::new().service::<Templates>();
    let guarded = GrpcAuthLayer::new(security.clone(), table).layer(routes());
    let mut group = c.benchmark_group("grpc");
    group.bench_function("unary_no_auth", |b| {
        b.iter(|| grpc_oneshot(&bare, grpc_request(None)))
    });
    group.bench_function("unary_jwt_cache_hit", |b| {
        b.iter(|| {
            grpc_oneshot(
                &guarded,
                grpc_request(Some((&header::AUTHORIZATION, &bearer_value))),
            )
        })
    });
    group.bench_function("unary_api_key", |b| {
        b.iter(|| grpc_oneshot(&guarded, grpc_request(Some((&api_key_header, &grpc_key)))))
    });
    group.finish();

    let bare = router(None);
    let guarded = router(Some(&security));
    let mut group = c.benchmark_group("rest");
    group.bench_function("request_no_auth", |b| {
        b.iter(|| oneshot(&bare, request(&header::AUTHORIZATION, &bearer_value)))
    });
    group.bench_function("request_jwt_cache_hit", |b| {
        b.iter(|| oneshot(&guarded, request(&header::AUTHORIZATION, &bearer_value)))
    });
    group.bench_function("request_api_key", |b| {
        b.iter(|| oneshot(&guarded, request(&api_key_header, &reader_key)))
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
