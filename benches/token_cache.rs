//! What the verified-token cache and the API-key lookup cost per request.
//!
//! One whole request through an axum `Router` with `AuthLayer` and a trivial handler (`oneshot`),
//! for RS256, ES256 and EdDSA: a cache hit (the same token again), a cache miss (tokens cycling
//! through a cache too small to hold them: each is verified in full, then inserted) and the cache
//! off (`jwt_cache_max_entries = 0`, the path without any cache). API keys with 1 and with 10,000
//! keys configured, and the route without the layer (the baseline every figure is compared with).
//!
//! Run: `cargo bench --bench token_cache -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use fixtures::*;
use http::{HeaderValue, header};
use serde_json::json;
use tasker_auth::{AuthConfig, SecurityService};

fn jwt_service(keys: &Keys, max_entries: u64) -> SecurityService {
    SecurityService::from_config(&AuthConfig {
        jwt_cache_max_entries: max_entries,
        ..config_for(keys)
    })
    .unwrap()
}

fn bearer_value(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

fn jwt(c: &mut Criterion) {
    let auth = header::AUTHORIZATION;
    for (name, keys) in [("RS256", rsa()), ("ES256", ec256()), ("EdDSA", ed25519())] {
        let mut group = c.benchmark_group(format!("token_cache/{name}"));
        let token = bearer_value(&token(keys, &claims(&["tasks:list", "tasks:read"])));

        let cached = router(Some(&jwt_service(keys, 10_000)));
        group.bench_function("hit", |b| {
            b.iter(|| oneshot(&cached, request(&auth, &token)))
        });

        // 64 distinct tokens through a 4-entry cache: every request misses, verifies and inserts.
        let small = router(Some(&jwt_service(keys, 4)));
        let pool: Vec<HeaderValue> = (0..64)
            .map(|i| {
                let mut claims = claims(&["tasks:list", "tasks:read"]);
                claims["jti"] = json!(i);
                bearer_value(&fixtures::token(keys, &claims))
            })
            .collect();
        let mut next = pool.iter().cycle();
        group.bench_function("miss", |b| {
            b.iter(|| oneshot(&small, request(&auth, next.next().unwrap())))
        });

        let off = router(Some(&jwt_service(keys, 0)));
        group.bench_function("cache_off", |b| {
            b.iter(|| oneshot(&off, request(&auth, &token)))
        });
        group.finish();
    }
}

fn api_key(c: &mut Criterion) {
    let header_name = header::HeaderName::from_static("x-api-key");
    let mut group = c.benchmark_group("token_cache/api_key");
    for n in [1, 10_000] {
        // The last configured key: a scan would reach it last.
        let (security, key) = api_key_service(n);
        let app = router(Some(&security));
        group.bench_function(format!("{n}_keys"), |b| {
            b.iter(|| oneshot(&app, request(&header_name, &key)))
        });
    }
    let bare = router(None);
    let ignored = HeaderValue::from_static("none");
    group.bench_function("no_auth_route", |b| {
        b.iter(|| oneshot(&bare, request(&header_name, &ignored)))
    });
    group.finish();
}

criterion_group!(benches, api_key, jwt);
criterion_main!(benches);
