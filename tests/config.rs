//! Configuration: loading, substitution, environment overrides, redaction, and one test for every
//! start-up error of docs/configuration.md, each checking that the error names the key at fault
//! and holds no secret.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fixtures::*;
use serde_json::json;
use tasker_auth::{
    ApiKeyConfig, AuthConfig, ConfigError, JwtVerificationMethod, SecurityService, TaskerConfig,
};

fn no_env(_: &str) -> Option<String> {
    None
}

/// A file in a fresh temporary directory, removed by the OS's temp cleanup.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tasker-auth-config-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn parse(toml: &str) -> Result<TaskerConfig, ConfigError> {
    TaskerConfig::from_toml_str(toml, &no_env)
}

fn start(config: &AuthConfig) -> Result<SecurityService, ConfigError> {
    SecurityService::from_config(config)
}

/// Asserts a start-up error naming `key`, whose message holds none of `secrets`.
#[track_caller]
fn assert_startup_error(result: Result<SecurityService, ConfigError>, key: &str, secrets: &[&str]) {
    let err = result.expect_err("expected a start-up error");
    let message = err.to_string();
    assert_eq!(err.key(), Some(key), "{message}");
    assert!(message.contains(key), "message must name {key}: {message}");
    for secret in secrets {
        assert!(!message.contains(secret), "secret in message: {message}");
    }
}

/// An enabled config with a working RSA key and working API keys, to show that each problem is
/// an error on its own.
fn working() -> AuthConfig {
    config_for(rsa())
}

fn pem_line(pem: &str) -> &str {
    pem.lines().nth(1).unwrap()
}

// ---------------------------------------------------------------- loading

#[test]
fn defaults_match_the_spec() {
    let config = parse("").unwrap();
    assert_eq!(config.web.bind_address, "127.0.0.1:8080");
    assert!(!config.web.config_endpoint_enabled);
    let auth = &config.web.auth;
    assert!(!auth.enabled);
    assert_eq!(auth.jwt_issuer, "tasker-core");
    assert_eq!(auth.jwt_audience, "tasker-api");
    assert_eq!(
        auth.jwt_verification_method,
        JwtVerificationMethod::PublicKey
    );
    assert_eq!(auth.jwt_public_key_path, "");
    assert_eq!(auth.jwt_allowed_algorithms, vec!["RS256"]);
    assert_eq!(auth.jwt_allowed_types, vec!["JWT", "at+jwt", ""]);
    assert_eq!(auth.jwks_url, "");
    assert_eq!(auth.jwks_refresh_interval_seconds, 3600);
    assert_eq!(auth.jwks_max_stale_seconds, 300);
    assert!(!auth.jwks_url_allow_http);
    assert_eq!(auth.jwks_min_refresh_interval_seconds, 10);
    assert_eq!(auth.leeway_seconds, 30);
    assert_eq!(auth.permissions_claim, "permissions");
    assert!(auth.strict_validation);
    assert!(!auth.api_keys_enabled);
    assert_eq!(auth.api_key_header, "X-API-Key");
    assert!(auth.api_keys.is_empty());
}

