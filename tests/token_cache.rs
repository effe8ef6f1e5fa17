//! The verified-token cache is invisible: with it on or off, every request gets the same
//! decision at the same instant. Checked with a hand-set clock, a static key and a JWK set served
//! by a loopback identity provider whose keys the tests rotate, remove and restore.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use fixtures::{AUDIENCE, ISSUER, alg_name, b64, bearer, ed25519, sign_raw};
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use serde_json::{Value, json};
use tasker_auth::__private::{
    ManualClock, TokenCacheStats, service_with_clock, service_with_key_store_and_clock,
};
use tasker_auth::{
    AuthConfig, AuthError, JwksKeyStore, JwksSettings, SecurityContext, SecurityService,
};

/// The instant every test starts from (a fixed, plausible time).
const T0: i64 = 1_900_000_000;
const LEEWAY: i64 = 30;

fn claims_at(sub: &str, exp: i64, extra: Value) -> Value {
    let mut claims = json!({
        "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": exp,
        "permissions": ["tasks:read"],
    });
    if let (Some(c), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    claims
}

/// A token signed with the static Ed25519 key of the fixtures.
fn static_token(claims: &Value) -> String {
    fixtures::token(ed25519(), claims)
}

fn static_config(max_entries: u64) -> AuthConfig {
    AuthConfig {
        jwt_cache_max_entries: max_entries,
        leeway_seconds: LEEWAY as u64,
        api_keys_enabled: false,
        api_keys: Vec::new(),
        ..fixtures::config_for(ed25519())
    }
}

fn static_service(max_entries: u64, clock: &ManualClock) -> SecurityService {
    service_with_clock(&static_config(max_entries), clock.clone()).unwrap()
}

/// Everything a caller can observe of a decision.
fn decision(result: Result<SecurityContext, AuthError>) -> String {
    match result {
        Ok(ctx) => format!(
            "ok {} {:?} {:?} {:?}",
            ctx.subject(),
            ctx.method(),
            ctx.permissions(),
            ctx.expires_at()
        ),
        Err(e) => format!("err {} {e}", e.reason().as_str()),
    }
}

async fn decide(service: &SecurityService, token: &str) -> String {
    decision(service.authenticate(&bearer(token)).await)
}

fn stats(service: &SecurityService) -> TokenCacheStats {
    service.token_cache_stats().expect("the cache is on")
}

// ---------------------------------------------------------------------------------------------
// Time.

#[tokio::test]
async fn cached_token_expires_exactly_when_an_uncached_one_does() {
    let clock = ManualClock::new(T0);
    let (on, off) = (static_service(16, &clock), static_service(0, &clock));
    assert!(off.token_cache_stats().is_none());
    let exp = T0 + 100;
    let token = static_token(&claims_at("worker", exp, json!({"iat": T0})));

    for _ in 0..3 {
        assert!(decide(&on, &token).await.starts_with("ok worker"));
    }
    assert_eq!((stats(&on).misses, stats(&on).hits), (1, 2));

    // The last second of validity (exp plus leeway), then the first second past it.
    clock.set(exp + LEEWAY);
    assert!(decide(&on, &token).await.starts_with("ok "));
    assert_eq!(decide(&on, &token).await, decide(&off, &token).await);
    clock.set(exp + LEEWAY + 1);
    let refused = decide(&on, &token).await;
    assert!(refused.starts_with("err expired"), "{refused}");
    assert_eq!(refused, decide(&off, &token).await);
    assert_eq!(stats(&on).hits, 5, "the refusal came from the cache entry");
}

#[tokio::test]
async fn clock_moving_back_before_iat_refuses_a_cached_token_as_the_full_check_does() {
    let clock = ManualClock::new(T0);
    let (on, off) = (static_service(16, &clock), static_service(0, &clock));
    let token = static_token(&claims_at("w", T0 + 600, json!({"iat": T0, "nbf": T0})));
    assert!(decide(&on, &token).await.starts_with("ok "));
    assert_eq!(stats(&on).entries, 1);

    clock.set(T0 - LEEWAY - 1);
    let refused = decide(&on, &token).await;
    assert!(refused.contains("nbf in the future"), "{refused}");
    assert_eq!(refused, decide(&off, &token).await);
    assert_eq!(stats(&on).hits, 1);
}

#[tokio::test]
async fn token_with_future_nbf_is_accepted_within_leeway_but_not_cached() {
    let clock = ManualClock::new(T0);
    let (on, off) = (static_service(16, &clock), static_service(0, &clock));
    let early = static_token(&claims_at("w", T0 + 600, json!({"nbf": T0 + 10})));
    for _ in 0..2 {
        assert!(decide(&on, &early).await.starts_with("ok "));
        assert_eq!(decide(&on, &early).await, decide(&off, &early).await);
    }
    assert_eq!(stats(&on).entries, 0);
    assert_eq!(stats(&on).hits, 0);

    // Once in force it is cached like any other.
    clock.set(T0 + 10);
    decide(&on, &early).await;
    assert_eq!(stats(&on).entries, 1);
}

#[tokio::test]
async fn failures_are_never_cached() {
    let clock = ManualClock::new(T0);
    let on = static_service(16, &clock);
    let good = static_token(&claims_at("w", T0 + 600, json!({})));
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    let expired = static_token(&claims_at("w", T0 - 600, json!({})));
    let wrong_aud = static_token(&claims_at("w", T0 + 600, json!({"aud": "other"})));
    for token in [&forged, &expired, &wrong_aud] {
        for _ in 0..3 {
            assert!(decide(&on, token).await.starts_with("err "));
        }
    }
    let s = stats(&on);
    assert_eq!((s.entries, s.hits, s.misses), (0, 0, 9));
}

// ---------------------------------------------------------------------------------------------
// Bound.

#[tokio::test]
async fn a_flood_of_distinct_valid_tokens_never_grows_the_cache_past_its_bound() {
    let clock = ManualClock::new(T0);
    let max = 64;
    let on = static_service(max, &clock);
    for i in 0..2_000 {
        let token = static_token(&claims_at(&format!("flood-{i}"), T0 + 600, json!({})));
        assert!(decide(&on, &token).await.starts_with("ok "));
        let s = stats(&on);
        assert!(s.entries <= max, "{} entries after {i} tokens", s.entries);
    }
    let s = stats(&on);
    assert_eq!(s.misses, 2_000);
    assert!(s.evictions >= 2_000 - max, "{s:?}");
}

#[test]
fn jwt_cache_max_entries_is_read_and_checked() {
    let toml = "[web.auth]\njwt_cache_max_entries = 0\n";
    let config = tasker_auth::TaskerConfig::from_toml_str(toml, &|_| None).unwrap();
    assert_eq!(config.web.auth.jwt_cache_max_entries, 0);
    assert_eq!(AuthConfig::default().jwt_cache_max_entries, 10_000);

    let err = SecurityService::from_config(&static_config(1_000_001)).unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwt_cache_max_entries"));
    assert!(
        SecurityService::from_config(&static_config(1_000_000))
            .unwrap()
            .token_cache_stats()
            .is_some()
    );
}

// ---------------------------------------------------------------------------------------------
// A JWK set whose keys change.

struct SigningKey {
    kid: String,
    alg: Algorithm,
    jwk: Value,
    encoding: EncodingKey,
}

fn ed_key(kid: &str) -> SigningKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    SigningKey {
        kid: kid.to_owned(),
        alg: Algorithm::EdDSA,
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())}),
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
    }
}

