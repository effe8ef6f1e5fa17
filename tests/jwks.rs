//! `JwksKeyStore` against a real HTTP identity provider on loopback whose answers each test
//! controls: rotation, removal, outages, stampedes, hostile responses, start-up recovery.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use tasker_auth::{JwksError, JwksKeyStore, JwksSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A scriptable identity provider.

/// What the IdP answers to a request.
#[derive(Clone, Debug)]
enum Reply {
    /// 200 with this JSON body.
    Set(Vec<u8>),
    /// An empty response with this status.
    Status(u16),
    /// 302 to this path of the same server.
    Redirect(String),
    /// 200 with an arbitrary body.
    Body(Vec<u8>),
    /// Waits, then answers 200 with this body.
    SlowHead(Duration, Vec<u8>),
    /// Sends the head at once, waits, then sends the body.
    SlowBody(Duration, Vec<u8>),
    /// 200 declaring `Content-Length: n` and sending n bytes.
    Declared(usize),
    /// 200 without a length, streaming whitespace until the client leaves (or 64 MiB).
    Endless,
}

#[derive(Default)]
struct Shared {
    reply: Mutex<Option<Reply>>,
    /// One-shot replies used before `reply`.
    script: Mutex<VecDeque<Reply>>,
    paths: Mutex<Vec<String>>,
    endless_written: AtomicUsize,
    endless_done: AtomicBool,
}

struct Idp {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idp {
    async fn start(reply: Reply) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        *shared.reply.lock().unwrap() = Some(reply);
        let state = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, Arc::clone(&state)));
            }
        });
        Idp {
            addr,
            shared,
            server,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn set(&self, reply: Reply) {
        *self.shared.reply.lock().unwrap() = Some(reply);
    }

    fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// Requests for the JWK set so far.
    fn requests(&self) -> usize {
        self.paths_to("/jwks.json")
    }

    fn paths_to(&self, path: &str) -> usize {
        self.shared
            .paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

async fn serve(mut socket: TcpStream, shared: Arc<Shared>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    shared.paths.lock().unwrap().push(path.clone());
    let scripted = shared.script.lock().unwrap().pop_front();
    let reply = if path == "/jwks.json" {
        scripted.or_else(|| shared.reply.lock().unwrap().clone())
    } else {
        // Any other path (a redirect target) serves a valid but different set.
        Some(Reply::Set(jwks(&[&ed_key("redirected")])))
    };
    let Some(reply) = reply else { return };
    let ok = |len: usize| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
        )
    };
    let _ = match reply {
        Reply::Set(body) | Reply::Body(body) => {
            write_all(&mut socket, &[ok(body.len()).as_bytes(), &body]).await
        }
        Reply::Status(status) => {
            let head = format!(
                "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            write_all(&mut socket, &[head.as_bytes()]).await
        }
        Reply::Redirect(to) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            write_all(&mut socket, &[head.as_bytes()]).await
        }
        Reply::SlowHead(delay, body) => {
            tokio::time::sleep(delay).await;
            write_all(&mut socket, &[ok(body.len()).as_bytes(), &body]).await
        }
        Reply::SlowBody(delay, body) => {
            let _ = socket.write_all(ok(body.len()).as_bytes()).await;
            tokio::time::sleep(delay).await;
            write_all(&mut socket, &[&body]).await
        }
        Reply::Declared(len) => {
            let body = vec![b' '; len];
            write_all(&mut socket, &[ok(len).as_bytes(), &body]).await
        }
        Reply::Endless => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 16 * 1024];
            while shared.endless_written.load(Ordering::SeqCst) < 64 * 1024 * 1024 {
                if socket.write_all(&chunk).await.is_err() {
                    break;
                }
                shared
                    .endless_written
                    .fetch_add(chunk.len(), Ordering::SeqCst);
            }
            shared.endless_done.store(true, Ordering::SeqCst);
            Ok(())
        }
    };
}

async fn write_all(socket: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<()> {
    for part in parts {
        socket.write_all(part).await?;
    }
    socket.shutdown().await
}

// ---------------------------------------------------------------------------------------------
// Keys generated for the run.

struct TestKey {
    kid: String,
    alg: Algorithm,
    jwk: Value,
    encoding: EncodingKey,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn ed_key(kid: &str) -> TestKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::EdDSA,
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
                    "x": b64(pair.public_key().as_ref())}),
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
    }
}

