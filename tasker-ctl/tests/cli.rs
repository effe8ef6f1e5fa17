//! `tasker-ctl auth`, run as a user runs it: the real binary, real files, exit codes and output,
//! and the tokens it mints checked by the server's own verifier (`SecurityService`).
//!
//! These tests live in the `tasker-ctl` package (not the root `tests/`) so that cargo builds the
//! binary before running them and hands its path over in `CARGO_BIN_EXE_tasker-ctl`, in the same
//! invocation, profile and feature set: `cargo test --workspace --all-features` needs no second
//! build, and `cargo test -p tasker-ctl` can never run a stale binary.

// File modes and /dev/full are Unix notions.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, header};
use tasker_auth::keys::{KeyPair, TokenRequest};
use tasker_auth::{
    AuthConfig, JwtVerificationMethod, Permission, PermissionSet, Role, SecurityService,
    TaskerConfig,
};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tasker-ctl"))
}

/// The result of one run: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ctl(args: &[&str]) -> Run {
    ctl_in(&std::env::temp_dir(), args, None)
}

fn ctl_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tasker-ctl");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for tasker-ctl");
    let run = Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "tasker-ctl panicked: {}",
        run.stderr
    );
    run
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tasker-ctl-test-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn generate_keys(dir: &TempDir, algorithm: &str) -> Run {
    let run = ctl(&[
        "auth",
        "generate-keys",
        "--output-dir",
        &dir.path("keys"),
        "--algorithm",
        algorithm,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

fn token(dir: &TempDir, extra: &[&str]) -> String {
    let key = dir.path("keys/jwt-private-key.pem");
    let mut args = vec!["auth", "generate-token", "--private-key", &key];
    args.extend_from_slice(extra);
    let run = ctl(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout holds the token alone: {:?}",
        run.stdout
    );
    lines[0].to_owned()
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    headers
}

fn static_key_config(dir: &TempDir, algorithm: &str) -> AuthConfig {
    let mut cfg = AuthConfig::new();
    cfg.enabled = true;
    cfg.jwt_verification_method = JwtVerificationMethod::PublicKey;
    cfg.jwt_public_key_path = dir.path("keys/jwt-public-key.pem");
    cfg.jwt_allowed_algorithms = vec![algorithm.to_owned()];
    cfg
}

fn set(names: &[&str]) -> PermissionSet {
    names
        .iter()
        .map(|n| n.parse::<Permission>().unwrap())
        .collect()
}

#[tokio::test]
async fn keys_then_token_are_accepted_by_the_server_with_exactly_the_requested_permissions() {
    for (alg_flag, alg) in [("rs256", "RS256"), ("es256", "ES256"), ("eddsa", "EdDSA")] {
        let dir = TempDir::new(alg_flag);
        generate_keys(&dir, alg_flag);
        let token = token(
            &dir,
            &[
                "--permissions",
                "tasks:create,tasks:read",
                "--subject",
                "alice",
            ],
        );
        let service = SecurityService::from_config(&static_key_config(&dir, alg)).unwrap();
        let ctx = service.authenticate(&bearer(&token)).await.unwrap();
        assert_eq!(ctx.subject(), "alice");
        assert_eq!(
            ctx.permissions(),
            set(&["tasks:create", "tasks:read"]),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn role_tokens_grant_the_role() {
    let dir = TempDir::new("role");
    generate_keys(&dir, "es256");
    let token = token(&dir, &["--role", "ops-admin"]);
    let service = SecurityService::from_config(&static_key_config(&dir, "ES256")).unwrap();
    let ctx = service.authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(ctx.permissions(), Role::OpsAdmin.permissions());
    assert_eq!(ctx.subject(), "tasker-client");
    assert!(!ctx.has(Permission::WorkerConfigRead));
}

/// Serves `dir/keys/jwks.json` on 127.0.0.1 for the life of the returned task.
async fn serve_jwks(dir: &TempDir) -> (String, tokio::task::JoinHandle<()>) {
    let body = fs::read_to_string(dir.path("keys/jwks.json")).unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(30), axum::serve(listener, app)).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_verify_in_jwks_mode_with_the_default_kid() {
    let dir = TempDir::new("jwks");
    generate_keys(&dir, "eddsa");
    let token = token(&dir, &["--permissions", "dlq:*"]);
    let (url, server) = serve_jwks(&dir).await;

    let mut cfg = AuthConfig::new();
    cfg.enabled = true;
    cfg.jwt_verification_method = JwtVerificationMethod::Jwks;
    cfg.jwks_url = url.clone();
    cfg.jwks_url_allow_http = true;
    cfg.jwt_allowed_algorithms = vec!["EdDSA".to_owned()];
    let service = SecurityService::from_config(&cfg).unwrap();
    let ctx = service.authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(
        ctx.permissions(),
        set(&["dlq:read", "dlq:update", "dlq:stats"])
    );

    // The CLI's validate-token agrees, against the URL and against the file.
    let (t, u) = (token.clone(), url.clone());
    let by_url = tokio::task::spawn_blocking(move || {
        ctl(&["auth", "validate-token", "--token", &t, "--jwks", &u])
    })
    .await
    .unwrap();
    assert_eq!(by_url.code, 0, "{}", by_url.stderr);
    assert!(
        by_url
            .stdout
            .contains("granted permissions: dlq:read, dlq:update, dlq:stats")
    );
    let by_file = ctl(&[
        "auth",
        "validate-token",
        "--token",
        &token,
        "--jwks",
        &dir.path("keys/jwks.json"),
    ]);
    assert_eq!(by_file.code, 0, "{}", by_file.stderr);

    // A token with another kid is refused by both.
    let other = self::token(
        &dir,
        &["--permissions", "dlq:read", "--kid", "rotated-away"],
    );
    assert!(service.authenticate(&bearer(&other)).await.is_err());
    let refused = ctl(&[
        "auth",
        "validate-token",
        "--token",
        &other,
        "--jwks",
        &dir.path("keys/jwks.json"),
    ]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("unknown kid"), "{}", refused.stderr);
    server.abort();
}

#[test]
fn generate_keys_writes_private_key_0600_public_key_and_jwks() {
    let dir = TempDir::new("files");
    let run = generate_keys(&dir, "es256");
    let private = dir.path("keys/jwt-private-key.pem");
    let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = KeyPair::from_private_pem(&fs::read_to_string(&private).unwrap()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path("keys/jwt-public-key.pem")).unwrap(),
        key.public_key_pem()
    );
    let jwks: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path("keys/jwks.json")).unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], key.kid());
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private part in jwks.json"
    );
    assert!(run.stdout.contains(key.kid()));
}

#[test]
fn generate_keys_never_overwrites_without_force() {
    let dir = TempDir::new("force");
    generate_keys(&dir, "eddsa");
    let private = dir.path("keys/jwt-private-key.pem");
    let before = fs::read_to_string(&private).unwrap();

    let again = ctl(&["auth", "generate-keys", "--output-dir", &dir.path("keys")]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(fs::read_to_string(&private).unwrap(), before);

    // Even if only jwks.json is there, nothing is written.
    fs::remove_file(&private).unwrap();
    fs::remove_file(dir.path("keys/jwt-public-key.pem")).unwrap();
    let partial = ctl(&["auth", "generate-keys", "--output-dir", &dir.path("keys")]);
    assert_eq!(partial.code, 1);
    assert!(!Path::new(&private).exists());

    // --force replaces the pair, and a loosened mode is tightened back to 0600.
    fs::write(&private, "old").unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o644)).unwrap();
    let forced = ctl(&[
        "auth",
        "generate-keys",
        "--output-dir",
        &dir.path("keys"),
        "--algorithm",
        "eddsa",
        "--force",
    ]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let after = fs::read_to_string(&private).unwrap();
    assert!(after.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_ne!(after, before);
    assert_eq!(
        fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn generate_keys_refuses_bad_input() {
    let dir = TempDir::new("badkeys");
    let out = dir.path("keys");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--key-size", "1024"], 1, "below 2048 bits are refused"),
        (&["--key-size", "2047"], 1, "below 2048 bits are refused"),
        (&["--key-size", "2500"], 1, "unsupported RSA key size 2500"),
        (
            &["--key-size", "abc"],
            2,
            "invalid value 'abc' for '--key-size",
        ),
        (&["--key-size", "-5"], 2, "unexpected argument '-5'"),
        (
            &["--algorithm", "es256", "--key-size", "2048"],
            1,
            "--key-size applies to --algorithm rs256 only",
        ),
        (
            &["--algorithm", "hs256"],
            2,
            "invalid value 'hs256' for '--algorithm",
        ),
    ];
    for (extra, code, message) in cases {
        let mut args = vec!["auth", "generate-keys", "--output-dir", &out];
        args.extend_from_slice(extra);
        let run = ctl(&args);
        assert_eq!(run.code, *code, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert!(
            !Path::new(&dir.path("keys/jwt-private-key.pem")).exists(),
            "{extra:?}"
        );
    }
    // An output "directory" that is a file.
    fs::write(dir.path("file"), "x").unwrap();
    let run = ctl(&["auth", "generate-keys", "--output-dir", &dir.path("file")]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot create output directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn generate_token_refuses_bad_input() {
    let dir = TempDir::new("badtoken");
    generate_keys(&dir, "es256");
    let key = dir.path("keys/jwt-private-key.pem");
    fs::write(
        dir.path("garbage.pem"),
        "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    fs::write(dir.path("notpem.txt"), "hello").unwrap();
    fs::write(dir.path("binary.pem"), [0xff, 0xfe, 0x00]).unwrap();
    let (public, garbage, notpem, binary, keysdir) = (
        dir.path("keys/jwt-public-key.pem"),
        dir.path("garbage.pem"),
        dir.path("notpem.txt"),
        dir.path("binary.pem"),
        dir.path("keys"),
    );
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--private-key", &key, "--permissions", "tasks:creat"],
            1,
            "unknown permission `tasks:creat` (did you mean `tasks:create`?)",
        ),
        (
            vec!["--private-key", &key, "--permissions", "*"],
            1,
            "bare `*` grants nothing",
        ),
        (
            vec!["--private-key", &key, "--permissions", "health:*"],
            1,
            "unknown permission `health:*`",
        ),
        (
            vec!["--private-key", &key, "--permissions", ""],
            1,
            "--permissions is empty",
        ),
        (
            vec!["--private-key", &key, "--role", "admin"],
            1,
            "unknown role `admin`",
        ),
        (
            vec![
                "--private-key",
                &key,
                "--role",
                "read-only",
                "--subject",
                "",
            ],
            1,
            "--subject must not be empty",
        ),
        (
            vec!["--private-key", &key],
            2,
            "--permissions <LIST>|--role <NAME>",
        ),
        (
            vec![
                "--private-key",
                &key,
                "--role",
                "read-only",
                "--permissions",
                "tasks:read",
            ],
            2,
            "cannot be used with",
        ),
        (
            vec![
                "--private-key",
                &key,
                "--role",
                "read-only",
                "--expiry-hours",
                "0",
            ],
            2,
            "0 is not in 1..=720",
        ),
        (
            vec![
                "--private-key",
                &key,
                "--role",
                "read-only",
                "--expiry-hours",
                "721",
            ],
            2,
            "721 is not in 1..=720",
        ),
        (
            vec![
                "--private-key",
                &key,
                "--role",
                "read-only",
                "--expiry-hours",
                "1.5",
            ],
            2,
            "invalid value '1.5'",
        ),
        (
            vec![
                "--private-key",
                "/nonexistent/key.pem",
                "--role",
                "read-only",
            ],
            1,
            "cannot read private key file /nonexistent/key.pem",
        ),
        (
            vec!["--private-key", &keysdir, "--role", "read-only"],
            1,
            "it is a directory",
        ),
        (
            vec!["--private-key", &public, "--role", "read-only"],
            1,
            "expected a private key, found a PEM `PUBLIC KEY` block",
        ),
        (
            vec!["--private-key", &garbage, "--role", "read-only"],
            1,
            "malformed PEM",
        ),
        (
            vec!["--private-key", &notpem, "--role", "read-only"],
            1,
            "malformed PEM",
        ),
        (
            vec!["--private-key", &binary, "--role", "read-only"],
            1,
            "is not text",
        ),
    ];
    for (extra, code, message) in cases {
        let mut args = vec!["auth", "generate-token"];
        args.extend_from_slice(&extra);
        let run = ctl(&args);
        assert_eq!(run.code, code, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{extra:?}: no token on failure");
        assert!(!run.stderr.contains("BEGIN"), "no key material in errors");
    }
}

#[test]
fn generate_token_reports_details_on_stderr() {
    let dir = TempDir::new("details");
    generate_keys(&dir, "es256");
    let run = ctl(&[
        "auth",
        "generate-token",
        "--private-key",
        &dir.path("keys/jwt-private-key.pem"),
        "--permissions",
        "tasks:read,tasks:read,steps:*",
        "--expiry-hours",
        "2",
        "--issuer",
        "iss-x",
        "--audience",
        "aud-y",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("grants:      tasks:read, steps:read, steps:resolve"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(in 2 h)"), "{}", run.stderr);
    let token = run.stdout.trim();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key = KeyPair::from_private_pem(
        &fs::read_to_string(dir.path("keys/jwt-private-key.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(header.kid.as_deref(), Some(key.kid()));
    let claims = claims(token);
    assert_eq!(
        claims["permissions"],
        serde_json::json!(["tasks:read", "steps:*"])
    );
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some("iss-x"), Some("aud-y"))
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        7200
    );
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn validate_token_accepts_good_and_refuses_tampered_expired_and_foreign_tokens() {
    let dir = TempDir::new("validate");
    generate_keys(&dir, "rs256");
    let public = dir.path("keys/jwt-public-key.pem");
    let good = token(&dir, &["--role", "read-only", "--subject", "ci"]);
    let validate = |token: &str, extra: &[&str]| {
        let mut args = vec![
            "auth",
            "validate-token",
            "--token",
            token,
            "--public-key",
            &public,
        ];
        args.extend_from_slice(extra);
        ctl(&args)
    };

    let ok = validate(&good, &[]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("\"sub\": \"ci\""), "{}", ok.stdout);
    assert!(
        ok.stdout.contains(
            "granted permissions: tasks:read, tasks:list, steps:read, dlq:read, dlq:stats"
        ),
        "{}",
        ok.stdout
    );

    // From stdin.
    let piped = ctl_in(
        &dir.0,
        &[
            "auth",
            "validate-token",
            "--token",
            "-",
            "--public-key",
            &public,
        ],
        Some(&format!("{good}\n")),
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);

    // Tampered claims: same signature, other payload.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut c = claims(&good);
    c["permissions"] = serde_json::json!(["tasks:*"]);
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string());
    let tampered = validate(&parts.join("."), &[]);
    assert_eq!(tampered.code, 1);
    assert!(
        tampered
            .stderr
            .contains("token refused (invalid): bad signature"),
        "{}",
        tampered.stderr
    );
    assert!(tampered.stdout.is_empty());

    // Expired (minted two hours ago with a one-hour life, beyond the 30 s leeway).
    let key = KeyPair::from_private_pem(
        &fs::read_to_string(dir.path("keys/jwt-private-key.pem")).unwrap(),
    )
    .unwrap();
    let expired = key
        .mint_at(
            &TokenRequest {
                subject: "ci".into(),
                permissions: vec!["tasks:read".into()],
                issuer: "tasker-core".into(),
                audience: "tasker-api".into(),
                ttl: Duration::from_secs(3600),
                kid: None,
            },
            SystemTime::now() - Duration::from_secs(7200),
        )
        .unwrap();
    let run = validate(&expired, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("token refused (expired)"),
        "{}",
        run.stderr
    );

    let run = validate(&good, &["--audience", "someone-else"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("token refused (invalid)"),
        "{}",
        run.stderr
    );
    let run = validate(&good, &["--issuer", "someone-else"]);
    assert_eq!(run.code, 1);

    let run = validate("not-a-token", &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("token refused (malformed)"),
        "{}",
        run.stderr
    );

    // Signed by another key.
    let other = TempDir::new("validate-other");
    generate_keys(&other, "rs256");
    let foreign = token(&other, &["--role", "read-only"]);
    let run = validate(&foreign, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad signature"), "{}", run.stderr);

    // Signed by a key of another type: the refusal says which algorithms the key verifies.
    let ed = TempDir::new("validate-ed");
    generate_keys(&ed, "eddsa");
    let ed_token = token(&ed, &["--role", "read-only"]);
    let run = validate(&ed_token, &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("alg not allowed (the token is signed with EdDSA; this key verifies RS256"),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_token_refuses_bad_key_sources() {
    let dir = TempDir::new("validate-bad");
    generate_keys(&dir, "es256");
    let good = token(&dir, &["--role", "read-only"]);
    fs::write(dir.path("notjson.json"), "{").unwrap();
    fs::write(dir.path("notset.json"), "{\"kty\":\"EC\"}").unwrap();
    let (private, notjson, notset) = (
        dir.path("keys/jwt-private-key.pem"),
        dir.path("notjson.json"),
        dir.path("notset.json"),
    );
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--public-key", &private], 1, "this is a private key"),
        (
            vec!["--public-key", "/nonexistent.pem"],
            1,
            "cannot read public key file /nonexistent.pem",
        ),
        (
            vec!["--jwks", "/nonexistent.json"],
            1,
            "cannot read JWKS file /nonexistent.json",
        ),
        (vec!["--jwks", &notjson], 1, "is not JSON"),
        (vec!["--jwks", &notset], 1, "is not a JWK set"),
        (vec![], 2, "--public-key <FILE>|--jwks <FILE_OR_URL>"),
    ];
    for (extra, code, message) in cases {
        let mut args = vec!["auth", "validate-token", "--token", &good];
        args.extend_from_slice(&extra);
        let run = ctl(&args);
        assert_eq!(run.code, code, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert!(!run.stderr.contains("BEGIN"), "no key material in errors");
    }
}

#[tokio::test]
async fn generated_api_key_is_accepted_through_its_toml_snippet() {
    let run = ctl(&[
        "auth",
        "generate-api-key",
        "--description",
        "ci \"reader\"",
        "--permissions",
        "tasks:read,tasks:list",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut lines = run.stdout.lines();
    let key = lines.next().unwrap().to_owned();
    assert!(key.len() >= 43, "32 random bytes, base64url: {key}");
    let snippet: String = lines.map(|l| format!("{l}\n")).collect();
    assert!(snippet.contains(&tasker_auth::hash_api_key(&key)));
    assert!(
        !snippet.contains(&key),
        "the plaintext key is not in the snippet"
    );

    let toml = format!("[web.auth]\nenabled = true\napi_keys_enabled = true\n\n{snippet}");
    let cfg = TaskerConfig::from_toml_str(&toml, &|_| None).unwrap();
    let service = SecurityService::from_config(&cfg.web.auth).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::try_from(key.as_str()).unwrap());
    let ctx = service.authenticate(&headers).await.unwrap();
    assert_eq!(ctx.subject(), "ci \"reader\"");
    assert_eq!(ctx.permissions(), set(&["tasks:read", "tasks:list"]));

    let second = ctl(&["auth", "generate-api-key"]);
    assert_ne!(
        second.stdout.lines().next(),
        Some(key.as_str()),
        "keys are random"
    );
    let bad = ctl(&["auth", "generate-api-key", "--permissions", "tasks:nope"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("unknown permission `tasks:nope`"));
}

#[test]
fn show_permissions_lists_vocabulary_wildcards_and_roles() {
    let run = ctl(&["auth", "show-permissions"]);
    assert_eq!(run.code, 0);
    for p in Permission::ALL {
        assert!(run.stdout.contains(p.as_str()), "{p}");
    }
    for role in Role::ALL {
        assert!(run.stdout.contains(role.as_str()), "{role}");
    }
    assert!(run.stdout.contains("grants nothing"));
}

#[test]
fn help_teaches_every_command_with_an_example() {
    let auth = ctl(&["auth", "--help"]);
    assert_eq!(auth.code, 0);
    for command in [
        "generate-keys",
        "generate-token",
        "validate-token",
        "generate-api-key",
        "show-permissions",
    ] {
        assert!(auth.stdout.contains(command), "{command}");
        let help = ctl(&["auth", command, "--help"]);
        assert_eq!(help.code, 0);
        assert!(
            help.stdout.contains(&format!("tasker-ctl auth {command}")),
            "{command}: {}",
            help.stdout
        );
    }
}

#[test]
fn a_closed_or_full_stdout_is_an_error_not_a_panic() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let output = Command::new(binary())
        .args(["auth", "show-permissions"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: cannot write to stdout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn generate_keys_prints_a_config_block_that_pastes_as_is() {
    let dir = TempDir::new("paste");
    let run = generate_keys(&dir, "es256");
    let start = run.stdout.find("[web.auth]").expect("a [web.auth] table");
    let block = run.stdout[start..]
        .split("\n\n")
        .next()
        .expect("the block ends at a blank line");
    let config = TaskerConfig::from_toml_str(block, &|_| None).expect("the block parses");
    let token = token(&dir, &["--role", "read-only", "--subject", "paste"]);
    let service = SecurityService::from_config(&config.web.auth).unwrap();
    let ctx = service.authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(ctx.subject(), "paste");
}

#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    // The read end is closed before the command writes, so every write meets a broken pipe,
    // as `tasker-ctl auth show-permissions | head -1` does once `head` has its line.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(binary())
        .args(["auth", "show-permissions"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");

    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' auth show-permissions | head -1",
            binary().display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(piped.stdout).unwrap().lines().count(), 1);
    assert_eq!(String::from_utf8(piped.stderr).unwrap(), "");
}
