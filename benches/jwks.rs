//! The cost of finding a token's key in a `JwksKeyStore` (the cache-hit path every JWKS request
//! takes), next to the signature check it precedes.
//!
//! Run: `cargo bench --bench jwks -- --warm-up-time 1 --measurement-time 3`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, Validation};
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{JwksKeyStore, JwksSettings};

/// Polls a future once: the cache-hit path of `key()` completes without waiting.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the cache-hit path waited"),
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pairs: Vec<KeyPair> = (0..4)
        .map(|_| KeyPair::generate(KeyAlgorithm::Es256).unwrap())
        .collect();
    let jwks = serde_json::json!({ "keys": pairs.iter().map(KeyPair::jwk).collect::<Vec<_>>() })
        .to_string();
    let pair = &pairs[2];
    let kid = pair.kid().to_owned();
    let token = pair
        .mint(&TokenRequest {
            subject: "bench".to_owned(),
            permissions: vec!["tasks:read".to_owned()],
            issuer: "tasker-core".to_owned(),
            audience: "tasker-api".to_owned(),
            ttl: Duration::from_secs(3600),
            kid: None,
        })
        .unwrap();

    // A remote store, filled from a loopback endpoint.
    let body = jwks.clone();
    let remote = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/jwks.json", get(move || async move { body }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut settings = JwksSettings::new(format!("http://{addr}/jwks.json"));
        settings.allow_http = true;
        settings.allowed_algorithms = vec![Algorithm::ES256];
        let store = JwksKeyStore::new(settings).unwrap();
        store.refresh().await.unwrap();
        store
    });
    let fixed = JwksKeyStore::from_jwks_json(&jwks, &[Algorithm::ES256]).unwrap();

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["tasker-api"]);
    let key = ready(remote.key(&kid)).unwrap();

    let mut group = c.benchmark_group("jwks");
    group.bench_function("key_hit_remote", |b| {
        b.iter(|| ready(remote.key(black_box(&kid))).unwrap())
    });
    group.bench_function("key_hit_static", |b| {
        b.iter(|| ready(fixed.key(black_box(&kid))).unwrap())
    });
    group.bench_function("es256_decode_floor", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(&token), key.decoding_key(), &validation)
                .unwrap()
        })
    });
    group.bench_function("es256_key_hit_then_decode", |b| {
        b.iter(|| {
            let key = ready(remote.key(black_box(&kid))).unwrap();
            jsonwebtoken::decode::<Claims>(black_box(&token), key.decoding_key(), &validation)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