fn ec_key(kid: &str) -> TestKey {
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
    }
}

fn rsa_key(kid: &str) -> TestKey {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let public = pair.public_key();
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::RS256,
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero())}),
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    }
}

fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    let keys: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
struct Claims {
    sub: String,
    exp: u64,
    permissions: Vec<String>,
}

fn sign(key: &TestKey, claims: &Claims) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn claims() -> Claims {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        sub: "svc-reporting".to_owned(),
        exp: now + 600,
        permissions: vec!["tasks:read".to_owned()],
    }
}

// ---------------------------------------------------------------------------------------------
// Settings and helpers.

/// Short durations so that the tests stay fast; each test loosens what it exercises.
fn settings(idp: &Idp) -> JwksSettings {
    let mut settings = JwksSettings::new(idp.url());
    settings.allow_http = true;
    settings.allowed_algorithms = vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
    settings.refresh_interval = Duration::from_secs(3600);
    settings.max_stale = Duration::from_secs(300);
    settings.min_refresh_interval = Duration::from_millis(10);
    settings.fetch_timeout = Duration::from_millis(300);
    settings
}

/// Polls `done` every 10 ms for up to 5 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn unknown_kid(result: Result<Arc<tasker_auth::JwksKey>, JwksError>) -> bool {
    matches!(result, Err(JwksError::UnknownKid))
}

// ---------------------------------------------------------------------------------------------
// Rotation and removal.

#[tokio::test]
async fn rotation_new_kid_is_accepted_after_the_periodic_refresh() {
    let (a, b) = (ed_key("a"), ed_key("b"));
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let mut s = settings(&idp);
    s.refresh_interval = Duration::from_millis(100);
    // No on-demand refetch: only the periodic refresh can bring `b`.
    s.min_refresh_interval = Duration::from_secs(3600);
    let store = JwksKeyStore::new(s).unwrap();

    assert_eq!(store.key("a").await.unwrap().kid(), "a");
    assert!(unknown_kid(store.key("b").await));
    assert_eq!(idp.requests(), 1, "the cooldown allows no refetch");

    idp.set(Reply::Set(jwks(&[&a, &b])));
    eventually("the refresh to pick up b", || store.kids() == ["a", "b"]).await;
    assert_eq!(store.key("b").await.unwrap().kid(), "b");
    assert_eq!(store.key("a").await.unwrap().kid(), "a");
}

#[tokio::test]
async fn rotation_unknown_kid_refetches_once_past_the_cooldown() {
    let (a, b) = (ed_key("a"), ed_key("b"));
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let mut s = settings(&idp);
    s.min_refresh_interval = Duration::from_millis(50);
    let store = JwksKeyStore::new(s).unwrap();
    store.key("a").await.unwrap();

    idp.set(Reply::Set(jwks(&[&a, &b])));
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(store.key("b").await.unwrap().kid(), "b");
    assert_eq!(idp.requests(), 2);
    assert_eq!(store.fetch_count(), 2);
}

