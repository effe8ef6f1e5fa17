//! Keeping secrets out of `Debug`, `GET /config` and error messages: one list, [`SECRETS`].

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
    /// an inline `jwt_public_key`) replaced by `"[REDACTED]"`.
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        redact(&mut value, &mut String::new());
        value
    }
}
