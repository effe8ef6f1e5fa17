//! What the targets share: one service with a static Ed25519 key and one API key, built once, and
//! a way to run `authenticate` without a runtime.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use tasker_auth::keys::{KeyAlgorithm, KeyPair};
use tasker_auth::{ApiKeyConfig, AuthConfig, AuthError, SecurityContext, SecurityService};

/// The API key the service accepts.
pub const API_KEY: &str = "fuzz-reader-0123456789abcdef";

/// The service under test and the private key its tokens are signed with.
pub struct Fixture {
    pub service: SecurityService,
    pub signing_key: EncodingKey,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa).expect("Ed25519 key generation");
        let config = AuthConfig {
            enabled: true,
            jwt_public_key: pair.public_key_pem(),
            jwt_allowed_algorithms: vec!["EdDSA".to_owned()],
            leeway_seconds: 30,
            api_keys_enabled: true,
            api_keys: vec![ApiKeyConfig {
                key: Some(API_KEY.to_owned()),
                permissions: vec!["tasks:read".to_owned()],
                description: "fuzz-reader".to_owned(),
                ..Default::default()
            }],
            ..AuthConfig::new()
        };
        let service = SecurityService::from_config(&config).expect("fuzz service config");
        let signing_key =
            EncodingKey::from_ed_pem(pair.private_key_pem().as_bytes()).expect("Ed25519 PEM");
        Fixture {
            service,
            signing_key,
        }
    })
}

/// Runs `authenticate` to completion. With a static key and API keys it never waits, so a pending
/// future is itself a bug.
pub fn authenticate(headers: &HeaderMap) -> Result<SecurityContext, AuthError> {
    let mut fut = pin!(fixture().service.authenticate(headers));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => check_outcome(result),
        Poll::Pending => panic!("static-key authentication waited"),
    }
}

/// The invariants every outcome must hold: a refusal is a 401 (never a 5xx), an acceptance names
/// a subject.
fn check_outcome(result: Result<SecurityContext, AuthError>) -> Result<SecurityContext, AuthError> {
    match &result {
        Ok(ctx) => assert!(!ctx.subject().is_empty(), "accepted with an empty subject"),
        Err(e) => assert_eq!(e.status(), StatusCode::UNAUTHORIZED, "{e:?}"),
    }
    result
}

/// `header.payload.signature` with a valid signature over the given raw (not yet encoded) parts.
pub fn signed_token(header: &[u8], payload: &[u8]) -> String {
    let mut message = URL_SAFE_NO_PAD.encode(header);
    message.push('.');
    message.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &fixture().signing_key, Algorithm::EdDSA)
            .expect("Ed25519 signing");
    message.push('.');
    message.push_str(&signature);
    message
}