#[test]
fn full_spec_example_parses() {
    let config = parse(
        r#"
        [web]
        bind_address = "127.0.0.1:8081"
        config_endpoint_enabled = true

        [web.auth]
        enabled = true
        jwt_issuer = "tasker-core"
        jwt_audience = "tasker-api"
        jwt_verification_method = "jwks"
        jwt_public_key_path = ""
        jwt_allowed_algorithms = ["RS256", "ES256"]
        jwt_allowed_types = ["at+jwt"]
        jwks_url = "https://idp.example/.well-known/jwks.json"
        jwks_refresh_interval_seconds = 600
        jwks_max_stale_seconds = 60
        jwks_url_allow_http = false
        jwks_min_refresh_interval_seconds = 5
        leeway_seconds = 10
        permissions_claim = "scope"
        strict_validation = false
        api_keys_enabled = true
        api_key_header = "X-Tasker-Key"

        [[web.auth.api_keys]]
        key = "0123456789abcdef0123"
        permissions = ["tasks:read"]
        description = "ci-reader"
        expires_at = "2027-01-01T00:00:00Z"
        "#,
    )
    .unwrap();
    let auth = &config.web.auth;
    assert_eq!(config.web.bind_address, "127.0.0.1:8081");
    assert_eq!(auth.jwt_verification_method, JwtVerificationMethod::Jwks);
    assert_eq!(auth.jwt_allowed_types, vec!["at+jwt"]);
    assert_eq!(auth.jwks_min_refresh_interval_seconds, 5);
    assert_eq!(auth.api_keys[0].description, "ci-reader");
    assert_eq!(
        auth.api_keys[0].expires_at.as_deref(),
        Some("2027-01-01T00:00:00Z")
    );
}

#[test]
fn unknown_key_is_an_error_naming_it() {
    let err = parse("[web.auth]\nenabled = true\njwt_isuer = \"x\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwt_isuer"), "{err}");
    assert!(err.to_string().contains("jwt_isuer"), "{err}");
    let err = parse("[web]\nport = 1\n").unwrap_err();
    assert_eq!(err.key(), Some("web.port"), "{err}");
    let err =
        parse("[[web.auth.api_keys]]\nkey = \"0123456789abcdef0123\"\nscope = []\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.api_keys[0].scope"), "{err}");
    let err = parse("[server]\n").unwrap_err();
    assert_eq!(err.key(), Some("server"), "{err}");
}

#[test]
fn wrong_type_is_an_error_naming_the_key() {
    let err = parse("[web.auth]\nleeway_seconds = \"soon\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.leeway_seconds"), "{err}");
    let err = parse("[web.auth]\nenabled = \"maybe\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.enabled"), "{err}");
    let err = parse("[web.auth]\nleeway_seconds = -1\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.leeway_seconds"), "{err}");
}

#[test]
fn unknown_verification_method_is_an_error_naming_the_key() {
    let err = parse("[web.auth]\njwt_verification_method = \"hmac\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwt_verification_method"), "{err}");
}

#[test]
fn invalid_toml_is_an_error() {
    let err = parse("[web\nbind_address = 1").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
}

const SECRET: &str = "SUPERSECRET-0123456789abcdef";

/// Asserts a load error at `key`, `line`, `column` whose message and `Debug` output hold neither
/// the secret nor the source line, and still name the key.
#[track_caller]
fn assert_load_error(toml: &str, key: &str, line: usize, column: usize) -> String {
    let err = parse(toml).expect_err(toml);
    let message = err.to_string();
    let debug = format!("{err:?}");
    for text in [&message, &debug] {
        assert!(!text.contains(SECRET), "secret in {text}");
        assert!(
            !text.contains("SUPERSECRET"),
            "part of the secret in {text}"
        );
    }
    assert_eq!(err.key(), Some(key), "{message}");
    assert!(message.starts_with(&format!("{key}: ")), "{message}");
    assert!(
        message.ends_with(&format!("(line {line}, column {column})")),
        "{message}"
    );
    match err {
        ConfigError::Parse {
            line: l, column: c, ..
        } => assert_eq!((l, c), (Some(line), Some(column)), "{message}"),
        other => panic!("not a parse error: {other}"),
    }
    message
}

