//! `jwt_verification_method = "oidc"` against a real HTTP identity provider on loopback: the
//! discovery document at `<jwt_issuer>/.well-known/openid-configuration` names the JWK set, and
//! every JWKS rule applies to it. Also what a plain `jwks_url` says when it serves a discovery
//! document or an HTML page instead of a set.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{
    AuthConfig, AuthError, InvalidReason, JwksKeyStore, JwksSettings, JwtVerificationMethod,
    SecurityService, TaskerConfig,
};

#[path = "common/loopback_idp.rs"]
mod loopback_idp;

use loopback_idp::{DISCOVERY, Idp};

fn rsa_pair() -> KeyPair {
    KeyPair::generate(KeyAlgorithm::Rs256 { bits: 2048 }).unwrap()
}

fn set_of(pairs: &[&KeyPair]) -> Value {
    let keys: Vec<Value> = pairs.iter().map(|p| p.jwk()).collect();
    json!({ "keys": keys })
}

fn token(pair: &KeyPair, issuer: &str) -> String {
    pair.mint(&TokenRequest {
        subject: "svc-reporting".to_owned(),
        permissions: vec!["tasks:list".to_owned()],
        issuer: issuer.to_owned(),
        audience: "tasker-api".to_owned(),
        ttl: Duration::from_secs(300),
        kid: None,
    })
    .unwrap()
}

/// The service a server started with this `[web.auth]` would run.
fn oidc_service(issuer: &str) -> SecurityService {
    let toml = format!(
        "[web.auth]\nenabled = true\njwt_verification_method = \"oidc\"\n\
         jwt_issuer = \"{issuer}\"\njwks_url_allow_http = true\n\
         jwks_min_refresh_interval_seconds = 1\n\
         jwt_allowed_algorithms = [\"RS256\", \"ES256\"]\n"
    );
    let config = TaskerConfig::from_toml_str(&toml, &|_| None).unwrap();
    assert_eq!(
        config.web.auth.jwt_verification_method,
        JwtVerificationMethod::Oidc
    );
    SecurityService::from_config(&config.web.auth).unwrap()
}

async fn authenticate(service: &SecurityService, token: &str) -> Result<String, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    service
        .authenticate(&headers)
        .await
        .map(|ctx| ctx.subject().to_owned())
}

fn is_unavailable(result: &Result<String, AuthError>) -> bool {
    matches!(
        result,
        Err(AuthError::Invalid {
            reason: InvalidReason::KeySetUnavailable
        })
    )
}

/// Settings for a store discovering from `issuer`, with short limits.
fn discovery_settings(issuer: &str) -> JwksSettings {
    let mut settings = JwksSettings::discovery(issuer);
    settings.allow_http = true;
    settings.allowed_algorithms = vec![
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ];
    settings.min_refresh_interval = Duration::from_millis(10);
    settings.fetch_timeout = Duration::from_secs(2);
    settings
}

#[tokio::test]
async fn discovery_happy_path_accepts_rs256_and_es256_tokens() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    let (rsa, ec) = (rsa_pair(), KeyPair::generate(KeyAlgorithm::Es256).unwrap());
    idp.discovery(&issuer, &format!("{issuer}/protocol/certs"));
    idp.json("/protocol/certs", &set_of(&[&rsa, &ec]));

    let service = oidc_service(&issuer);
    for pair in [&rsa, &ec] {
        assert_eq!(
            authenticate(&service, &token(pair, &issuer)).await.unwrap(),
            "svc-reporting"
        );
    }
    let asked = idp.asked();
    assert!(asked.iter().any(|p| p == DISCOVERY), "{asked:?}");
    assert!(asked.iter().any(|p| p == "/protocol/certs"), "{asked:?}");
    // A token from another issuer is still refused: the discovered keys do not widen `iss`.
    let other = token(&rsa, &format!("{issuer}/other"));
    assert!(authenticate(&service, &other).await.is_err());
}

#[tokio::test]
async fn issuer_with_a_trailing_slash_gets_no_doubled_slash_and_must_match_exactly() {
    let idp = Idp::start().await;
    let issuer = format!("{}/", idp.base());
    let rsa = rsa_pair();
    idp.discovery(&issuer, &format!("{}/certs", idp.base()));
    idp.json("/certs", &set_of(&[&rsa]));

    let service = oidc_service(&issuer);
    assert_eq!(
        authenticate(&service, &token(&rsa, &issuer)).await.unwrap(),
        "svc-reporting"
    );
    let asked = idp.asked();
    assert_eq!(asked[0], DISCOVERY, "{asked:?}");
    assert!(!asked.iter().any(|p| p.contains("//")), "{asked:?}");

    // The same IdP with `jwt_issuer` lacking the slash: the document's issuer differs.
    let store = JwksKeyStore::new(discovery_settings(&idp.base())).unwrap();
    let err = store.refresh().await.unwrap_err().to_string();
    assert!(err.contains("is not jwt_issuer"), "{err}");
}

#[tokio::test]
async fn issuer_mismatch_is_a_failed_fetch_and_tokens_are_refused() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    let rsa = rsa_pair();
    idp.discovery("https://evil.example", &format!("{issuer}/certs"));
    idp.json("/certs", &set_of(&[&rsa]));

    let service = oidc_service(&issuer);
    assert!(is_unavailable(
        &authenticate(&service, &token(&rsa, &issuer)).await
    ));
    // The set named by a document of the wrong issuer is never fetched.
    assert!(
        !idp.asked().iter().any(|p| p == "/certs"),
        "{:?}",
        idp.asked()
    );

    let store = JwksKeyStore::new(discovery_settings(&issuer)).unwrap();
    let err = store.refresh().await.unwrap_err().to_string();
    assert!(err.contains("\"https://evil.example\""), "{err}");
    assert!(err.contains("OpenID discovery document"), "{err}");
}

