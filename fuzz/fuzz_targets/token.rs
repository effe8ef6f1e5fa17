//! Token parsing and claim checks.
//!
//! The first byte picks the mode: even, the rest is the bearer token as is (shape, base64,
//! header, signature checks); odd, the rest is `header JSON \0 payload JSON`, which is encoded and
//! signed with the service's key, so the header and claim checks behind the signature are reached.
//!
//! `cargo +nightly fuzz run token fuzz/corpus/token`

#![no_main]

mod common;

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let split = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        let payload = rest.get(split + 1..).unwrap_or_default();
        common::signed_token(&rest[..split], payload).into_bytes()
    };
    let mut value = b"Bearer ".to_vec();
    value.extend_from_slice(&token);
    let Ok(value) = HeaderValue::from_bytes(&value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    if let Ok(ctx) = common::authenticate(&headers) {
        // Only a token signed by the fixture's key can get in.
        assert!(mode % 2 == 1, "unsigned token accepted: {ctx:?}");
    }
});