#[test]
fn syntax_errors_name_key_and_position_but_quote_no_value() {
    let s = SECRET;
    // A value followed by junk on its line.
    let m = assert_load_error(
        &format!("[web.auth]\nenabled = true\njwt_issuer = \"{s}\" x\n"),
        "web.auth.jwt_issuer",
        3,
        45,
    );
    assert!(m.contains("TOML syntax error"), "{m}");
    // The same with a literal string, and with an unterminated string.
    assert_load_error(
        &format!("[web.auth]\njwt_issuer = '{s}' 'x'\n"),
        "web.auth.jwt_issuer",
        2,
        45,
    );
    assert_load_error(
        &format!("[web.auth]\njwt_issuer = \"{s}\nleeway_seconds = 1\n"),
        "web.auth.jwt_issuer",
        2,
        43,
    );
    assert_load_error(
        &format!("[web.auth]\njwt_issuer = \"\"\"{s}\n"),
        "web.auth.jwt_issuer",
        3,
        1,
    );
    // An unclosed array of secrets.
    assert_load_error(
        &format!("[web.auth]\napi_keys = [\"{s}\"\n"),
        "web.auth.api_keys[0]",
        2,
        43,
    );
    // The key written twice, the second time with a secret.
    assert_load_error(
        &format!("[[web.auth.api_keys]]\nkey = \"a\"\nkey = \"{s}\"\n"),
        "web.auth.api_keys[0].key",
        3,
        1,
    );
    // A number TOML parses but cannot hold: out of range, without its digits.
    let m = assert_load_error(
        "[web.auth]\nleeway_seconds = 98765432109876543210987\n",
        "web.auth.leeway_seconds",
        2,
        18,
    );
    assert!(!m.contains("98765432109876543210987"), "{m}");
}

#[test]
fn type_errors_name_key_and_position_but_quote_no_value() {
    let s = SECRET;
    let cases: Vec<(String, &str, usize, usize, &str)> = vec![
        (
            format!("[web.auth]\napi_keys = [\"{s}\"]\n"),
            "web.auth.api_keys[0]",
            2,
            13,
            "invalid type: expected struct ApiKeyConfig, found a string",
        ),
        (
            format!("[web.auth]\nenabled = \"{s}\"\n"),
            "web.auth.enabled",
            2,
            1,
            "invalid value: expected true or false",
        ),
        (
            format!("[web.auth]\nleeway_seconds = \"{s}\"\n"),
            "web.auth.leeway_seconds",
            2,
            1,
            "invalid value: expected a non-negative whole number",
        ),
        (
            format!("[web.auth]\njwt_verification_method = \"{s}\"\n"),
            "web.auth.jwt_verification_method",
            2,
            1,
            "unknown value, expected one of `public_key`, `jwks`",
        ),
        (
            format!("[web.auth]\njwt_allowed_algorithms = \"{s}\"\n"),
            "web.auth.jwt_allowed_algorithms",
            2,
            1,
            "invalid type: expected a sequence, found a string",
        ),
        (
            format!("[web.auth]\njwt_allowed_types = [1, \"{s}\", [\"{s}\"]]\n"),
            "web.auth.jwt_allowed_types[0]",
            2,
            22,
            "invalid type: expected a string, found an integer",
        ),
        (
            format!("[[web.auth.api_keys]]\nkey = [\"{s}\"]\n"),
            "web.auth.api_keys[0].key",
            2,
            1,
            "invalid type: expected a string, found an array",
        ),
        (
            format!("[[web.auth.api_keys]]\nkey = \"a\"\npermissions = \"{s}\"\n"),
            "web.auth.api_keys[0].permissions",
            3,
            1,
            "invalid type: expected a sequence, found a string",
        ),
        (
            format!("web = \"{s}\"\n"),
            "web",
            1,
            1,
            "invalid type: expected struct WebConfig, found a string",
        ),
        (
            format!("web = {{ auth = {{ api_keys = \"{s}\" }} }}\n"),
            "web.auth.api_keys",
            1,
            18,
            "invalid type: expected a sequence, found a string",
        ),
        (
            format!("[web]\nbind_address = {{ value = \"{s}\" }}\n"),
            "web.bind_address",
            2,
            1,
            "invalid type: expected a string, found a table",
        ),
        (
            format!("[[web.auth.api_keys]]\nkey = \"{s}\"\n[[web.auth.api_keys]]\nkey = 5\n"),
            "web.auth.api_keys[1].key",
            4,
            1,
            "invalid type: expected a string, found an integer",
        ),
    ];
    for (toml, key, line, column, problem) in cases {
        let message = assert_load_error(&toml, key, line, column);
        assert!(message.contains(problem), "{message}");
    }
}

