//! `validate-token --config FILE` against the server's own decision: the same tokens through the
//! CLI and through the `SecurityService` a server builds from the same file get the same verdict.
//! Also: text from a token is printed with control characters escaped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, header};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{AuthError, SecurityService, TaskerConfig};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ctl(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_tasker-ctl"))
        .args(args)
        .env_remove("TASKER_CONFIG_PATH")
        .output()
        .expect("run tasker-ctl");
    let run = Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tasker-ctl-validate-config-{}-{tag}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server configuration: RS256 only, a leeway of 5 s, strictness as given.
fn config_file(dir: &TempDir, name: &str, public_key: &Path, strict: bool) -> PathBuf {
    dir.file(
        name,
        &format!(
            "[web.auth]\nenabled = true\njwt_public_key_path = \"{}\"\n\
             jwt_allowed_algorithms = [\"RS256\"]\nleeway_seconds = 5\n\
             jwt_issuer = \"https://idp.example/\"\njwt_audience = \"tasker-api\"\n\
             strict_validation = {strict}\n",
            public_key.display()
        ),
    )
}

fn request(permissions: &[&str]) -> TokenRequest {
    TokenRequest {
        issuer: "https://idp.example/".to_owned(),
        ..TokenRequest::new("svc-ci", permissions.iter().copied())
    }
}

/// The server's verdict: `valid` or `token refused (<reason>): <detail>`, as the CLI words it.
async fn server_verdict(file: &Path, token: &str) -> String {
    let config = TaskerConfig::load(Some(file)).unwrap();
    let service = SecurityService::from_config(&config.web.auth).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    match service.authenticate(&headers).await {
        Ok(_) => "valid".to_owned(),
        Err(error) => {
            let detail = match &error {
                AuthError::Invalid { reason } => reason.as_str().to_owned(),
                other => other.to_string(),
            };
            format!("token refused ({}): {detail}", error.reason().as_str())
        }
    }
}

fn cli_verdict(file: &Path, token: &str) -> String {
    let run = ctl(&[
        "auth",
        "validate-token",
        "--token",
        token,
        "--config",
        &file.display().to_string(),
    ]);
    match run.code {
        0 => {
            assert!(run.stdout.starts_with("valid:"), "{}", run.stdout);
            "valid".to_owned()
        }
        1 => run
            .stderr
            .trim()
            .strip_prefix("error: ")
            .unwrap_or(&run.stderr)
            .to_owned(),
        other => panic!("exit {other}: {}", run.stderr),
    }
}

#[tokio::test]
async fn the_cli_decides_as_a_server_started_with_the_same_file() {
    let dir = TempDir::new("verdicts");
    let rsa = KeyPair::generate(KeyAlgorithm::Rs256 { bits: 2048 }).unwrap();
    let es = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
    let public_key = dir.file("public.pem", &rsa.public_key_pem());
    let strict = config_file(&dir, "strict.toml", &public_key, true);
    let lax = config_file(&dir, "lax.toml", &public_key, false);
    let now = SystemTime::now();

    let tokens = [
        ("valid", rsa.mint(&request(&["tasks:read"])).unwrap()),
        (
            // Expired 20 s ago: inside the CLI's old fixed 30 s leeway, outside the file's 5 s.
            "expired",
            rsa.mint_at(
                &TokenRequest {
                    ttl: Duration::from_secs(60),
                    ..request(&["tasks:read"])
                },
                now - Duration::from_secs(80),
            )
            .unwrap(),
        ),
        ("es256", es.mint(&request(&["tasks:read"])).unwrap()),
        (
            "wrong aud",
            rsa.mint(&TokenRequest {
                audience: "someone-else".to_owned(),
                ..request(&["tasks:read"])
            })
            .unwrap(),
        ),
        (
            "wrong iss",
            rsa.mint(&TokenRequest {
                issuer: "https://idp.example".to_owned(),
                ..request(&["tasks:read"])
            })
            .unwrap(),
        ),
        (
            "unknown permission",
            rsa.mint(&request(&["tasks:read", "tasks:fly"])).unwrap(),
        ),
    ];
    let mut verdicts = Vec::new();
    for file in [&strict, &lax] {
        for (name, token) in &tokens {
            let server = server_verdict(file, token).await;
            let cli = cli_verdict(file, token);
            assert!(
                cli.starts_with(&server),
                "{name} with {}: server {server:?}, CLI {cli:?}",
                file.display()
            );
            verdicts.push((*name, file == &strict, server));
        }
    }
    let verdict = |name: &str, is_strict: bool| {
        verdicts
            .iter()
            .find(|(n, s, _)| *n == name && *s == is_strict)
            .map(|(.., v)| v.as_str())
            .unwrap()
    };
    // The verdicts themselves, so that agreeing on a wrong answer fails too.
    assert_eq!(verdict("valid", true), "valid");
    assert_eq!(
        verdict("expired", true),
        "token refused (expired): token expired"
    );
    assert_eq!(
        verdict("es256", true),
        "token refused (invalid): alg not allowed"
    );
    assert!(verdict("wrong aud", true).starts_with("token refused (invalid)"));
    assert!(verdict("wrong iss", true).starts_with("token refused (invalid)"));
    assert!(verdict("unknown permission", true).starts_with("token refused (invalid)"));
    assert_eq!(verdict("unknown permission", false), "valid");

    // The CLI's detail says which algorithms the file allows.
    let cli = cli_verdict(&strict, &tokens[2].1);
    assert!(cli.contains("jwt_allowed_algorithms is RS256"), "{cli}");
}

