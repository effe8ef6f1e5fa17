//! JWK set parsing: arbitrary text through `JwksKeyStore::from_jwks_json` with every algorithm
//! allowed, then a lookup of each kid it kept.
//!
//! `cargo +nightly fuzz run jwks fuzz/corpus/jwks`

#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use tasker_auth::JwksKeyStore;

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Alternate between every algorithm and the asymmetric ones only, from the input's length.
    let allowed = if data.len() % 2 == 0 {
        &ALL[..]
    } else {
        &ALL[3..]
    };
    let Ok(store) = JwksKeyStore::from_jwks_json(text, allowed) else {
        return;
    };
    for kid in store.kids() {
        let mut fut = pin!(store.key(&kid));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(found) => {
                let key = found.expect("a kid the store lists is found");
                if let Some(alg) = key.alg {
                    assert!(allowed.contains(&alg), "key with a refused alg {alg:?}");
                }
            }
            Poll::Pending => panic!("a static key set waited"),
        }
    }
});