#[test]
fn unknown_key_error_gives_its_position() {
    let message = assert_load_error(
        &format!("[web.auth]\njwt_issuer = \"{SECRET}\"\n  jwt_isuer = \"{SECRET}\"\n"),
        "web.auth.jwt_isuer",
        3,
        3,
    );
    assert!(message.contains("unknown key `jwt_isuer`"), "{message}");
}

#[test]
fn unquoted_datetime_is_read_as_its_text() {
    let config = parse("[[web.auth.api_keys]]\nexpires_at = 2027-01-01T00:00:00Z\n").unwrap();
    assert_eq!(
        config.web.auth.api_keys[0].expires_at.as_deref(),
        Some("2027-01-01T00:00:00Z")
    );
}

#[test]
fn substitution_fills_values_with_defaults() {
    let env = |name: &str| match name {
        "ISSUER" => Some("from-env".to_owned()),
        "AUTH_ON" => Some("true".to_owned()),
        "LEEWAY" => Some("5".to_owned()),
        _ => None,
    };
    let config = TaskerConfig::from_toml_str(
        r#"
        [web]
        bind_address = "${BIND:-0.0.0.0:9000}"
        [web.auth]
        enabled = "${AUTH_ON}"
        leeway_seconds = "${LEEWAY}"
        jwt_issuer = "${ISSUER}"
        jwt_audience = "api-${ISSUER}-$${LITERAL}"
        jwt_allowed_algorithms = ["${ALG:-ES256}"]
        "#,
        &env,
    )
    .unwrap();
    assert_eq!(config.web.bind_address, "0.0.0.0:9000");
    assert!(config.web.auth.enabled);
    assert_eq!(config.web.auth.leeway_seconds, 5);
    assert_eq!(config.web.auth.jwt_issuer, "from-env");
    assert_eq!(config.web.auth.jwt_audience, "api-from-env-${LITERAL}");
    assert_eq!(config.web.auth.jwt_allowed_algorithms, vec!["ES256"]);
}

#[test]
fn substitution_of_an_unset_variable_names_key_and_variable() {
    let err = parse("[web.auth]\njwks_url = \"${IDP_URL}/jwks\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwks_url"), "{err}");
    assert!(err.to_string().contains("IDP_URL"), "{err}");
    let err = parse("[[web.auth.api_keys]]\nkey = \"${CI_KEY}\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.api_keys[0].key"), "{err}");
    let err = parse("[web.auth]\njwks_url = \"${OOPS\"\n").unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwks_url"), "{err}");
}

#[test]
fn substituted_secret_is_not_echoed_in_errors() {
    let env = |name: &str| (name == "KEY").then(|| "short-secret".to_owned());
    let config = TaskerConfig::from_toml_str(
        "[web.auth]\nenabled = true\napi_keys_enabled = true\n[[web.auth.api_keys]]\nkey = \"${KEY}\"\ndescription = \"ci\"\n",
        &env,
    )
    .unwrap();
    assert_startup_error(
        start(&config.web.auth),
        "web.auth.api_keys[0].key",
        &["short-secret"],
    );
}

