//! Keys, tokens, services and a small protected app for the authentication tests and benches.
//!
//! Keys are generated once per test binary (RSA generation is the slow part) with aws-lc-rs;
//! tokens are built by hand so that tests can put anything in the header.

#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tasker_auth::{Action, AuthConfig, Resource, SecurityContext, SecurityService, authorize};
use tower::ServiceExt;

pub const ISSUER: &str = "tasker-core";
pub const AUDIENCE: &str = "tasker-api";

/// A key pair: the signing key and the public key as PEM.
pub struct Keys {
    pub encoding: EncodingKey,
    pub private_pem: String,
    pub public_pem: String,
    pub alg: Algorithm,
}

fn pem(tag: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(tag, der.to_vec()))
}

fn make_rsa() -> Keys {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let private: aws_lc_rs::encoding::Pkcs8V1Der<'_> = pair.as_der().unwrap();
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let private_pem = pem("PRIVATE KEY", private.as_ref());
    Keys {
        encoding: EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
        private_pem,
        public_pem: pem("PUBLIC KEY", public.as_ref()),
        alg: Algorithm::RS256,
    }
}

fn make_ec(alg: Algorithm) -> Keys {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    };
    let signing = match alg {
        Algorithm::ES384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    let pair = EcdsaKeyPair::generate(signing).unwrap();
    let private = pair.to_pkcs8v1().unwrap();
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let private_pem = pem("PRIVATE KEY", private.as_ref());
    Keys {
        encoding: EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap(),
        private_pem,
        public_pem: pem("PUBLIC KEY", public.as_ref()),
        alg,
    }
}

fn make_ed() -> Keys {
    let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let private = pair.to_pkcs8v1().unwrap();
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let private_pem = pem("PRIVATE KEY", private.as_ref());
    Keys {
        encoding: EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap(),
        private_pem,
        public_pem: pem("PUBLIC KEY", public.as_ref()),
        alg: Algorithm::EdDSA,
    }
}

macro_rules! once {
    ($name:ident, $make:expr) => {
        pub fn $name() -> &'static Keys {
            static KEYS: OnceLock<Keys> = OnceLock::new();
            KEYS.get_or_init(|| $make)
        }
    };
}

