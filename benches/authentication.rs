//! What authentication costs per request.
//!
//! For RS256, ES256 and EdDSA: a bare `jsonwebtoken::decode` of the token with a prebuilt key and
//! `Validation` (the floor: what any JWT library must do), `SecurityService::authenticate`
//! alone, and one whole request through an axum `Router` with `AuthLayer` and a trivial handler
//! (`oneshot`). API keys and disabled auth through the same router, and the router without any
//! layer (the axum baseline) for comparison.
//!
//! Every service here runs with `jwt_cache_max_entries = 0`: these figures are the cost of the
//! full verification (signature and claims) of every request, comparable with the earlier
//! figures in docs/performance.md. The verified-token cache (hits, misses, cache off) is measured
//! in `benches/token_cache.rs`.
//!
//! Run: `cargo bench --bench authentication -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use fixtures::*;
use http::{HeaderValue, header};
use jsonwebtoken::{DecodingKey, Validation};
use tasker_auth::{AuthConfig, SecurityService};

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct FloorClaims {
    sub: String,
    exp: u64,
    iss: String,
    permissions: Vec<String>,
}

/// The fixtures' service with the verified-token cache off, so that every request of a bench
/// pays the full JWT verification (the cache would otherwise answer all but the first).
fn uncached_service(keys: &Keys) -> SecurityService {
    let config = AuthConfig {
        jwt_cache_max_entries: 0,
        ..config_for(keys)
    };
    SecurityService::from_config(&config).unwrap()
}

fn jwt(c: &mut Criterion) {
    for (name, keys) in [("RS256", rsa()), ("ES256", ec256()), ("EdDSA", ed25519())] {
        let security = uncached_service(keys);
        let token = token(keys, &claims(&["tasks:list", "tasks:read"]));
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        let headers = bearer(&token);
        let app = router(Some(&security));
        let decoding = match keys.alg {
            jsonwebtoken::Algorithm::RS256 => DecodingKey::from_rsa_pem(keys.public_pem.as_bytes()),
            jsonwebtoken::Algorithm::ES256 => DecodingKey::from_ec_pem(keys.public_pem.as_bytes()),
            _ => DecodingKey::from_ed_pem(keys.public_pem.as_bytes()),
        }
        .unwrap();
        let mut validation = Validation::new(keys.alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub"]);

        let mut group = c.benchmark_group(name);
        group.bench_function("jsonwebtoken_decode_floor", |b| {
            b.iter(|| {
                black_box(
                    jsonwebtoken::decode::<FloorClaims>(black_box(&token), &decoding, &validation)
                        .unwrap(),
                )
            })
        });
        group.bench_function("security_service_authenticate", |b| {
            b.iter(|| black_box(run(security.authenticate(black_box(&headers))).unwrap()))
        });
        group.bench_function("request_through_auth_layer", |b| {
            b.iter(|| oneshot(&app, request(&header::AUTHORIZATION, &value)))
        });
        group.finish();
    }
}

fn others(c: &mut Criterion) {
    let security = uncached_service(rsa());
    let mut group = c.benchmark_group("other");
    let app = router(Some(&security));
    let key = HeaderValue::from_static(READER_KEY);
    let api_key_header = header::HeaderName::from_static("x-api-key");
    group.bench_function("api_key_request_through_auth_layer", |b| {
        b.iter(|| oneshot(&app, request(&api_key_header, &key)))
    });
    let disabled = router(Some(&SecurityService::disabled()));
    let ignored = HeaderValue::from_static("none");
    group.bench_function("disabled_request_through_auth_layer", |b| {
        b.iter(|| oneshot(&disabled, request(&api_key_header, &ignored)))
    });
    let bare = router(None);
    group.bench_function("request_without_auth_layer", |b| {
        b.iter(|| oneshot(&bare, request(&api_key_header, &ignored)))
    });
    group.finish();
}

/// The same requests with a Prometheus recorder installed, so that the counters and the histogram
/// each request records are really stored. Runs last: the recorder is process-wide.
fn with_prometheus(c: &mut Criterion) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        return;
    }
    let security = uncached_service(rsa());
    let mut group = c.benchmark_group("with_prometheus");
    let app = router(Some(&security));
    let key = HeaderValue::from_static(READER_KEY);
    let api_key_header = header::HeaderName::from_static("x-api-key");
    group.bench_function("api_key_request_through_auth_layer", |b| {
        b.iter(|| oneshot(&app, request(&api_key_header, &key)))
    });
    group.finish();
    assert!(handle.render().contains("tasker_auth_requests_total"));
}

criterion_group!(benches, jwt, others, with_prometheus);
criterion_main!(benches);