#[tokio::test]
async fn removed_key_is_rejected_after_refresh() {
    let (a, b) = (ed_key("a"), ec_key("b"));
    let idp = Idp::start(Reply::Set(jwks(&[&a, &b]))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    store.key("a").await.unwrap();
    store.key("b").await.unwrap();

    idp.set(Reply::Set(jwks(&[&b])));
    assert_eq!(store.refresh().await.unwrap(), 1);
    assert!(unknown_kid(store.key("a").await));
    assert_eq!(store.key("b").await.unwrap().kid(), "b");
    assert_eq!(store.kids(), ["b"]);
}

// ---------------------------------------------------------------------------------------------
// Outages.

#[tokio::test]
async fn idp_down_stale_keys_are_served_until_max_stale_then_unavailable() {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let mut s = settings(&idp);
    s.refresh_interval = Duration::from_millis(100);
    s.max_stale = Duration::from_millis(1500);
    s.min_refresh_interval = Duration::from_millis(20);
    let store = JwksKeyStore::new(s).unwrap();
    let before_success = Instant::now();
    store.key("a").await.unwrap();
    let after_success = Instant::now();

    idp.set(Reply::Status(503));
    eventually("two failed refreshes", || idp.requests() >= 3).await;
    assert!(
        before_success.elapsed() < Duration::from_millis(1600),
        "the machine is too slow for this test's durations"
    );
    assert_eq!(store.key("a").await.unwrap().kid(), "a", "stale key served");
    assert!(unknown_kid(store.key("zzz").await));

    // Past refresh_interval + max_stale after the last success.
    let expiry = after_success + Duration::from_millis(100 + 1500 + 100);
    tokio::time::sleep_until(expiry.into()).await;
    assert!(matches!(store.key("a").await, Err(JwksError::Unavailable)));
    assert!(matches!(
        store.key("zzz").await,
        Err(JwksError::Unavailable)
    ));

    idp.set(Reply::Set(jwks(&[&a])));
    let mut recovered = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !recovered && Instant::now() < deadline {
        recovered = store.key("a").await.is_ok();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(recovered, "keys are served again once the IdP is back");
}

#[tokio::test]
async fn startup_failure_is_recovered_by_the_background_retry() {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    idp.script([
        Reply::Status(503),
        Reply::Status(502),
        Reply::Body(b"oops".to_vec()),
    ]);
    let mut s = settings(&idp);
    s.min_refresh_interval = Duration::from_millis(20);
    let store = JwksKeyStore::new(s).unwrap();

    // Nobody asks for a key: the background task alone retries until it succeeds.
    eventually("the background retry", || store.kids() == ["a"]).await;
    assert_eq!(idp.requests(), 4, "three failures, then one success");
    assert_eq!(store.key("a").await.unwrap().kid(), "a");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        idp.requests(),
        4,
        "no fetch after the success before refresh_interval"
    );
}

#[tokio::test]
async fn startup_failure_reports_unavailable_rather_than_unknown_kid() {
    let idp = Idp::start(Reply::Status(500)).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    assert!(matches!(store.key("a").await, Err(JwksError::Unavailable)));
    assert!(store.kids().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Stampedes and cooldown.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kid_requests_share_one_fetch() {
    let (a, b) = (ed_key("a"), ed_key("b"));
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    store.key("a").await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // A slow answer keeps the fetch in flight while all callers pile up.
    idp.set(Reply::SlowHead(Duration::from_millis(150), jwks(&[&a, &b])));
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.key("b").await.map(|k| k.kid().to_owned())
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), "b");
    }
    assert_eq!(
        idp.requests(),
        2,
        "one initial fetch and one shared refetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kid_requests_never_stampede() {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    store.key("a").await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    idp.set(Reply::SlowHead(Duration::from_millis(100), jwks(&[&a])));
    let callers: Vec<_> = (0..100)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.key(&format!("forged-{i}")).await })
        })
        .collect();
    for caller in callers {
        assert!(unknown_kid(caller.await.unwrap()));
    }
    assert!(
        idp.requests() <= 2,
        "at most one refetch, got {}",
        idp.requests() - 1
    );
}

