//! What authentication logs and counts, in a test binary of its own: tracing caches whether a
//! callsite is of interest the first time any thread reaches it, so a capturing subscriber
//! installed by one test races with other tests of the same binary reaching the same log lines
//! first. Alone in its process, the capture sees every event.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use fixtures::*;
use http::HeaderMap;
use tasker_auth::SecurityService;

fn rsa_service() -> SecurityService {
    service_for(rsa())
}

#[test]
fn logs_and_metrics_name_the_outcome_never_the_credential() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

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

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();

    let good = token(rsa(), &claims(&["tasks:list"]));
    let forged = token(rsa_foreign(), &claims(&["tasks:list"]));
    tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let service = rsa_service();
                assert_accepted(&get_tasks(&service, bearer(&good)).await, "user-1");
                assert_refused(&get_tasks(&service, bearer(&forged)).await, "invalid");
                assert_refused(
                    &get_tasks(&service, api_key("wrong-key-0123456789abc")).await,
                    "invalid",
                );
                assert_refused(&get_tasks(&service, HeaderMap::new()).await, "missing");
            });
        });
    });

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("authenticated"), "{logs}");
    assert!(
        logs.contains("subject=\"user-1\"") || logs.contains("subject=user-1"),
        "{logs}"
    );
    assert!(logs.contains("authentication failed"), "{logs}");
    assert!(logs.contains("/v1/tasks"), "route in logs: {logs}");
    for secret in [
        &good[..],
        &forged[..],
        "wrong-key-0123456789abc",
        READER_KEY,
    ] {
        assert!(!logs.contains(secret), "a credential leaked into the logs");
    }
    let pem_body = rsa().public_pem.lines().nth(1).unwrap().to_owned();
    assert!(
        !logs.contains(&pem_body),
        "key material leaked into the logs"
    );

    let metrics = handle.render();
    assert!(
        metrics.contains(
            r#"tasker_auth_requests_total{method="jwt",result="success",protocol="http"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"tasker_auth_requests_total{method="jwt",result="failure",protocol="http"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"tasker_auth_requests_total{method="api_key",result="failure",protocol="http"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"tasker_auth_failures_total{reason="invalid",protocol="http"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"tasker_auth_failures_total{reason="missing",protocol="http"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("tasker_auth_verification_seconds"),
        "{metrics}"
    );
}
