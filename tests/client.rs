//! `tasker_auth::client` against a real server: credentials resolved from (a stand-in for) the
//! environment, attached by `with_tasker_auth`, accepted by `SecurityService` behind `AuthLayer`.
//! The priority rules, renewal, the plain-http warning and `Debug` redaction are unit-tested at
//! the foot of `tasker-auth/src/client.rs`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tasker_auth::client::{ClientCredentials, CredentialKind, Endpoint, RequestBuilderExt};
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{ApiKeyConfig, AuthConfig, SecurityContext, SecurityService};

const API_KEY: &str = "tsk_integration-test-key-0123456789";

async fn whoami(ctx: SecurityContext) -> String {
    let permissions: Vec<&str> = ctx.permissions().iter().map(|p| p.as_str()).collect();
    format!("{} {}", ctx.subject(), permissions.join(","))
}

/// A server accepting tokens of `key` and the API key [`API_KEY`], on 127.0.0.1 for 30 s at most.
async fn server(key: &KeyPair) -> (String, tokio::task::JoinHandle<()>) {
    let mut cfg = AuthConfig::new();
    cfg.enabled = true;
    cfg.jwt_public_key = key.public_key_pem();
    cfg.jwt_allowed_algorithms = vec!["ES256".to_owned()];
    cfg.api_keys_enabled = true;
    cfg.api_keys = vec![ApiKeyConfig {
        key: Some(API_KEY.to_owned()),
        permissions: vec!["tasks:list".to_owned()],
        description: "ci-reader".to_owned(),
        ..ApiKeyConfig::default()
    }];
    let security = SecurityService::from_config(&cfg).unwrap();
    let app = Router::new()
        .route("/v1/tasks", get(whoami))
        .route_layer(security.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(30), axum::serve(listener, app)).await;
    });
    (base, task)
}

async fn call(base: &str, credentials: &ClientCredentials) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/tasks"))
        .with_tasker_auth(credentials)
        .unwrap()
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn resolve(vars: &[(&'static str, String)]) -> ClientCredentials {
    let vars: HashMap<&str, String> = vars.iter().cloned().collect();
    ClientCredentials::from_env_source(Endpoint::Orchestration, |name| vars.get(name).cloned())
        .unwrap()
}

#[tokio::test]
async fn every_credential_source_is_accepted_by_the_server() {
    let key = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
    let (base, server) = server(&key).await;

    let token = key
        .mint(&TokenRequest {
            subject: "alice".into(),
            permissions: vec!["tasks:list".into()],
            issuer: "tasker-core".into(),
            audience: "tasker-api".into(),
            ttl: Duration::from_secs(600),
            kid: None,
        })
        .unwrap();
    let by_token = resolve(&[("TASKER_AUTH_TOKEN", token.clone())]);
    assert_eq!(
        call(&base, &by_token).await,
        (200, "alice tasks:list".to_owned())
    );

    let by_endpoint_token = resolve(&[
        ("TASKER_ORCHESTRATION_AUTH_TOKEN", token),
        ("TASKER_AUTH_TOKEN", "not-even-a-jwt".to_owned()),
    ]);
    assert_eq!(call(&base, &by_endpoint_token).await.0, 200);

    let by_api_key = resolve(&[("TASKER_API_KEY", API_KEY.to_owned())]);
    assert_eq!(
        call(&base, &by_api_key).await,
        (200, "ci-reader tasks:list".to_owned())
    );

    let path = std::env::temp_dir().join(format!("tasker-client-it-{}.pem", std::process::id()));
    std::fs::write(&path, key.private_key_pem()).unwrap();
    let minted = resolve(&[
        ("TASKER_JWT_PRIVATE_KEY_PATH", path.display().to_string()),
        ("TASKER_JWT_PERMISSIONS", "tasks:*".to_owned()),
        ("TASKER_JWT_SUBJECT", "batch-job".to_owned()),
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(minted.kind(), CredentialKind::MintedToken);
    let (status, body) = call(&base, &minted).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("batch-job tasks:create,tasks:read,tasks:list"),
        "{body}"
    );

    // Without credentials the server refuses, as it should.
    let none = resolve(&[]);
    assert_eq!(call(&base, &none).await.0, 401);
    server.abort();
}

/// Captures what the `tracing` fmt layer writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plain_http_to_a_remote_host_is_warned_once_per_host() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let creds = ClientCredentials::bearer("abc.def.ghi").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for url in [
            "http://tasker.example.com:8080/v1/tasks",
            "http://tasker.example.com:8080/v1/tasks/1",
            "http://127.0.0.1:8080/v1/tasks",
            "http://localhost:8081/v1/templates",
            "https://tasker.example.com/v1/tasks",
            "http://10.1.2.3:8080/v1/tasks",
        ] {
            let mut request = http::Request::get(url).body(()).unwrap();
            creds.apply_to_request(&mut request).unwrap();
            assert_eq!(request.headers()["authorization"], "Bearer abc.def.ghi");
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    assert!(warnings[0].contains("host=tasker.example.com"), "{logs}");
    assert!(warnings[1].contains("host=10.1.2.3"), "{logs}");
    assert!(!logs.contains("abc.def.ghi"), "the token is never logged");

    // No credentials, nothing to warn about.
    let none = ClientCredentials::none();
    assert!(!none.check_transport(&"http://tasker.example.com/".parse().unwrap()));
}
