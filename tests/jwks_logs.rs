//! What a JWKS or OpenID discovery fetch logs, in a test binary of its own (see
//! `tests/auth_logs.rs` for why a log capture needs its own process): URLs only redacted, and a
//! set URL serving something else named for what it is.

#[path = "common/loopback_idp.rs"]
mod loopback_idp;

use std::io::Write;
use std::sync::{Arc, Mutex};

use loopback_idp::{DISCOVERY, Idp};
use tasker_auth::{AuthConfig, JwksKeyStore, JwksSettings, JwtVerificationMethod, SecurityService};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRETS: [&str; 4] = ["hunter2", "alice", "abc123token", "secret-tenant"];

#[test]
fn fetch_logs_show_urls_redacted_and_say_what_a_wrong_document_is() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();

    let mut errors = Vec::new();
    let mut shown = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let idp = Idp::start().await;
            let base = idp.base();
            let with_credentials = |path: &str| {
                format!(
                    "http://alice:hunter2@{}{path}?access_token=abc123token",
                    base.trim_start_matches("http://")
                )
            };
            idp.route("/jwks.json", 503, "text/plain", Vec::new());
            idp.discovery(&base, &format!("{base}/certs?tenant=secret-tenant"));
            idp.route("/login", 200, "text/html", b"<html>Sign in</html>".to_vec());

            // A server whose JWKS endpoint fails: its start-up log (the service's Debug) and the
            // failed fetch show the URL redacted.
            let mut cfg = AuthConfig::new();
            cfg.enabled = true;
            cfg.jwt_verification_method = JwtVerificationMethod::Jwks;
            cfg.jwks_url = with_credentials("/jwks.json");
            cfg.jwks_url_allow_http = true;
            let service = SecurityService::from_config(&cfg).unwrap();
            shown.push(format!("{service:?} {cfg:?}"));

            for path in ["/jwks.json", DISCOVERY, "/login"] {
                let mut settings = JwksSettings::new(with_credentials(path));
                settings.allow_http = true;
                shown.push(format!("{settings:?}"));
                let store = JwksKeyStore::new(settings).unwrap();
                errors.push(store.refresh().await.unwrap_err().to_string());
                shown.push(format!("{store:?}"));
            }
            // A closed port: the transport error names no URL either.
            let closed = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap()
            };
            let mut settings = JwksSettings::new(format!(
                "http://alice:hunter2@{closed}/k?access_token=abc123token"
            ));
            settings.allow_http = true;
            let store = JwksKeyStore::new(settings).unwrap();
            errors.push(store.refresh().await.unwrap_err().to_string());
            assert!(idp.asked().iter().any(|p| p.starts_with("/login")));
            drop(service);
        });
    });

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for text in errors.iter().chain(&shown).chain([&logs]) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    assert!(
        logs.contains("/jwks.json?access_token=[REDACTED]"),
        "{logs}"
    );
    assert!(logs.contains("[REDACTED]:[REDACTED]@127.0.0.1"), "{logs}");
    assert!(logs.contains("JWK set fetch failed"), "{logs}");
    assert!(logs.contains("unexpected status 503"), "{logs}");
    assert!(
        logs.contains("found an OpenID Connect discovery document, not a JWK set"),
        "{logs}"
    );
    assert!(logs.contains("/certs?tenant=[REDACTED]"), "{logs}");
    assert!(logs.contains("found an HTML page, not a JWK set"), "{logs}");
    assert!(logs.contains("request failed"), "{logs}");
    assert!(errors[0].contains("unexpected status 503"), "{errors:?}");
    assert!(shown.iter().all(|s| s.contains("[REDACTED]")), "{shown:?}");
}
