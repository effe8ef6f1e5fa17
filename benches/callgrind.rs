//! Instructions per request, counted by callgrind rather than timed, so that figures from a busy
//! machine can be compared: `scripts/callgrind.sh` runs each case with N and 2N requests and
//! reports the difference divided by N (start-up and first-call costs cancel out).
//!
//! Run by hand: `target/release/deps/callgrind-<hash> <case> <requests>` under
//! `valgrind --tool=callgrind --toggle-collect='*measure*'`; cases are listed by `--list`.
//! Under `cargo bench` (no case given) it does nothing. The `_prometheus` cases install the demo
//! servers' Prometheus recorder first, so that the metrics each request records are stored.
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use axum::Router;
use common::*;
use fixtures::*;
use http::{HeaderName, HeaderValue, header};
use serde_json::json;
use tasker_auth::{AuthConfig, SecurityService};

const CASES: &[&str] = &[
    "no_auth",
    "auth_disabled",
    "api_key_1",
    "api_key_10000",
    "RS256_hit",
    "RS256_miss",
    "RS256_cache_off",
    "ES256_hit",
    "ES256_miss",
    "ES256_cache_off",
    "EdDSA_hit",
    "EdDSA_miss",
    "EdDSA_cache_off",
    "api_key_1_prometheus",
    "RS256_hit_prometheus",
];

/// The only code callgrind counts: `requests` whole requests, cycling through `values`.
#[inline(never)]
fn measure(app: &Router, name: &HeaderName, values: &[HeaderValue], requests: usize) {
    for value in values.iter().cycle().take(requests) {
        oneshot(app, request(name, value));
    }
}

fn jwt_case(keys: &Keys, mode: &str) -> (Router, Vec<HeaderValue>) {
    let max_entries = match mode {
        "hit" => 10_000,
        "miss" => 4,
        _ => 0,
    };
    let security = SecurityService::from_config(&AuthConfig {
        jwt_cache_max_entries: max_entries,
        ..config_for(keys)
    })
    .unwrap();
    let tokens = if mode == "miss" { 64 } else { 1 };
    let values = (0..tokens)
        .map(|i| {
            let mut claims = claims(&["tasks:list"]);
            claims["jti"] = json!(i);
            HeaderValue::from_str(&format!("Bearer {}", token(keys, &claims))).unwrap()
        })
        .collect();
    (router(Some(&security)), values)
}

fn api_key_case(n: usize) -> (Router, Vec<HeaderValue>) {
    let (security, key) = api_key_service(n);
    (router(Some(&security)), vec![key])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, requests) = match args.as_slice() {
        [flag] if flag == "--list" => {
            println!("{}", CASES.join("\n"));
            return;
        }
        [case, n] if CASES.contains(&case.as_str()) => (case.as_str(), n.parse().unwrap()),
        // `cargo bench` runs every bench target with its own flags: nothing to do here.
        _ => return,
    };
    let api_key = HeaderName::from_static("x-api-key");
    let case = match case.strip_suffix("_prometheus") {
        Some(case) => {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            metrics::set_global_recorder(recorder).expect("no recorder installed yet");
            case
        }
        None => case,
    };
    let (app, name, values) = match case {
        "no_auth" => (
            router(None),
            api_key,
            vec![HeaderValue::from_static("none")],
        ),
        "auth_disabled" => (
            router(Some(&SecurityService::disabled())),
            api_key,
            vec![HeaderValue::from_static("none")],
        ),
        "api_key_1" => {
            let (app, values) = api_key_case(1);
            (app, api_key, values)
        }
        "api_key_10000" => {
            let (app, values) = api_key_case(10_000);
            (app, api_key, values)
        }
        _ => {
            let (alg, mode) = case.split_once('_').unwrap();
            let keys = match alg {
                "RS256" => rsa(),
                "ES256" => ec256(),
                _ => ed25519(),
            };
            let (app, values) = jwt_case(keys, mode);
            (app, header::AUTHORIZATION, values)
        }
    };
    // Fill the cache (hit) and warm every lazy initialisation before counting.
    measure(&app, &name, &values, values.len());
    measure(&app, &name, &values, requests);
}