#[tokio::test]
async fn cooldown_limits_unknown_kid_refetches() {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let mut s = settings(&idp);
    s.min_refresh_interval = Duration::from_secs(3600);
    let store = JwksKeyStore::new(s).unwrap();
    store.key("a").await.unwrap();
    for i in 0..20 {
        assert!(unknown_kid(store.key(&format!("forged-{i}")).await));
    }
    assert_eq!(idp.requests(), 1);
    assert_eq!(store.fetch_count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Responses that must not wipe a good cache.

/// Serves a good set, then `bad`: the forced refresh fails with a message containing `why`, and
/// the good keys stay.
async fn bad_response_keeps_the_cache(bad: Reply, why: &str) -> Idp {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    store.key("a").await.unwrap();

    idp.set(bad);
    match store.refresh().await {
        Err(JwksError::Fetch(message)) => {
            assert!(message.contains(why), "{message:?} does not say {why:?}")
        }
        other => panic!("refresh should fail, got {other:?}"),
    }
    assert_eq!(store.kids(), ["a"]);
    assert_eq!(store.key("a").await.unwrap().kid(), "a");
    idp
}

#[tokio::test]
async fn slow_response_keeps_the_cache() {
    let reply = Reply::SlowHead(Duration::from_secs(3), jwks(&[&ed_key("b")]));
    bad_response_keeps_the_cache(reply, "no complete response").await;
}

#[tokio::test]
async fn slow_body_keeps_the_cache() {
    let reply = Reply::SlowBody(Duration::from_secs(3), jwks(&[&ed_key("b")]));
    bad_response_keeps_the_cache(reply, "no complete response").await;
}

#[tokio::test]
async fn oversized_response_keeps_the_cache() {
    bad_response_keeps_the_cache(Reply::Declared(2 * 1024 * 1024), "larger than 1048576").await;
}

#[tokio::test]
async fn endless_response_is_cut_off_at_the_limit_and_keeps_the_cache() {
    let idp = bad_response_keeps_the_cache(Reply::Endless, "larger than 1048576").await;
    eventually("the server to notice the client left", || {
        idp.shared.endless_done.load(Ordering::SeqCst)
    })
    .await;
    let written = idp.shared.endless_written.load(Ordering::SeqCst);
    assert!(
        written < 32 * 1024 * 1024,
        "the client read on after the limit ({written} bytes)"
    );
}

#[tokio::test]
async fn garbage_response_keeps_the_cache() {
    bad_response_keeps_the_cache(Reply::Body(b"maintenance".to_vec()), "not JSON").await;
}

#[tokio::test]
async fn html_response_keeps_the_cache_and_is_named() {
    bad_response_keeps_the_cache(
        Reply::Body(b"<html>maintenance</html>".to_vec()),
        "found an HTML page, not a JWK set",
    )
    .await;
}

#[tokio::test]
async fn json_that_is_not_a_set_keeps_the_cache() {
    bad_response_keeps_the_cache(
        Reply::Body(br#"{"error":"nope"}"#.to_vec()),
        "not a JWK set",
    )
    .await;
}

#[tokio::test]
async fn empty_key_set_keeps_the_cache() {
    bad_response_keeps_the_cache(Reply::Set(br#"{"keys":[]}"#.to_vec()), "no usable key").await;
}

#[tokio::test]
async fn set_of_unusable_keys_keeps_the_cache() {
    let mut enc = ed_key("enc").jwk;
    enc["use"] = json!("enc");
    let hmac = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"});
    let body = serde_json::to_vec(&json!({ "keys": [enc, hmac] })).unwrap();
    bad_response_keeps_the_cache(Reply::Set(body), "no usable key among 2").await;
}

#[tokio::test]
async fn redirect_is_not_followed_and_keeps_the_cache() {
    let idp =
        bad_response_keeps_the_cache(Reply::Redirect("/elsewhere".to_owned()), "redirects").await;
    assert_eq!(idp.paths_to("/elsewhere"), 0, "the redirect was followed");
}

#[tokio::test]
async fn server_error_keeps_the_cache() {
    bad_response_keeps_the_cache(Reply::Status(500), "status 500").await;
}

#[tokio::test]
async fn unreachable_idp_keeps_the_cache() {
    let a = ed_key("a");
    let idp = Idp::start(Reply::Set(jwks(&[&a]))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();
    store.key("a").await.unwrap();
    drop(idp);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(store.refresh().await, Err(JwksError::Fetch(_))));
    assert_eq!(store.key("a").await.unwrap().kid(), "a");
}

// ---------------------------------------------------------------------------------------------
// Settings and lifecycle.

#[tokio::test]
async fn http_url_is_refused_without_allow_http() {
    let idp = Idp::start(Reply::Set(jwks(&[&ed_key("a")]))).await;
    let mut s = settings(&idp);
    s.allow_http = false;
    match JwksKeyStore::new(s) {
        Err(JwksError::Settings(message)) => {
            assert!(message.contains("jwks_url_allow_http"), "{message}")
        }
        other => panic!("expected a settings error, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(idp.requests(), 0);
}

#[tokio::test]
async fn dropping_the_last_store_stops_the_background_refresh() {
    let idp = Idp::start(Reply::Set(jwks(&[&ed_key("a")]))).await;
    let mut s = settings(&idp);
    s.refresh_interval = Duration::from_millis(20);
    let store = JwksKeyStore::new(s).unwrap();
    let clone = store.clone();
    eventually("periodic refreshes", || idp.requests() >= 3).await;

    drop(store);
    let seen = idp.requests();
    eventually("refreshes to go on while a clone lives", || {
        idp.requests() > seen
    })
    .await;

    drop(clone);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after_drop = idp.requests();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(idp.requests(), after_drop);
}

// ---------------------------------------------------------------------------------------------
// Real tokens.

#[tokio::test]
async fn tokens_verify_with_the_decoding_key_the_store_returns() {
    let keys = [rsa_key("rsa-1"), ec_key("ec-1"), ed_key("ed-1")];
    let idp = Idp::start(Reply::Set(jwks(&keys.iter().collect::<Vec<_>>()))).await;
    let store = JwksKeyStore::new(settings(&idp)).unwrap();

    for key in &keys {
        let expected = claims();
        let token = sign(key, &expected);
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
        let found = store.key(&kid).await.unwrap();
        assert_eq!(found.alg(), Some(key.alg));
        let decoded =
            jsonwebtoken::decode::<Claims>(&token, found.decoding_key(), &Validation::new(key.alg))
                .unwrap();
        assert_eq!(decoded.claims, expected);
    }

    // Same kid, another private key: the signature does not verify.
    let impostor = ed_key("ed-1");
    let token = sign(&impostor, &claims());
    let found = store.key("ed-1").await.unwrap();
    let err = jsonwebtoken::decode::<Claims>(
        &token,
        found.decoding_key(),
        &Validation::new(Algorithm::EdDSA),
    )
    .unwrap_err();
    assert_eq!(
        err.kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidSignature
    );
    assert_eq!(idp.requests(), 1);
}

#[test]
fn jwks_file_keys_verify_tokens() {
    let key = ec_key("file-key");
    let json = String::from_utf8(jwks(&[&key])).unwrap();
    let store = JwksKeyStore::from_jwks_json(&json, &[Algorithm::ES256]).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let found = runtime.block_on(store.key("file-key")).unwrap();
    let expected = claims();
    let token = sign(&key, &expected);
    let decoded = jsonwebtoken::decode::<Claims>(
        &token,
        found.decoding_key(),
        &Validation::new(Algorithm::ES256),
    )
    .unwrap();
    assert_eq!(decoded.claims, expected);
    assert!(matches!(
        JwksKeyStore::from_jwks_json("not json", &[Algorithm::ES256]),
        Err(JwksError::InvalidSet(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// `tasker_auth::keys` output (what `tasker-ctl auth generate-keys` writes) is a usable set.

#[tokio::test]
async fn generated_jwks_json_files_are_accepted_for_every_algorithm() {
    use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
    for alg in [
        KeyAlgorithm::Rs256 { bits: 2048 },
        KeyAlgorithm::Es256,
        KeyAlgorithm::EdDsa,
    ] {
        let pair = KeyPair::generate(alg).unwrap();
        let store = JwksKeyStore::from_jwks_json(&pair.jwks_json(), &[pair.algorithm()]).unwrap();
        let key = store.key(pair.kid()).await.unwrap();
        assert_eq!(key.alg(), Some(pair.algorithm()));
        let token = pair
            .mint(&TokenRequest {
                subject: "ci".to_owned(),
                permissions: vec!["tasks:read".to_owned()],
                issuer: "tasker-core".to_owned(),
                audience: "tasker-api".to_owned(),
                ttl: Duration::from_secs(60),
                kid: None,
            })
            .unwrap();
        let mut validation = Validation::new(pair.algorithm());
        validation.set_audience(&["tasker-api"]);
        let decoded =
            jsonwebtoken::decode::<Value>(&token, key.decoding_key(), &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "ci");
    }
}

// ---------------------------------------------------------------------------------------------
// Through the real middleware, in JWKS mode.

mod middleware {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, StatusCode};
    use http_body_util::BodyExt as _;
    use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
    use tasker_auth::{AuthConfig, JwtVerificationMethod, SecurityContext, SecurityService};
    use tower::ServiceExt as _;

    use super::*;

    #[tasker_auth::requires(tasks:list)]
    async fn list_tasks(ctx: SecurityContext) -> String {
        ctx.subject().to_owned()
    }

    fn config(idp: &Idp) -> AuthConfig {
        let mut cfg = AuthConfig::new();
        cfg.enabled = true;
        cfg.jwt_verification_method = JwtVerificationMethod::Jwks;
        cfg.jwks_url = idp.url();
        cfg.jwks_url_allow_http = true;
        cfg.jwt_allowed_algorithms = vec!["EdDSA".to_owned(), "ES256".to_owned()];
        cfg
    }

    fn app(service: &SecurityService) -> Router {
        Router::new()
            .route("/v1/tasks", get(list_tasks))
            .route_layer(service.layer())
    }

    fn token(pair: &KeyPair, kid: Option<&str>) -> String {
        pair.mint(&TokenRequest {
            subject: "svc-reporting".to_owned(),
            permissions: vec!["tasks:list".to_owned()],
            issuer: "tasker-core".to_owned(),
            audience: "tasker-api".to_owned(),
            ttl: Duration::from_secs(300),
            kid: kid.map(str::to_owned),
        })
        .unwrap()
    }

    fn set_of(pairs: &[&KeyPair]) -> Vec<u8> {
        let keys: Vec<Value> = pairs.iter().map(|p| p.jwk()).collect();
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    /// Status, `error.reason`, `x-auth-failure-reason` and `WWW-Authenticate` of a request.
    async fn call(app: &Router, token: &str) -> (StatusCode, String, String, String) {
        let request = Request::get("/v1/tasks")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let (failure, challenge) = (header("x-auth-failure-reason"), header("www-authenticate"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let reason = if status == StatusCode::OK {
            String::from_utf8(body.to_vec()).unwrap()
        } else {
            let json: Value = serde_json::from_slice(&body).unwrap();
            json["error"]["reason"].as_str().unwrap().to_owned()
        };
        (status, reason, failure, challenge)
    }

    fn assert_invalid(outcome: (StatusCode, String, String, String)) {
        let (status, reason, failure, challenge) = outcome;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(reason, "invalid");
        assert_eq!(failure, "invalid");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }

    #[tokio::test]
    async fn jwks_mode_accepts_a_token_signed_by_a_served_key() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa).unwrap();
        let idp = Idp::start(Reply::Set(set_of(&[&pair]))).await;
        let service = SecurityService::from_config(&config(&idp)).unwrap();
        let app = app(&service);
        let (status, subject, ..) = call(&app, &token(&pair, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(subject, "svc-reporting");
    }

    #[tokio::test]
    async fn jwks_mode_unknown_kid_is_401_invalid() {
        let pair = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
        let idp = Idp::start(Reply::Set(set_of(&[&pair]))).await;
        let service = SecurityService::from_config(&config(&idp)).unwrap();
        let app = app(&service);
        assert_eq!(call(&app, &token(&pair, None)).await.0, StatusCode::OK);

        assert_invalid(call(&app, &token(&pair, Some("not-in-the-set"))).await);
        // A key the IdP does not serve, under a kid it does: the signature fails.
        let foreign = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
        assert_invalid(call(&app, &token(&foreign, Some(pair.kid()))).await);
    }

    #[tokio::test]
    async fn jwks_mode_idp_down_at_startup_is_401_invalid() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa).unwrap();
        let idp = Idp::start(Reply::Status(503)).await;
        let service = SecurityService::from_config(&config(&idp)).unwrap();
        assert_invalid(call(&app(&service), &token(&pair, None)).await);
    }

    #[tokio::test]
    async fn jwks_mode_idp_down_past_max_stale_is_401_invalid() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa).unwrap();
        let idp = Idp::start(Reply::Set(set_of(&[&pair]))).await;
        let mut cfg = config(&idp);
        cfg.jwks_refresh_interval_seconds = 1;
        cfg.jwks_max_stale_seconds = 0;
        let service = SecurityService::from_config(&cfg).unwrap();
        let app = app(&service);
        let token = token(&pair, None);
        assert_eq!(call(&app, &token).await.0, StatusCode::OK);
        let served = Instant::now();

        idp.set(Reply::Status(503));
        tokio::time::sleep_until((served + Duration::from_millis(1300)).into()).await;
        assert_invalid(call(&app, &token).await);
    }
}

// ---------------------------------------------------------------------------------------------
// `GET /config` of a real server shows `jwks_url` redacted.

#[tokio::test]
async fn config_endpoint_redacts_the_user_password_and_query_values_of_jwks_url() {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let toml = "[web]\nconfig_endpoint_enabled = true\n[web.auth]\n\
                jwks_url = \"https://user:pass@idp.example/jwks.json?access_token=abc\"\n";
    let config = tasker_auth::TaskerConfig::from_toml_str(toml, &|_| None).unwrap();
    let (app, _) =
        tasker_demo::orchestration::app(&config, tasker_demo::store::Store::default()).unwrap();
    let request = http::Request::get("/config")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let shown: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        shown["web"]["auth"]["jwks_url"],
        "https://[REDACTED]:[REDACTED]@idp.example/jwks.json?access_token=[REDACTED]"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("pass") && !text.contains("=abc"), "{text}");
}