fn ec_key(kid: &str) -> SigningKey {
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    SigningKey {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
    }
}

fn jwk_token(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": alg_name(key.alg), "typ": "JWT", "kid": key.kid});
    sign_raw(
        &header.to_string(),
        &claims.to_string(),
        &key.encoding,
        key.alg,
    )
}

fn jwk_set(keys: &[&SigningKey]) -> Vec<u8> {
    let keys: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

/// A loopback identity provider serving whatever set it was last given.
struct Idp {
    set: Arc<Mutex<Vec<u8>>>,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idp {
    async fn start(set: Vec<u8>) -> Idp {
        let set = Arc::new(Mutex::new(set));
        let served = Arc::clone(&set);
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let body = served.lock().unwrap().clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp { set, url, server }
    }

    /// Publishes `keys` and has `store` fetch them now.
    async fn publish(&self, store: &JwksKeyStore, keys: &[&SigningKey]) {
        *self.set.lock().unwrap() = jwk_set(keys);
        store.refresh().await.unwrap();
    }

    async fn store(&self) -> JwksKeyStore {
        let mut settings = JwksSettings::new(self.url.clone());
        settings.allow_http = true;
        settings.allowed_algorithms = vec![Algorithm::EdDSA, Algorithm::ES256];
        // No refetch on an unknown kid and no periodic refresh: the keys change only when a test
        // publishes, so the services with and without the cache see the same set.
        settings.refresh_interval = Duration::from_secs(3600);
        settings.min_refresh_interval = Duration::from_secs(3600);
        let store = JwksKeyStore::new(settings).unwrap();
        store.refresh().await.unwrap();
        store
    }
}

fn jwks_config(max_entries: u64) -> AuthConfig {
    AuthConfig {
        enabled: true,
        jwt_allowed_algorithms: vec!["EdDSA".to_owned(), "ES256".to_owned()],
        jwt_cache_max_entries: max_entries,
        leeway_seconds: LEEWAY as u64,
        ..AuthConfig::default()
    }
}

fn jwks_service(max_entries: u64, store: &JwksKeyStore, clock: &ManualClock) -> SecurityService {
    service_with_key_store_and_clock(&jwks_config(max_entries), store.clone(), clock.clone())
        .unwrap()
}

#[tokio::test]
async fn removing_or_rotating_a_key_drops_its_cached_tokens() {
    let (a, b) = (ed_key("a"), ec_key("b"));
    let idp = Idp::start(jwk_set(&[&a, &b])).await;
    let store = idp.store().await;
    let clock = ManualClock::new(T0);
    let (on, off) = (
        jwks_service(16, &store, &clock),
        jwks_service(0, &store, &clock),
    );
    let token_a = jwk_token(&a, &claims_at("svc-a", T0 + 600, json!({})));
    let token_b = jwk_token(&b, &claims_at("svc-b", T0 + 600, json!({})));

    for token in [&token_a, &token_b, &token_a, &token_b] {
        assert!(decide(&on, token).await.starts_with("ok svc-"));
    }
    assert_eq!((stats(&on).misses, stats(&on).hits), (2, 2));

    // `a` leaves the set: its token is refused at once, `b`'s still comes from the cache.
    idp.publish(&store, &[&b]).await;
    let refused = decide(&on, &token_a).await;
    assert!(refused.contains("unknown kid"), "{refused}");
    assert_eq!(refused, decide(&off, &token_a).await);
    // A refreshed set holds new key objects: `b`'s token is verified in full once more.
    assert!(decide(&on, &token_b).await.starts_with("ok svc-b"));
    assert!(decide(&on, &token_b).await.starts_with("ok svc-b"));
    assert_eq!((stats(&on).misses, stats(&on).hits), (4, 3));

    // `b` is replaced by another key under the same kid: the old token no longer verifies.
    let b2 = ec_key("b");
    idp.publish(&store, &[&b2]).await;
    let refused = decide(&on, &token_b).await;
    assert!(refused.contains("bad signature"), "{refused}");
    assert_eq!(refused, decide(&off, &token_b).await);
    let token_b2 = jwk_token(&b2, &claims_at("svc-b2", T0 + 600, json!({})));
    assert!(decide(&on, &token_b2).await.starts_with("ok svc-b2"));
}

// ---------------------------------------------------------------------------------------------
// Cache on and off decide alike over random sequences of tokens, times and key changes.

#[derive(Clone, Debug)]
enum Step {
    /// Moves the clock by this many seconds (backwards too).
    Advance(i64),
    /// Presents token `i` of the pool to every service.
    Request(usize),
    /// Publishes the keys whose bits are set (bit 0: a, 1: b, 2: a replacement for a).
    Publish(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (-60i64..=200).prop_map(Step::Advance),
        6 => (0usize..64).prop_map(Step::Request),
        1 => (0u8..8).prop_map(Step::Publish),
    ]
}

/// Tokens around `T0`: valid for a while, starting later, issued in the future, expired, with a
/// wrong audience or signature; signed by the static key and by each JWK-set key.
fn token_pool(a: &SigningKey, b: &SigningKey, a2: &SigningKey) -> Vec<String> {
    let shapes = [
        json!({"exp": T0 + 60}),
        json!({"exp": T0 + 300, "iat": T0}),
        json!({"exp": T0 + 120, "nbf": T0 + 40}),
        json!({"exp": T0 + 500, "nbf": T0 + 10, "iat": T0 + 20}),
        json!({"exp": T0 + 900, "iat": T0 + 100}),
        json!({"exp": T0 - 10}),
        json!({"exp": T0 + 600, "aud": "someone-else"}),
        json!({"exp": T0 + 200, "permissions": ["tasks:read", "no:such"]}),
    ];
    let mut pool = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let claims = claims_at(&format!("s{i}"), 0, shape.clone());
        pool.push(static_token(&claims));
        for key in [a, b, a2] {
            pool.push(jwk_token(key, &claims));
        }
    }
    // A forged signature on each of the first tokens.
    let forged: Vec<String> = pool
        .iter()
        .take(8)
        .map(|t| {
            let (head, _) = t.rsplit_once('.').unwrap();
            format!("{head}.{}", b64([7u8; 64]))
        })
        .collect();
    pool.extend(forged);
    pool
}

#[test]
fn cache_on_and_off_give_identical_decisions() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (a, b, a2) = (ed_key("a"), ec_key("b"), ed_key("a"));
    let pool = token_pool(&a, &b, &a2);
    let idp = runtime.block_on(Idp::start(jwk_set(&[&a, &b])));

    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(step(), 1..120), |steps| {
        runtime.block_on(async {
            *idp.set.lock().unwrap() = jwk_set(&[&a, &b]);
            let store = idp.store().await;
            let clock = ManualClock::new(T0);
            // A tiny cache, so that evictions happen too.
            let services = [
                (static_service(3, &clock), static_service(0, &clock)),
                (
                    jwks_service(3, &store, &clock),
                    jwks_service(0, &store, &clock),
                ),
            ];
            for step in &steps {
                match step {
                    Step::Advance(secs) => clock.advance(*secs),
                    Step::Publish(mask) => {
                        let keys: Vec<&SigningKey> = [&a, &b, &a2]
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| mask & (1 << i) != 0)
                            .map(|(_, k)| k)
                            .collect();
                        // An empty set is refused by the store (it keeps the old one).
                        *idp.set.lock().unwrap() = jwk_set(&keys);
                        let _ = store.refresh().await;
                    }
                    Step::Request(i) => {
                        let token = &pool[i % pool.len()];
                        for (on, off) in &services {
                            let (with, without) =
                                (decide(on, token).await, decide(off, token).await);
                            prop_assert_eq!(with, without, "token {} at {}", i, clock.now());
                        }
                    }
                }
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