#[test]
fn environment_overrides_apply() {
    let env = |name: &str| {
        Some(
            match name {
                "TASKER_WEB_BIND_ADDRESS" => "127.0.0.1:0",
                "TASKER_AUTH_ENABLED" => "true",
                "TASKER_JWT_PUBLIC_KEY_PATH" => "/keys/pub.pem",
                "TASKER_JWKS_URL" => "https://idp/jwks",
                "TASKER_JWT_ISSUER" => "iss-env",
                "TASKER_JWT_AUDIENCE" => "aud-env",
                _ => return None,
            }
            .to_owned(),
        )
    };
    let config = TaskerConfig::from_toml_str(
        "[web]\nbind_address = \"1.2.3.4:5\"\n[web.auth]\njwt_public_key = \"inline\"\n",
        &env,
    )
    .unwrap();
    assert_eq!(config.web.bind_address, "127.0.0.1:0");
    let auth = &config.web.auth;
    assert!(auth.enabled);
    assert_eq!(auth.jwt_public_key_path, "/keys/pub.pem");
    assert_eq!(
        auth.jwt_public_key, "",
        "the path override replaces the inline key"
    );
    assert_eq!(auth.jwks_url, "https://idp/jwks");
    assert_eq!(auth.jwt_issuer, "iss-env");
    assert_eq!(auth.jwt_audience, "aud-env");
}

#[test]
fn inline_key_override_replaces_the_path() {
    let env = |name: &str| (name == "TASKER_JWT_PUBLIC_KEY").then(|| rsa().public_pem.clone());
    let config = TaskerConfig::from_toml_str(
        "[web.auth]\nenabled = true\njwt_public_key_path = \"/missing.pem\"\n",
        &env,
    )
    .unwrap();
    assert_eq!(config.web.auth.jwt_public_key_path, "");
    assert!(start(&config.web.auth).unwrap().is_enabled());
}

#[test]
fn bad_environment_values_are_errors_naming_the_variable() {
    let env = |name: &str| (name == "TASKER_AUTH_ENABLED").then(|| "perhaps".to_owned());
    let err = TaskerConfig::from_toml_str("", &env).unwrap_err();
    assert_eq!(err.key(), Some("web.auth.enabled"));
    assert!(err.to_string().contains("TASKER_AUTH_ENABLED"), "{err}");

    let both = |name: &str| match name {
        "TASKER_JWT_PUBLIC_KEY" | "TASKER_JWT_PUBLIC_KEY_PATH" => Some("x".to_owned()),
        _ => None,
    };
    let err = TaskerConfig::from_toml_str("", &both).unwrap_err();
    assert_eq!(err.key(), Some("web.auth.jwt_public_key_path"), "{err}");
}

#[test]
fn load_reads_the_named_file() {
    let path = temp_file(
        "tasker.toml",
        "[web]\nbind_address = \"127.0.0.1:8081\"\nconfig_endpoint_enabled = true\n",
    );
    let config = TaskerConfig::load(Some(&path)).unwrap();
    assert!(config.web.config_endpoint_enabled);
    let err = TaskerConfig::load(Some(&path.with_file_name("absent.toml"))).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("absent.toml"), "{err}");
}

#[test]
fn redacted_config_hides_every_secret() {
    let mut config = TaskerConfig::default();
    config.web.auth = working();
    let json = config.redacted();
    let text = json.to_string();
    assert!(!text.contains(READER_KEY), "{text}");
    assert!(
        !text.contains(&tasker_auth::hash_api_key(ADMIN_KEY_PLAIN)),
        "{text}"
    );
    assert!(!text.contains(pem_line(&rsa().public_pem)), "{text}");
    let auth = &json["web"]["auth"];
    assert_eq!(auth["jwt_public_key"], "[REDACTED]");
    assert_eq!(auth["api_keys"][0]["key"], "[REDACTED]");
    assert_eq!(auth["api_keys"][0]["key_sha256"], json!(null));
    assert_eq!(auth["api_keys"][1]["key_sha256"], "[REDACTED]");
    assert_eq!(auth["api_keys"][0]["description"], "ci-reader");
    assert_eq!(auth["leeway_seconds"], 30);
    assert_eq!(json["web"]["bind_address"], "127.0.0.1:8080");
}

// ---------------------------------------------------------------- start-up: what works

#[test]
fn disabled_auth_reads_nothing_else() {
    let config = AuthConfig {
        jwt_public_key_path: "/does/not/exist.pem".into(),
        jwt_allowed_algorithms: vec!["none".into()],
        ..AuthConfig::default()
    };
    assert!(!start(&config).unwrap().is_enabled());
}

