//! Instructions per request for the peers, counted by callgrind exactly as tasker-auth's
//! `benches/callgrind.rs` counts its own: `peers/callgrind.sh` runs each case with N and 2N
//! requests, counting only inside `measure`, and divides the difference by N.
//!
//! Run by hand: `peers-callgrind <case> <requests>` under
//! `valgrind --tool=callgrind --toggle-collect='*measure*'`; cases are listed by `--list`.

use std::hint::black_box;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use http::{Request, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::json;
use tasker_auth_peers::{AUDIENCE, Claims, ISSUER, PATH, PERMISSION, run};
use tower::ServiceExt as _;

const CASES: &[&str] = &[
    "bare_route",
    "bare_decode_RS256",
    "bare_decode_ES256",
    "bare_decode_EdDSA",
    "from_fn_RS256",
    "jwt_authorizer_RS256",
];

/// The only code callgrind counts: `requests` calls of `one`.
#[inline(never)]
fn measure(requests: usize, one: &mut dyn FnMut()) {
    for _ in 0..requests {
        one();
    }
}

fn pem(tag: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(tag, der.to_vec()))
}

/// An RSA-2048 key pair as PEM (private PKCS#8, public SPKI) and an RS256 token for the route.
fn keys_and_token() -> (String, String) {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let private: Pkcs8V1Der<'_> = pair.as_der().unwrap();
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let private_pem = pem("PRIVATE KEY", private.as_ref());
    let public_pem = pem("PUBLIC KEY", public.as_ref());
    let token = token(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    );
    (public_pem, token)
}

/// A P-256 or Ed25519 key pair: the decoding key and a token for the route.
fn other_key_and_token(alg: Algorithm) -> (DecodingKey, String) {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let (private, public) = match alg {
        Algorithm::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            let private = pair.to_pkcs8v1().unwrap();
            let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
            (private.as_ref().to_vec(), public.as_ref().to_vec())
        }
        _ => {
            let pair = Ed25519KeyPair::generate().unwrap();
            let private = pair.to_pkcs8v1().unwrap();
            let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
            (private.as_ref().to_vec(), public.as_ref().to_vec())
        }
    };
    let public_pem = pem("PUBLIC KEY", &public);
    let (encoding, decoding) = match alg {
        Algorithm::ES256 => (
            EncodingKey::from_ec_der(&private),
            DecodingKey::from_ec_pem(public_pem.as_bytes()).unwrap(),
        ),
        _ => (
            EncodingKey::from_ed_der(&private),
            DecodingKey::from_ed_pem(public_pem.as_bytes()).unwrap(),
        ),
    };
    (decoding, token(alg, &encoding))
}

/// A token for the route, signed with `key`.
fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "sub": "callgrind", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600,
        "permissions": [PERMISSION, "tasks:read", "tasks:list"],
    });
    jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
}

fn request(token: &str) -> Request<axum::body::Body> {
    Request::builder()
        .uri(PATH)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap()
}

fn request07(token: &str) -> Request<axum07::body::Body> {
    Request::builder()
        .uri(PATH)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum07::body::Body::empty())
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, requests): (&str, usize) = match args.as_slice() {
        [flag] if flag == "--list" => {
            println!("{}", CASES.join("\n"));
            return;
        }
        [case, n] if CASES.contains(&case.as_str()) => (case.as_str(), n.parse().unwrap()),
        _ => {
            eprintln!("usage: peers-callgrind --list | peers-callgrind <case> <requests>");
            std::process::exit(2);
        }
    };
    let (public_pem, token) = keys_and_token();
    // jwt-authorizer builds its key store in async code; nothing here waits on the runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _runtime = runtime.enter();
    let mut one: Box<dyn FnMut()> = match case {
        "bare_route" => {
            let app = tasker_auth_peers::bare();
            Box::new(move || {
                let response = run(app.clone().oneshot(request(&token))).unwrap();
                assert!(response.status().is_success());
                black_box(response);
            })
        }
        "bare_decode_RS256" => {
            let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
            let validation = tasker_auth_peers::validation();
            Box::new(move || {
                let data = jsonwebtoken::decode::<Claims>(&token, &key, &validation).unwrap();
                assert!(data.claims.allows_route());
                black_box(data);
            })
        }
        "bare_decode_ES256" | "bare_decode_EdDSA" => {
            let alg = if case.ends_with("ES256") {
                Algorithm::ES256
            } else {
                Algorithm::EdDSA
            };
            let (key, token) = other_key_and_token(alg);
            let mut validation = tasker_auth_peers::validation();
            validation.algorithms = vec![alg];
            Box::new(move || {
                let data = jsonwebtoken::decode::<Claims>(&token, &key, &validation).unwrap();
                assert!(data.claims.allows_route());
                black_box(data);
            })
        }
        "from_fn_RS256" => {
            let app = tasker_auth_peers::from_fn(public_pem.as_bytes()).unwrap();
            Box::new(move || {
                let response = run(app.clone().oneshot(request(&token))).unwrap();
                assert!(response.status().is_success());
                black_box(response);
            })
        }
        _ => {
            let app = runtime
                .block_on(tasker_auth_peers::jwt_authorizer(&public_pem))
                .unwrap();
            Box::new(move || {
                let response = run(app.clone().oneshot(request07(&token))).unwrap();
                assert!(response.status().is_success());
                black_box(response);
            })
        }
    };
    // Warm every lazy initialisation before counting.
    measure(1, &mut one);
    measure(requests, &mut one);
}