#[tokio::test]
async fn discovery_down_at_start_up_is_retried_in_the_background() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    let rsa = rsa_pair();
    idp.route(DISCOVERY, 503, "text/plain", Vec::new());
    let store = JwksKeyStore::new(discovery_settings(&issuer)).unwrap();
    let err = store.refresh().await.unwrap_err().to_string();
    assert!(err.contains("unexpected status 503"), "{err}");

    idp.discovery(&issuer, &format!("{issuer}/certs"));
    idp.json("/certs", &set_of(&[&rsa]));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.kids().is_empty() {
        assert!(std::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.kids(), [rsa.kid()]);
}

#[tokio::test]
async fn a_changed_jwks_uri_is_followed_at_the_next_fetch() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    let (old, new) = (
        KeyPair::generate(KeyAlgorithm::Es256).unwrap(),
        KeyPair::generate(KeyAlgorithm::Es256).unwrap(),
    );
    idp.discovery(&issuer, &format!("{issuer}/certs/1"));
    idp.json("/certs/1", &set_of(&[&old]));
    idp.json("/certs/2", &set_of(&[&new]));
    let store = JwksKeyStore::new(discovery_settings(&issuer)).unwrap();
    assert_eq!(store.refresh().await.unwrap(), 1);
    assert_eq!(store.kids(), [old.kid()]);
    assert!(format!("{store:?}").contains("/certs/1"), "{store:?}");

    idp.discovery(&issuer, &format!("{issuer}/certs/2"));
    // An unknown kid refetches (past the cooldown), and the refetch re-reads the document.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.key(new.kid()).await.unwrap().kid(), new.kid());
    assert_eq!(store.kids(), [new.kid()]);
}

#[tokio::test]
async fn the_discovered_jwks_uri_follows_every_jwks_rule() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    let rsa = rsa_pair();
    // A redirect at the jwks_uri is not followed.
    idp.discovery(&issuer, &format!("{issuer}/moved"));
    idp.route("/moved", 302, "text/plain", Vec::new());
    idp.json("/certs", &set_of(&[&rsa]));
    let store = JwksKeyStore::new(discovery_settings(&issuer)).unwrap();
    let err = store.refresh().await.unwrap_err().to_string();
    assert!(err.contains("redirects are not followed"), "{err}");
    assert!(err.contains("/moved"), "{err}");

    // Over the size limit.
    let mut big = set_of(&[&rsa]);
    big["padding"] = json!("x".repeat(2048));
    idp.json("/big", &big);
    idp.discovery(&issuer, &format!("{issuer}/big"));
    let mut small = discovery_settings(&issuer);
    small.max_response_bytes = 1024;
    let store = JwksKeyStore::new(small).unwrap();
    let err = store.refresh().await.unwrap_err().to_string();
    assert!(err.contains("larger than 1024 bytes"), "{err}");
    assert!(store.kids().is_empty());

    // http:// without jwks_url_allow_http is refused before any request, naming jwt_issuer.
    let mut cfg = AuthConfig::new();
    cfg.enabled = true;
    cfg.jwt_verification_method = JwtVerificationMethod::Oidc;
    cfg.jwt_issuer = issuer.clone();
    let err = SecurityService::from_config(&cfg).unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwt_issuer"), "{err}");
    assert!(err.to_string().contains("jwks_url_allow_http"), "{err}");
}

#[tokio::test]
async fn oidc_start_up_errors_name_the_key() {
    let oidc = |issuer: &str, jwks_url: &str| {
        let mut cfg = AuthConfig::new();
        cfg.enabled = true;
        cfg.jwt_verification_method = JwtVerificationMethod::Oidc;
        cfg.jwt_issuer = issuer.to_owned();
        cfg.jwks_url = jwks_url.to_owned();
        cfg.jwks_url_allow_http = true;
        SecurityService::from_config(&cfg).unwrap_err()
    };
    let err = oidc("https://idp.example", "https://idp.example/jwks");
    assert_eq!(err.key(), Some("web.auth.jwks_url"), "{err}");
    assert!(err.to_string().contains("must be empty"), "{err}");
    for issuer in [
        "",
        "tasker-core",
        "https://idp.example?x=1",
        " https://idp.example",
    ] {
        assert_eq!(
            oidc(issuer, "").key(),
            Some("web.auth.jwt_issuer"),
            "{issuer:?}"
        );
    }
}

#[tokio::test]
async fn a_jwks_url_serving_a_discovery_document_or_html_is_a_failed_fetch_saying_so() {
    let idp = Idp::start().await;
    let issuer = idp.base();
    idp.discovery(&issuer, &format!("{issuer}/certs?tenant=secret-tenant"));
    idp.route(
        "/login",
        200,
        "text/html",
        b"<!DOCTYPE html><html><body>Sign in</body></html>".to_vec(),
    );
    let fetch = |path: &str| {
        let mut settings = JwksSettings::new(format!("{issuer}{path}"));
        settings.allow_http = true;
        JwksKeyStore::new(settings).unwrap()
    };

    let err = fetch(DISCOVERY).refresh().await.unwrap_err().to_string();
    assert!(err.contains("discovery document, not a JWK set"), "{err}");
    assert!(
        err.contains(&format!("{issuer}/certs?tenant=[REDACTED]")),
        "{err}"
    );
    assert!(!err.contains("secret-tenant"), "{err}");
    assert!(err.contains("jwt_verification_method = \"oidc\""), "{err}");

    let err = fetch("/login").refresh().await.unwrap_err().to_string();
    assert!(err.contains("HTML page, not a JWK set"), "{err}");
}