#[test]
fn key_file_of_each_supported_type_starts() {
    for keys in [rsa(), ec256(), ec384(), ed25519()] {
        let path = temp_file("public.pem", &keys.public_pem);
        let config = AuthConfig {
            enabled: true,
            jwt_public_key_path: path.display().to_string(),
            jwt_allowed_algorithms: vec![alg_name(keys.alg).into()],
            ..AuthConfig::default()
        };
        assert!(start(&config).unwrap().is_enabled());
    }
}

#[test]
fn expired_api_key_is_not_a_startup_error() {
    let config = AuthConfig {
        enabled: true,
        api_keys_enabled: true,
        api_keys: vec![ApiKeyConfig {
            key: Some("expired-0123456789abcdef".into()),
            description: "old".into(),
            expires_at: Some("2001-01-01T00:00:00Z".into()),
            ..Default::default()
        }],
        ..AuthConfig::default()
    };
    assert!(start(&config).is_ok());
}

// ---------------------------------------------------------------- start-up errors (docs/configuration.md)

#[test]
fn enabled_without_any_verifier_is_an_error() {
    let config = AuthConfig {
        enabled: true,
        ..AuthConfig::default()
    };
    let err = start(&config).unwrap_err();
    assert!(matches!(err, ConfigError::NoVerifier), "{err}");
    assert_eq!(err.key(), Some("web.auth.enabled"));
}

#[test]
fn unreadable_key_file_is_an_error() {
    let mut config = working();
    config.jwt_public_key.clear();
    config.jwt_public_key_path = "/definitely/not/here.pem".into();
    assert_startup_error(start(&config), "web.auth.jwt_public_key_path", &[]);
}

#[test]
fn empty_key_file_is_an_error() {
    let mut config = working();
    config.jwt_public_key.clear();
    config.jwt_public_key_path = temp_file("empty.pem", "\n").display().to_string();
    assert_startup_error(start(&config), "web.auth.jwt_public_key_path", &[]);
}

#[test]
fn bad_pem_is_an_error_without_echoing_it() {
    let garbage =
        "-----BEGIN PUBLIC KEY-----\nTUlJQmdhcmJhZ2VnYXJiYWdl\n-----END PUBLIC KEY-----\n";
    let mut config = working();
    config.jwt_public_key.clear();
    config.jwt_public_key_path = temp_file("bad.pem", garbage).display().to_string();
    assert_startup_error(
        start(&config),
        "web.auth.jwt_public_key_path",
        &["TUlJQmdhcmJhZ2VnYXJiYWdl"],
    );

    let mut config = working();
    config.jwt_public_key = "not a pem at all".into();
    assert_startup_error(start(&config), "web.auth.jwt_public_key", &["not a pem"]);
}

#[test]
fn private_key_in_place_of_public_key_is_an_error() {
    let mut config = working();
    config.jwt_public_key = rsa().private_pem.clone();
    assert_startup_error(
        start(&config),
        "web.auth.jwt_public_key",
        &[pem_line(&rsa().private_pem)],
    );
}

#[test]
fn path_and_inline_key_together_are_an_error() {
    let mut config = working();
    config.jwt_public_key_path = temp_file("pub.pem", &rsa().public_pem)
        .display()
        .to_string();
    assert_startup_error(start(&config), "web.auth.jwt_public_key", &[]);
}

#[test]
fn empty_algorithm_list_is_an_error() {
    let mut config = working();
    config.jwt_allowed_algorithms.clear();
    assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);
}

