//! Credential extraction: arbitrary header lines (`name: value`, one per line) through
//! `SecurityService::authenticate`, which finds the one credential (bearer token or API key).
//!
//! `cargo +nightly fuzz run credentials fuzz/corpus/credentials`

#![no_main]

mod common;

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    if let Ok(ctx) = common::authenticate(&headers) {
        // Only the configured API key or a token signed by the fixture's key gets in.
        let api_key = headers
            .get("x-api-key")
            .is_some_and(|v| v.as_bytes() == common::API_KEY.as_bytes());
        assert!(
            api_key || headers.contains_key(http::header::AUTHORIZATION),
            "{ctx:?}"
        );
    }
});
