//! What authentication adds to a request, in time, measured so that a machine whose speed drifts
//! from one second to the next (a shared 2-core VM) still gives a steady figure.
//!
//! Criterion times each case in its own few seconds, so a drift between them shows up as a
//! difference between cases. Here every round times a short batch of each case back to back
//! (in a rotating order), takes each case's difference from the route without the layer within
//! that round, and the figure is the median of those differences over many rounds.
//!
//! Cases: the route without the layer (the baseline), the layer with authentication disabled
//! (what the layer itself costs: the "without auth" server of a deployment), an API key with 1 and with 10,000 keys
//! configured, and a verified-token cache hit for RS256, ES256 and EdDSA.
//!
//! Run: `cargo bench --bench paired` (about 20 s; `-- ROUNDS BATCH` to change the default
//! 2000 rounds of 100 requests).
#![allow(missing_docs)]

mod common;
#[path = "../tests/common/auth_fixtures.rs"]
mod fixtures;

use std::time::Instant;

use axum::Router;
use common::*;
use fixtures::*;
use http::{HeaderName, HeaderValue, header};
use tasker_auth::{AuthConfig, SecurityService};

struct Case {
    name: &'static str,
    app: Router,
    header: HeaderName,
    value: HeaderValue,
}

fn jwt_case(name: &'static str, keys: &Keys) -> Case {
    let security = SecurityService::from_config(&AuthConfig {
        jwt_cache_max_entries: 10_000,
        ..config_for(keys)
    })
    .unwrap();
    let token = token(keys, &claims(&["tasks:list", "tasks:read"]));
    Case {
        name,
        app: router(Some(&security)),
        header: header::AUTHORIZATION,
        value: HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    }
}

fn api_key_case(name: &'static str, n: usize) -> Case {
    let (security, value) = api_key_service(n);
    Case {
        name,
        app: router(Some(&security)),
        header: HeaderName::from_static("x-api-key"),
        value,
    }
}

/// Nanoseconds per request over `batch` requests of `case`.
fn time(case: &Case, batch: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        oneshot(&case.app, request(&case.header, &case.value));
    }
    start.elapsed().as_nanos() as f64 / f64::from(batch)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn quartiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 4], values[values.len() * 3 / 4])
}

fn main() {
    // `cargo bench` passes `--bench`; anything numeric is ours.
    let numbers: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = numbers.first().copied().unwrap_or(2000) as usize;
    let batch = numbers.get(1).copied().unwrap_or(100);

    let cases = [
        Case {
            name: "route without the layer",
            app: router(None),
            header: HeaderName::from_static("x-api-key"),
            value: HeaderValue::from_static("none"),
        },
        Case {
            name: "auth disabled, through the layer",
            app: router(Some(&SecurityService::disabled())),
            header: HeaderName::from_static("x-api-key"),
            value: HeaderValue::from_static("none"),
        },
        api_key_case("API key, 1 key", 1),
        api_key_case("API key, 10,000 keys", 10_000),
        jwt_case("RS256 cache hit", rsa()),
        jwt_case("ES256 cache hit", ec256()),
        jwt_case("EdDSA cache hit", ed25519()),
    ];
    // Warm up: fill the caches, fault in the code.
    for case in &cases {
        time(case, 1000);
    }
    let mut per_case: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut differences: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut over_disabled: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut this_round = vec![0.0; cases.len()];
    for round in 0..rounds {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            this_round[i] = time(&cases[i], batch);
        }
        for i in 0..cases.len() {
            per_case[i].push(this_round[i]);
            differences[i].push(this_round[i] - this_round[0]);
            over_disabled[i].push(this_round[i] - this_round[1]);
        }
    }
    println!(
        "{rounds} rounds of {batch} requests per case; medians over the rounds, with the interquartile range"
    );
    println!(
        "| case | ns per request | ns over the route without the layer | ns over auth disabled | × the route without the layer |"
    );
    println!("|---|---:|---:|---:|---:|");
    let base = median(&mut per_case[0].clone());
    for (i, case) in cases.iter().enumerate() {
        let time = median(&mut per_case[i]);
        let (low, high) = quartiles(&mut differences[i]);
        let over = median(&mut differences[i]);
        let over = if i == 0 {
            "—".to_owned()
        } else {
            format!("{over:.0} ({low:.0} – {high:.0})")
        };
        let (low, high) = quartiles(&mut over_disabled[i]);
        let beyond = median(&mut over_disabled[i]);
        let beyond = if i < 2 {
            "—".to_owned()
        } else {
            format!("{beyond:.0} ({low:.0} – {high:.0})")
        };
        println!(
            "| {} | {time:.0} | {over} | {beyond} | {:.2} |",
            case.name,
            time / base
        );
    }
}
