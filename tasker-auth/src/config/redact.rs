//! Keeping secrets out of `Debug`, `GET /config` and error messages: one list of secret values,
//! [`SECRETS`], one list of URLs that may carry credentials, [`URLS`], and one way to show such a
//! URL, [`redact_url`].

use std::fmt;

use serde::Serialize;

use super::{REDACTED, TaskerConfig, push_key};

/// Every secret of the configuration, by key path (`[]` stands for any array index): the one
/// list that `Debug`, [`TaskerConfig::redacted`] and parse errors all follow.
pub(super) const SECRETS: [&str; 3] = [
    "web.auth.jwt_public_key",
    "web.auth.api_keys[].key",
    "web.auth.api_keys[].key_sha256",
];

/// Every URL of the configuration that may carry credentials (a user and password, or a token in
/// its query): shown only through [`redact_url`].
pub(super) const URLS: [&str; 1] = ["web.auth.jwks_url"];

/// The URL as it may be shown in `GET /config`, `Debug`, a log line or an error: the user and
/// password, every query value and the fragment are replaced by `[REDACTED]`; the scheme, host,
/// port, path and query parameter names are kept.
///
/// A query part without `=` is redacted whole (it may be a bare token); text that is not an
/// absolute URL is redacted whole, since its secret parts cannot be told apart.
///
/// ```
/// use tasker_auth::redact_url;
///
/// assert_eq!(
///     redact_url("https://user:pass@idp.example/jwks.json?access_token=abc&v=2"),
///     "https://[REDACTED]:[REDACTED]@idp.example/jwks.json?access_token=[REDACTED]&v=[REDACTED]"
/// );
/// assert_eq!(redact_url("https://idp.example:8443/jwks"), "https://idp.example:8443/jwks");
/// assert_eq!(redact_url("not a url"), "[REDACTED]");
/// ```
pub fn redact_url(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() {
        return String::new();
    }
    let (rest, fragment) = match raw.split_once('#') {
        Some((rest, _)) => (rest, true),
        None => (raw, false),
    };
    let Ok(uri) = rest.parse::<http::Uri>() else {
        return REDACTED.to_owned();
    };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return REDACTED.to_owned();
    };
    let mut shown = format!("{scheme}://");
    if let Some((userinfo, _)) = authority.as_str().rsplit_once('@') {
        shown.push_str(if userinfo.contains(':') {
            "[REDACTED]:[REDACTED]@"
        } else {
            "[REDACTED]@"
        });
    }
    shown.push_str(authority.host());
    if let Some(port) = authority.port() {
        shown.push(':');
        shown.push_str(port.as_str());
    }
    shown.push_str(uri.path());
    if let Some(query) = uri.query() {
        shown.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((name, "")) => format!("{name}="),
                Some((name, _)) => format!("{name}={REDACTED}"),
                None if part.is_empty() => String::new(),
                None => REDACTED.to_owned(),
            })
            .collect();
        shown.push_str(&parts.join("&"));
    }
    if fragment {
        shown.push('#');
        shown.push_str(REDACTED);
    }
    shown
}

/// Whether a parse error about the value at `path` must not quote the value: a secret, or a URL
/// that may carry credentials.
pub(super) fn hides_value(path: &str) -> bool {
    is_secret_key(path) || URLS.contains(&path)
}

/// Whether the value at `path` (as serde_path_to_error writes it: `web.auth.api_keys[0].key`)
/// is a secret.
pub(super) fn is_secret_key(path: &str) -> bool {
    let mut normalized = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                normalized.push('[');
            }
            ']' => {
                in_index = false;
                normalized.push(']');
            }
            _ if in_index => {}
            _ => normalized.push(c),
        }
    }
    SECRETS.contains(&normalized.as_str())
}

/// Replaces, in place, every non-empty secret under `value` (found at `path`) by [`REDACTED`].
pub(super) fn redact(value: &mut serde_json::Value, path: &mut String) {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                let len = path.len();
                push_key(path, name);
                redact(field, path);
                path.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            path.push_str("[]");
            for item in items {
                redact(item, path);
            }
            path.truncate(path.len() - 2);
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(text) if text.is_empty() => {}
        _ if is_secret_key(path) => *value = REDACTED.into(),
        serde_json::Value::String(text) if URLS.contains(&path.as_str()) => {
            *text = redact_url(text);
        }
        _ => {}
    }
}

/// `Debug` for a configuration struct found at `path`: its fields as serialised, secrets
/// redacted, so a field added later is printed (and redacted) without another list to update.
pub(super) fn debug_redacted(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    config: &impl Serialize,
    path: &str,
) -> fmt::Result {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    redact(&mut value, &mut path.to_owned());
    let mut d = f.debug_struct(name);
    if let serde_json::Value::Object(fields) = &value {
        for (field, v) in fields {
            d.field(field, &format_args!("{v}"));
        }
    }
    d.finish()
}

impl TaskerConfig {
    /// The configuration as JSON for `GET /config`, with every secret (`key`, `key_sha256`,
    /// an inline `jwt_public_key`) replaced by `"[REDACTED]"`, and `jwks_url` shown by
    /// [`redact_url`] (its user, password and query values redacted).
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        redact(&mut value, &mut String::new());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;

    const URL: &str = "https://user:pass@idp.example/jwks.json?access_token=abc";

    #[test]
    fn redact_url_hides_userinfo_query_values_and_fragment() {
        assert_eq!(
            redact_url(URL),
            "https://[REDACTED]:[REDACTED]@idp.example/jwks.json?access_token=[REDACTED]"
        );
        assert_eq!(
            redact_url("https://tokenonly@idp.example:8443/k?a=1&b=&bare&c=x=y#frag"),
            "https://[REDACTED]@idp.example:8443/k?a=[REDACTED]&b=&[REDACTED]&c=[REDACTED]#[REDACTED]"
        );
        assert_eq!(
            redact_url("http://[::1]:9000/jwks"),
            "http://[::1]:9000/jwks"
        );
        assert_eq!(
            redact_url(" https://idp.example/jwks.json "),
            "https://idp.example/jwks.json"
        );
        assert_eq!(redact_url(""), "");
        for opaque in [
            "idp.example/jwks?token=abc",
            "not a url pass",
            "/jwks?t=abc",
        ] {
            assert_eq!(redact_url(opaque), REDACTED, "{opaque}");
        }
    }

    #[test]
    fn config_endpoint_and_debug_show_the_jwks_url_redacted() {
        let mut config = TaskerConfig::default();
        config.web.auth.jwks_url = URL.to_owned();
        let shown = config.redacted();
        assert_eq!(
            shown["web"]["auth"]["jwks_url"],
            "https://[REDACTED]:[REDACTED]@idp.example/jwks.json?access_token=[REDACTED]"
        );
        let debug = format!("{config:?} {:?}", config.web.auth);
        for text in [debug, shown.to_string()] {
            for secret in ["user", "pass", "abc"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(
                text.contains("idp.example/jwks.json?access_token="),
                "{text}"
            );
        }
        assert_eq!(AuthConfig::new().jwks_url, "");
    }

    #[test]
    fn a_jwks_url_of_the_wrong_type_is_not_quoted() {
        let err = TaskerConfig::from_toml_str("[web.auth]\njwks_url = 123456789\n", &|_| None)
            .unwrap_err();
        assert_eq!(err.key(), Some("web.auth.jwks_url"));
        assert!(!err.to_string().contains("123456789"), "{err}");
    }
}