#[test]
fn empty_or_garbage_allowed_types_are_an_error() {
    for bad in [
        &[][..],
        &["JWT", "at jwt"],
        &["text/plain"],
        &["application/"],
        &[" JWT"],
        &["JWT", "secret\u{7}"],
    ] {
        let mut config = working();
        config.jwt_allowed_types = bad.iter().map(|s| (*s).to_owned()).collect();
        assert_startup_error(
            start(&config),
            "web.auth.jwt_allowed_types",
            &["at jwt", "text/plain", " JWT", "secret"],
        );
    }
    // An RFC 9068-only list, with the prefix written out, is fine.
    let mut config = working();
    config.jwt_allowed_types = vec!["application/at+jwt".into()];
    assert!(start(&config).is_ok());
}

#[test]
fn unknown_algorithm_error_does_not_quote_it() {
    let mut config = working();
    config.jwt_allowed_algorithms = vec!["RS256".into(), "SUPERSECRET-alg".into()];
    let err = start(&config).unwrap_err().to_string();
    assert!(err.contains("entry 2"), "{err}");
    assert!(!err.contains("SUPERSECRET"), "{err}");
}

#[test]
fn none_algorithm_is_an_error() {
    for none in ["none", "NONE"] {
        let mut config = working();
        config.jwt_allowed_algorithms = vec!["RS256".into(), none.into()];
        assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);
    }
}

#[test]
fn hmac_algorithm_next_to_a_public_key_is_an_error() {
    for hs in ["HS256", "HS384", "HS512"] {
        let mut config = working();
        config.jwt_allowed_algorithms = vec!["RS256".into(), hs.into()];
        assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);
    }
}

#[test]
fn unknown_algorithm_is_an_error() {
    let mut config = working();
    config.jwt_allowed_algorithms = vec!["rs256".into()];
    assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);
}

#[test]
fn algorithm_that_does_not_fit_the_key_is_an_error() {
    let mut config = working();
    config.jwt_allowed_algorithms = vec!["RS256".into(), "ES256".into()];
    assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);

    let mut config = config_for(ec256());
    config.jwt_allowed_algorithms = vec!["ES384".into()];
    assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);

    let mut config = config_for(ed25519());
    config.jwt_allowed_algorithms = vec!["RS256".into()];
    assert_startup_error(start(&config), "web.auth.jwt_allowed_algorithms", &[]);
}

#[test]
fn api_key_with_unknown_permission_is_an_error() {
    let mut config = working();
    config.api_keys[1].permissions = vec!["tasks:read".into(), "tasks:fly".into()];
    assert_startup_error(start(&config), "web.auth.api_keys[1].permissions", &[]);
}

#[test]
fn api_key_with_bare_star_is_an_error() {
    let mut config = working();
    config.api_keys[0].permissions = vec!["*".into()];
    assert_startup_error(
        start(&config),
        "web.auth.api_keys[0].permissions",
        &[READER_KEY],
    );
}

#[test]
fn duplicate_api_key_is_an_error() {
    let mut config = working();
    config.api_keys.push(ApiKeyConfig {
        key: Some(READER_KEY.into()),
        description: "copy".into(),
        ..Default::default()
    });
    assert_startup_error(start(&config), "web.auth.api_keys[3]", &[READER_KEY]);
}

#[test]
fn duplicate_api_key_in_hashed_form_is_an_error() {
    let mut config = working();
    config.api_keys.push(ApiKeyConfig {
        key_sha256: Some(tasker_auth::hash_api_key(READER_KEY)),
        description: "copy".into(),
        ..Default::default()
    });
    assert_startup_error(start(&config), "web.auth.api_keys[3]", &[READER_KEY]);
}

#[test]
fn short_api_key_is_an_error() {
    let mut config = working();
    config.api_keys[0].key = Some("fifteen-chars-x".into());
    assert_startup_error(
        start(&config),
        "web.auth.api_keys[0].key",
        &["fifteen-chars-x"],
    );
    // Sixteen characters are enough.
    config.api_keys[0].key = Some("sixteen-chars-xx".into());
    assert!(start(&config).is_ok());
}