#[test]
fn config_is_exclusive_with_the_other_key_sources_and_issuer_flags() {
    let dir = TempDir::new("exclusive");
    let file = dir.file("c.toml", "[web.auth]\nenabled = false\n");
    let file = file.display().to_string();
    for extra in [
        &["--public-key", "k.pem"][..],
        &["--jwks", "jwks.json"],
        &["--issuer", "x"],
        &["--audience", "x"],
    ] {
        let mut args = vec!["auth", "validate-token", "--token", "t", "--config", &file];
        args.extend_from_slice(extra);
        let run = ctl(&args);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    }
    // A file with authentication off: a server would check nothing, so there is no verdict.
    let run = ctl(&["auth", "validate-token", "--token", "t", "--config", &file]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("authentication is disabled"),
        "{}",
        run.stderr
    );
    // A file a server would refuse to start with: its start-up error, naming the key.
    let bad = dir.file(
        "bad.toml",
        "[web.auth]\nenabled = true\njwt_allowed_algorithms = [\"HS256\"]\n",
    );
    let run = ctl(&[
        "auth",
        "validate-token",
        "--token",
        "t",
        "--config",
        &bad.display().to_string(),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("web.auth.jwt_allowed_algorithms"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_from_the_token_is_printed_with_control_characters_escaped() {
    let dir = TempDir::new("escape");
    let rsa = KeyPair::generate(KeyAlgorithm::Rs256 { bits: 2048 }).unwrap();
    let public_key = dir.file("public.pem", &rsa.public_key_pem());
    let file = config_file(&dir, "c.toml", &public_key, true);
    let exp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({
        "sub": "evil\u{1b}[31mred\u{9b}2J\u{202e}",
        "\u{1b}[2Jkey": "value\u{7}",
        "iss": "https://idp.example/",
        "aud": "tasker-api",
        "exp": exp,
        "permissions": ["tasks:read"],
    });
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(rsa.kid().to_owned());
    let key = EncodingKey::from_rsa_pem(rsa.private_key_pem().as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();

    let public = public_key.display().to_string();
    let file = file.display().to_string();
    let flags = [
        vec!["--config", &file],
        vec!["--public-key", &public, "--issuer", "https://idp.example/"],
    ];
    for source in flags {
        let mut args = vec!["auth", "validate-token", "--token", &token];
        args.extend_from_slice(&source);
        let run = ctl(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for raw in ['\u{1b}', '\u{9b}', '\u{202e}', '\u{7}'] {
            assert!(
                !run.stdout.contains(raw) && !run.stderr.contains(raw),
                "{raw:?} reached the terminal: {:?}",
                run.stdout
            );
        }
        assert!(
            run.stdout
                .contains("subject: evil\\u{1b}[31mred\\u{9b}2J\\u{202e}"),
            "{}",
            run.stdout
        );
        // The claims stay JSON: the key's escape is JSON's.
        assert!(
            run.stdout.contains("\"\\u001b[2Jkey\": \"value\\u0007\""),
            "{}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_discovers_keys_as_a_server_in_oidc_mode_does() {
    use axum::Json;
    use axum::routing::get;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let es = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
    let document = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/certs")});
    let set = json!({"keys": [es.jwk()]});
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(document) }),
        )
        .route("/certs", get(move || async move { Json(set) }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = TempDir::new("oidc");
    let file = dir.file(
        "oidc.toml",
        &format!(
            "[web.auth]\nenabled = true\njwt_verification_method = \"oidc\"\n\
             jwt_issuer = \"{issuer}\"\njwks_url_allow_http = true\n\
             jwt_allowed_algorithms = [\"ES256\"]\n"
        ),
    );
    let good = TokenRequest {
        issuer: issuer.clone(),
        ..TokenRequest::new("svc-ci", ["tasks:read"])
    };
    let tokens = [
        es.mint(&good).unwrap(),
        es.mint(&TokenRequest {
            kid: Some("not-in-the-set".to_owned()),
            ..good.clone()
        })
        .unwrap(),
        KeyPair::generate(KeyAlgorithm::Rs256 { bits: 2048 })
            .unwrap()
            .mint(&good)
            .unwrap(),
    ];
    let mut verdicts = Vec::new();
    for token in &tokens {
        let server = server_verdict(&file, token).await;
        let (file, token) = (file.clone(), token.clone());
        let cli = tokio::task::spawn_blocking(move || cli_verdict(&file, &token))
            .await
            .unwrap();
        assert!(cli.starts_with(&server), "server {server:?}, CLI {cli:?}");
        verdicts.push(server);
    }
    assert_eq!(
        verdicts,
        [
            "valid",
            "token refused (invalid): unknown kid",
            "token refused (invalid): alg not allowed"
        ]
    );
    server.abort();
}

#[test]
fn a_jwks_url_appears_in_messages_only_redacted() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://alice:hunter2@{closed}/jwks.json?access_token=abc123token");
    let rsa = KeyPair::generate(KeyAlgorithm::Es256).unwrap();
    let token = rsa
        .mint(&TokenRequest::new("svc-ci", ["tasks:read"]))
        .unwrap();
    let run = ctl(&["auth", "validate-token", "--token", &token, "--jwks", &url]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "http://[REDACTED]:[REDACTED]@{closed}/jwks.json?access_token=[REDACTED]"
        )),
        "{}",
        run.stderr
    );
    for secret in ["alice", "hunter2", "abc123token"] {
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
}