once!(rsa, make_rsa());
once!(rsa_foreign, make_rsa());
once!(ec256, make_ec(Algorithm::ES256));
once!(ec384, make_ec(Algorithm::ES384));
once!(ed25519, make_ed());

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims every test starts from: valid for an hour, granting `permissions`.
pub fn claims(permissions: &[&str]) -> Value {
    json!({
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "exp": now() + 3600,
        "permissions": permissions,
    })
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header` and `claims` (any JSON, written as given) with `key` as `alg`.
pub fn sign_raw(header: &str, claims: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// A token signed by `keys` with the header `{"alg": .., "typ": "JWT"}` plus `extra_header`.
pub fn token_with(keys: &Keys, extra_header: Value, claims: &Value) -> String {
    let mut header = json!({"alg": alg_name(keys.alg), "typ": "JWT"});
    if let (Some(h), Some(extra)) = (header.as_object_mut(), extra_header.as_object()) {
        for (k, v) in extra {
            h.insert(k.clone(), v.clone());
        }
    }
    sign_raw(
        &header.to_string(),
        &claims.to_string(),
        &keys.encoding,
        keys.alg,
    )
}

pub fn token(keys: &Keys, claims: &Value) -> String {
    token_with(keys, json!({}), claims)
}

pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::HS256 => "HS256",
        other => panic!("no name for {other:?} in the fixtures"),
    }
}

/// The API keys every enabled test config carries.
pub const READER_KEY: &str = "reader-key-0123456789abcdef";
pub const ADMIN_KEY_PLAIN: &str = "admin-key-by-hash-0123456789";
pub const EXPIRED_KEY: &str = "expired-key-0123456789abcdef";

pub fn api_keys() -> Vec<tasker_auth::ApiKeyConfig> {
    vec![
        tasker_auth::ApiKeyConfig {
            key: Some(READER_KEY.to_owned()),
            permissions: vec!["tasks:read".to_owned(), "tasks:list".to_owned()],
            description: "ci-reader".to_owned(),
            ..Default::default()
        },
        tasker_auth::ApiKeyConfig {
            key_sha256: Some(tasker_auth::hash_api_key(ADMIN_KEY_PLAIN)),
            permissions: vec!["tasks:*".to_owned()],
            description: "admin-by-hash".to_owned(),
            ..Default::default()
        },
        tasker_auth::ApiKeyConfig {
            key: Some(EXPIRED_KEY.to_owned()),
            permissions: vec!["tasks:list".to_owned()],
            description: "expired".to_owned(),
            expires_at: Some("2020-01-01T00:00:00Z".to_owned()),
            ..Default::default()
        },
    ]
}

/// An enabled config verifying with `keys` (its algorithm only) and accepting the API keys.
pub fn config_for(keys: &Keys) -> AuthConfig {
    AuthConfig {
        enabled: true,
        jwt_public_key: keys.public_pem.clone(),
        jwt_allowed_algorithms: vec![alg_name(keys.alg).to_owned()],
        api_keys_enabled: true,
        api_keys: api_keys(),
        ..AuthConfig::default()
    }
}

pub fn service_for(keys: &Keys) -> SecurityService {
    SecurityService::from_config(&config_for(keys)).unwrap()
}

async fn list_tasks(ctx: SecurityContext) -> axum::Json<Value> {
    axum::Json(json!({
        "subject": ctx.subject(),
        "method": ctx.method().as_str(),
        "permissions": ctx.permissions(),
    }))
}

async fn create_task(ctx: SecurityContext) -> String {
    ctx.subject().to_owned()
}

/// `GET /v1/tasks` (tasks:list), `POST /v1/tasks` (tasks:create), public `/health`.
///
/// The layer goes on the `MethodRouter` (not the `Router`) so that a wrong method stays a 405:
/// axum's `Router::route_layer` also wraps each path's 405 fallback.
pub fn app(security: &SecurityService) -> Router {
    Router::new()
        .route(
            "/v1/tasks",
            get(authorize(Resource::Tasks, Action::List, list_tasks))
                .post(authorize(Resource::Tasks, Action::Create, create_task))
                .route_layer(security.layer()),
        )
        .route("/health", get(|| async { "ok" }))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn reason(&self) -> &str {
        self.body["error"]["reason"].as_str().unwrap_or("")
    }
}

/// Sends one request through `app` with the given headers.
pub async fn send_to(app: Router, method: &str, path: &str, headers: HeaderMap) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    *req.headers_mut() = headers;
    let response = app.oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get_tasks(security: &SecurityService, headers: HeaderMap) -> Reply {
    send_to(app(security), "GET", "/v1/tasks", headers).await
}

pub fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

pub fn api_key(key: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_str(key).unwrap());
    headers
}

/// Asserts a 401 with `reason`: status, body, `x-auth-failure-reason` and
/// `WWW-Authenticate`.
#[track_caller]
pub fn assert_refused(reply: &Reply, reason: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "body: {}",
        reply.body
    );
    assert_eq!(reply.body["error"]["code"], "AUTHENTICATION_FAILED");
    assert_eq!(reply.reason(), reason, "body: {}", reply.body);
    assert!(reply.body["error"]["message"].is_string());
    assert_eq!(
        reply.headers.get("x-auth-failure-reason").unwrap(),
        reason,
        "x-auth-failure-reason"
    );
    assert_eq!(
        reply.headers.get(http::header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let challenge = reply
        .headers
        .get(http::header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap();
    if reason == "missing" {
        assert_eq!(challenge, r#"Bearer realm="tasker""#);
    } else {
        assert_eq!(challenge, r#"Bearer realm="tasker", error="invalid_token""#);
    }
}

/// Asserts a 200 from `GET /v1/tasks` for `subject`.
#[track_caller]
pub fn assert_accepted(reply: &Reply, subject: &str) {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(reply.body["subject"], subject);
    assert!(reply.headers.get("x-auth-failure-reason").is_none());
}
