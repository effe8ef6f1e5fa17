//! Configuration loading: arbitrary TOML text through `TaskerConfig::from_toml_str` (with a
//! fixed environment, so `${VAR}` substitution is exercised), then, when it loads,
//! `SecurityService::from_config`. Either may refuse; neither may panic. A refusal while reading
//! the file quotes no value at all (its errors say what kind of value was found, never what it
//! was), and one from the checks after it never quotes a secret.
//!
//! `cargo +nightly fuzz run config fuzz/corpus/config`

#![no_main]

use libfuzzer_sys::fuzz_target;
use tasker_auth::{ConfigError, JwtVerificationMethod, SecurityService, TaskerConfig};

const SECRET: &str = "s3cret-value-from-the-environment";

fn env(name: &str) -> Option<String> {
    match name {
        "TASKER_JWT_ISSUER" => Some("https://idp.example/".to_owned()),
        "EMPTY" => Some(String::new()),
        "SECRET" => Some(SECRET.to_owned()),
        "BIND" => Some("0.0.0.0:8080".to_owned()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut config = match TaskerConfig::from_toml_str(text, &env) {
        Ok(config) => config,
        Err(e) => {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(SECRET), "a value in {text}");
            return check_error(&e);
        }
    };
    let auth = &mut config.web.auth;
    // A path would read the file system (a fuzzer finds /dev/zero), and a JWKS URL needs a
    // runtime and the network: neither is the parser under test.
    auth.jwt_public_key_path.clear();
    auth.jwt_verification_method = JwtVerificationMethod::PublicKey;
    if let Err(e) = SecurityService::from_config(auth) {
        check_error(&e);
    }
});

/// A refusal names a key, and one about a secret (an API key, its hash, an inline public key)
/// never quotes it. A non-secret setting set from `${SECRET}` may be quoted: it is not a secret.
fn check_error(e: &ConfigError) {
    let text = e.to_string();
    let secret_key = e.key().is_some_and(|k| {
        k.ends_with(".key") || k.ends_with("key_sha256") || k.ends_with("jwt_public_key")
    });
    assert!(!(secret_key && text.contains(SECRET)), "secret in {text}");
}