#[test]
fn empty_api_key_is_an_error() {
    let mut config = working();
    config.api_keys[0].key = Some(String::new());
    assert_startup_error(start(&config), "web.auth.api_keys[0].key", &[]);
    config.api_keys[0].key = Some("                    ".into());
    assert_startup_error(start(&config), "web.auth.api_keys[0].key", &[]);
}

#[test]
fn api_key_with_both_or_neither_form_is_an_error() {
    let mut config = working();
    config.api_keys[0].key_sha256 = Some(tasker_auth::hash_api_key("another-key-0123456789"));
    assert_startup_error(start(&config), "web.auth.api_keys[0]", &[READER_KEY]);
    config.api_keys[0].key = None;
    config.api_keys[0].key_sha256 = None;
    assert_startup_error(start(&config), "web.auth.api_keys[0]", &[]);
}

#[test]
fn malformed_key_sha256_is_an_error() {
    for bad in ["abc", &"g".repeat(64), &"a".repeat(65)] {
        let mut config = working();
        config.api_keys[1].key_sha256 = Some(bad.to_owned());
        assert_startup_error(start(&config), "web.auth.api_keys[1].key_sha256", &[]);
    }
}

#[test]
fn bad_expires_at_is_an_error() {
    let mut config = working();
    config.api_keys[0].expires_at = Some("next tuesday".into());
    assert_startup_error(
        start(&config),
        "web.auth.api_keys[0].expires_at",
        &[READER_KEY],
    );
}

#[test]
fn api_key_without_description_is_an_error() {
    let mut config = working();
    config.api_keys[0].description = "  ".into();
    assert_startup_error(
        start(&config),
        "web.auth.api_keys[0].description",
        &[READER_KEY],
    );
}

#[test]
fn api_keys_enabled_without_keys_is_an_error() {
    let mut config = working();
    config.api_keys.clear();
    assert_startup_error(start(&config), "web.auth.api_keys", &[]);
}

#[test]
fn invalid_api_key_header_is_an_error() {
    for header in ["X API Key", "", "Authorization"] {
        let mut config = working();
        config.api_key_header = header.into();
        assert_startup_error(start(&config), "web.auth.api_key_header", &[]);
    }
}

#[test]
fn empty_permissions_claim_is_an_error() {
    let mut config = working();
    config.permissions_claim = " ".into();
    assert_startup_error(start(&config), "web.auth.permissions_claim", &[]);
}

#[test]
fn jwks_without_url_is_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut config = working();
    config.jwt_public_key.clear();
    config.jwt_verification_method = JwtVerificationMethod::Jwks;
    assert_startup_error(start(&config), "web.auth.jwks_url", &[]);
}

#[test]
fn jwks_with_zero_intervals_is_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut config = working();
    config.jwt_verification_method = JwtVerificationMethod::Jwks;
    config.jwks_url = "https://idp.example/jwks.json".into();
    config.jwks_min_refresh_interval_seconds = 0;
    assert_startup_error(
        start(&config),
        "web.auth.jwks_min_refresh_interval_seconds",
        &[],
    );
}

#[test]
fn jwks_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let mut config = working();
    config.jwt_verification_method = JwtVerificationMethod::Jwks;
    config.jwks_url = "https://idp.example/jwks.json".into();
    assert_startup_error(start(&config), "web.auth.jwt_verification_method", &[]);
}

#[test]
fn each_problem_is_an_error_even_when_another_verifier_works() {
    // A broken key file next to working API keys.
    let mut config = working();
    config.jwt_public_key = "garbage".into();
    assert!(start(&config).is_err());
    // A broken API key next to a working public key.
    let mut config = working();
    config.api_keys[2].permissions = vec!["dlq:fly".into()];
    assert!(start(&config).is_err());
    // An HMAC algorithm next to working API keys and no key at all.
    let mut config = working();
    config.jwt_public_key.clear();
    config.jwt_allowed_algorithms = vec!["HS256".into()];
    assert!(start(&config).is_err());
}
