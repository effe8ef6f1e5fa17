//! The example servers run as a user runs them: as processes, with `--config` and `--bind`,
//! printing `listening on http://IP:PORT`, refusing a bad configuration, stopping on SIGTERM.
//!
//! The example binaries are built by `cargo test` (the README's test command builds every
//! example); these tests find them next to the test binary.

#[path = "common/process.rs"]
mod process;

use process::{example, stop};

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};

fn write_config(name: &str, toml: &str) -> PathBuf {
    process::write_config("server-process", name, toml)
}

fn get(addr: &str, path: &str) -> String {
    get_with(addr, path, &[])
}

fn get_with(addr: &str, path: &str, headers: &[(&str, &str)]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: x\r\n{headers}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn servers_listen_serve_and_stop_on_sigterm() {
    let config = write_config(
        "auth-on.toml",
        "[web]\nbind_address = \"127.0.0.1:1\"\n\n[web.auth]\nenabled = true\napi_keys_enabled = true\n\
         jwt_public_key_path = \"\"\n\n[[web.auth.api_keys]]\nkey = \"process-test-key-0123456789\"\n\
         permissions = [\"tasks:list\", \"worker:templates_read\"]\ndescription = \"process-test\"\n",
    );
    for name in ["orchestration", "worker"] {
        let mut child = Command::new(example(name))
            .arg("--config")
            .arg(&config)
            .args(["--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("{name}: first line is {line:?}"))
            .to_owned();
        assert!(get(&addr, "/health").starts_with("HTTP/1.1 200"), "{name}");
        assert!(
            get(&addr, "/v1/templates").starts_with("HTTP/1.1 401"),
            "{name}: auth is on"
        );

        stop(&mut child, name);
    }
}

/// The configuration files shipped in `examples/` work as the README uses them: run from a
/// directory holding `./keys` as `tasker-ctl auth generate-keys --output-dir ./keys` writes it
/// (an RS256 pair, its default), they accept a token signed by that key and their example API
/// key, and refuse a caller without credentials. The logs on a non-terminal stderr carry no
/// colour codes.
#[test]
fn shipped_example_configs_serve_with_keys_from_generate_keys() {
    let dir = std::env::temp_dir().join(format!("tasker-shipped-configs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let keys = KeyPair::generate(KeyAlgorithm::Rs256 { bits: 2048 }).unwrap();
    std::fs::write(dir.join("keys/jwt-public-key.pem"), keys.public_key_pem()).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let cases = [
        (
            "orchestration",
            "/v1/tasks",
            "tasks:list",
            "tsk_example-orchestration-key-replace-me",
        ),
        (
            "worker",
            "/v1/templates",
            "worker:templates_read",
            "tsk_example-worker-key-replace-me",
        ),
    ];
    for (name, path, permission, api_key) in cases {
        let mut child = Command::new(example(name))
            .arg("--config")
            .arg(examples.join(format!("{name}.toml")))
            .args(["--bind", "127.0.0.1:0"])
            .current_dir(&dir)
            .env("RUST_LOG", "info")
            .env_remove("TASKER_CONFIG_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("{name} did not start with examples/{name}.toml: {stderr}");
        };
        let token = keys
            .mint(&TokenRequest {
                subject: "readme-reader".into(),
                permissions: vec![permission.to_owned()],
                issuer: "tasker-core".into(),
                audience: "tasker-api".into(),
                ttl: Duration::from_secs(600),
                kid: None,
            })
            .unwrap();
        let bearer = format!("Bearer {token}");
        assert!(get(addr, path).starts_with("HTTP/1.1 401"), "{name}");
        assert!(
            get_with(addr, path, &[("Authorization", &bearer)]).starts_with("HTTP/1.1 200"),
            "{name}: token"
        );
        assert!(
            get_with(addr, path, &[("X-API-Key", api_key)]).starts_with("HTTP/1.1 200"),
            "{name}: example API key"
        );
        stop(&mut child, name);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(stderr.contains("INFO"), "{name} logs: {stderr}");
        assert!(
            !stderr.contains('\x1b'),
            "{name}: no ANSI codes: {stderr:?}"
        );
    }
}

#[test]
fn a_bad_configuration_stops_the_server_with_the_key_at_fault() {
    let cases = [
        (
            "unknown.toml",
            "[web]\nbind_adress = \"127.0.0.1:0\"\n",
            "bind_adress",
        ),
        (
            "no-verifier.toml",
            "[web.auth]\nenabled = true\njwt_public_key_path = \"/nonexistent/key.pem\"\n",
            "jwt_public_key_path",
        ),
        (
            "short-key.toml",
            "[web.auth]\nenabled = true\napi_keys_enabled = true\n\n[[web.auth.api_keys]]\nkey = \"short\"\npermissions = [\"tasks:read\"]\ndescription = \"x\"\n",
            "api_keys",
        ),
    ];
    for (file, toml, key) in cases {
        let config = write_config(file, toml);
        let out = Command::new(example("orchestration"))
            .arg("--config")
            .arg(&config)
            .args(["--bind", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(out.stdout.is_empty(), "{file}: never listened");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && stderr.contains(key),
            "{file}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
}
