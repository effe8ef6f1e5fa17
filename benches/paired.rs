//! What authentication adds to a request, in time, measured in pairs (see `common/paired.rs`):
//! every round times each case back to back, and each figure is the median over the rounds of
//! the case's difference from the route without the layer, and from the layer with
//! authentication disabled (the "without auth" server of a deployment).
//!
//! Cases: the route without the layer, the layer with auth disabled, an API key with 1 and with
//! 10,000 keys configured, and a verified-token cache hit for RS256, ES256 and EdDSA.
//!
//! Run: `cargo bench --bench paired` (about 20 s; `-- ROUNDS BATCH` to change the default
//! 2000 rounds of 100 requests).
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use axum::Router;
use common::paired::{self, Column};
use common::*;
use fixtures::*;
use http::{HeaderName, HeaderValue, header};
use tasker_auth::{AuthConfig, SecurityService};

fn case(
    name: &'static str,
    app: Router,
    header: HeaderName,
    value: HeaderValue,
) -> paired::Case<'static> {
    paired::Case::new(name, move || oneshot(&app, request(&header, &value)))
}

fn jwt_case(name: &'static str, keys: &Keys) -> paired::Case<'static> {
    let security = SecurityService::from_config(&AuthConfig {
        jwt_cache_max_entries: 10_000,
        ..config_for(keys)
    })
    .unwrap();
    let token = token(keys, &claims(&["tasks:list", "tasks:read"]));
    let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    case(name, router(Some(&security)), header::AUTHORIZATION, value)
}

fn api_key_case(name: &'static str, n: usize) -> paired::Case<'static> {
    let (security, value) = api_key_service(n);
    case(
        name,
        router(Some(&security)),
        HeaderName::from_static("x-api-key"),
        value,
    )
}

fn main() {
    let (rounds, batch) = paired::rounds_and_batch();
    let ignored = || {
        (
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("none"),
        )
    };
    let mut cases = vec![
        {
            let (h, v) = ignored();
            case("route without the layer", router(None), h, v)
        },
        {
            let (h, v) = ignored();
            case(
                "auth disabled, through the layer",
                router(Some(&SecurityService::disabled())),
                h,
                v,
            )
        },
        api_key_case("API key, 1 key", 1),
        api_key_case("API key, 10,000 keys", 10_000),
        jwt_case("RS256 cache hit", rsa()),
        jwt_case("ES256 cache hit", ec256()),
        jwt_case("EdDSA cache hit", ed25519()),
    ];
    let n = cases.len();
    let columns = [
        Column {
            title: "over the route without the layer",
            against: (0..n).map(|i| (i > 0).then_some(0)).collect(),
        },
        Column {
            title: "over auth disabled",
            against: (0..n).map(|i| (i > 1).then_some(1)).collect(),
        },
    ];
    paired::run(&mut cases, &columns, rounds, batch);
}
