//! Loading a configuration: the file, `${VAR}` substitution, then the environment overrides.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::deserializer::{Error as ValueError, ValueDeserializer};
use super::redact::hides_value;
use super::substitute::substitute_value;
use super::{ConfigError, TaskerConfig, parse_bool, push_key};

impl TaskerConfig {
    /// Loads the configuration: from `path`, else from the file named by `TASKER_CONFIG_PATH`,
    /// else the defaults; then applies `${VAR}` substitution and the environment overrides
    /// (`TASKER_*`) from the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => env("TASKER_CONFIG_PATH")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        };
        let text = match &path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_toml_str(&text, &env)
    }

    /// Parses a configuration from TOML text, reading variables (for `${VAR}` and the overrides)
    /// through `env` rather than the process environment, so that tests stay independent.
    ///
    /// A syntax error, an unknown key or a value of the wrong type is a [`ConfigError::Parse`]
    /// naming the key and its line and column, and quoting neither the line nor any value.
    pub fn from_toml_str(
        toml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table = parse_document(toml)?;
        let mut path = String::new();
        for (key, value) in table.iter_mut() {
            let len = path.len();
            push_key(&mut path, key);
            substitute_value(value, &mut path, env)?;
            path.truncate(len);
        }
        let mut config: TaskerConfig =
            serde_path_to_error::deserialize(ValueDeserializer(toml::Value::Table(table)))
                .map_err(|err| shape_error(toml, err))?;
        config.apply_env_overrides(env)?;
        Ok(config)
    }

    fn apply_env_overrides(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        // An empty variable counts as unset, as in most shells' `${VAR:-...}`.
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        let auth = &mut self.web.auth;
        if let Some(v) = get("TASKER_WEB_BIND_ADDRESS") {
            self.web.bind_address = v;
        }
        if let Some(v) = get("TASKER_AUTH_ENABLED") {
            auth.enabled = parse_bool(&v).ok_or_else(|| ConfigError::Env {
                var: "TASKER_AUTH_ENABLED",
                key: "web.auth.enabled",
                problem: "expected true or false".to_owned(),
            })?;
        }
        // The key is one setting in two forms: an override of either form replaces both.
        if let Some(v) = get("TASKER_JWT_PUBLIC_KEY") {
            auth.jwt_public_key = v;
            auth.jwt_public_key_path.clear();
        }
        if let Some(v) = get("TASKER_JWT_PUBLIC_KEY_PATH") {
            if get("TASKER_JWT_PUBLIC_KEY").is_some() {
                return Err(ConfigError::Env {
                    var: "TASKER_JWT_PUBLIC_KEY_PATH",
                    key: "web.auth.jwt_public_key_path",
                    problem: "TASKER_JWT_PUBLIC_KEY is set too: set only one of them".to_owned(),
                });
            }
            auth.jwt_public_key_path = v;
            auth.jwt_public_key.clear();
        }
        if let Some(v) = get("TASKER_JWKS_URL") {
            auth.jwks_url = v;
        }
        if let Some(v) = get("TASKER_JWT_ISSUER") {
            auth.jwt_issuer = v;
        }
        if let Some(v) = get("TASKER_JWT_AUDIENCE") {
            auth.jwt_audience = v;
        }
        if let Some(v) = get("TASKER_GRPC_BIND_ADDRESS") {
            self.grpc.bind_address = v;
        }
        Ok(())
    }
}

/// Parses the TOML text into a table. toml's own error message is not used as is: its `Display`
/// quotes the source line, and a number out of range is described with its digits.
fn parse_document(text: &str) -> Result<toml::Table, ConfigError> {
    let document = DeTable::parse(text).map_err(|err| {
        // The parser's own messages are fixed descriptions ("unclosed array, expected `]`").
        located(
            text,
            err.span(),
            format!("TOML syntax error: {}", err.message()),
        )
    })?;
    toml::Table::deserialize(toml::de::Deserializer::from(document)).map_err(|err| {
        // What the parser accepts but a table cannot hold: an integer beyond 64 bits.
        located(text, err.span(), "number out of range".to_owned())
    })
}

/// A [`ConfigError::Parse`] at `span`, naming the key whose entry holds it.
fn located(text: &str, span: Option<Range<usize>>, problem: String) -> ConfigError {
    let (key, line, column) = match span {
        Some(span) => {
            let (document, _) = DeTable::parse_recoverable(text);
            let mut key = String::new();
            key_before(document.get_ref(), span.start, &mut key);
            let (line, column) = line_and_column(text, span.start);
            (key, Some(line), Some(column))
        }
        None => (String::new(), None, None),
    };
    ConfigError::Parse {
        key,
        line,
        column,
        problem,
    }
}

/// An unknown key or a value of the wrong type, found while deserializing: its key path, where
/// the file has it, and serde's message, which [`ValueDeserializer`] built without the value.
fn shape_error(text: &str, err: serde_path_to_error::Error<ValueError>) -> ConfigError {
    let key = match err.path().to_string() {
        root if root == "." => String::new(),
        key => key,
    };
    let span = span_of(text, err.path());
    let inner = err.into_inner();
    let problem = if hides_value(&key) && !inner.is_value_free() {
        // A hand-written message might quote what it read: not for a secret.
        "invalid value (not shown)".to_owned()
    } else {
        inner.into_message()
    };
    let (line, column) = match span {
        Some(span) => {
            let (line, column) = line_and_column(text, span.start);
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    ConfigError::Parse {
        key,
        line,
        column,
        problem,
    }
}

/// Where the file writes the key (or array element) at `path`, as far as it can be followed.
fn span_of(text: &str, path: &serde_path_to_error::Path) -> Option<Range<usize>> {
    use serde_path_to_error::Segment;
    fn entry<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<(Range<usize>, &'a DeValue<'i>)> {
        table
            .get_key_value(key)
            .map(|(k, v)| (k.span(), v.get_ref()))
    }
    let (document, _) = DeTable::parse_recoverable(text);
    let mut current: Option<&DeValue<'_>> = None;
    let mut span = None;
    for segment in path.iter() {
        let found = match (segment, current) {
            (Segment::Map { key }, None) => entry(document.get_ref(), key),
            (Segment::Map { key }, Some(DeValue::Table(table))) => entry(table, key),
            (Segment::Seq { index }, Some(DeValue::Array(items))) => {
                items.get(*index).map(|item| (item.span(), item.get_ref()))
            }
            _ => None,
        };
        let Some((found_span, found)) = found else {
            break;
        };
        span = Some(found_span);
        current = Some(found);
    }
    span
}

/// Appends to `path` the deepest key of `table` written at or before `offset` (the entry a
/// syntax error at `offset` most likely belongs to).
fn key_before(table: &DeTable<'_>, offset: usize, path: &mut String) {
    let Some((key, value)) = table
        .iter()
        .filter(|(k, _)| k.span().start <= offset)
        .max_by_key(|(k, _)| k.span().start)
    else {
        return;
    };
    push_key(path, key.get_ref());
    let mut value = value.get_ref();
    while let DeValue::Array(items) = value {
        let Some((index, item)) = items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.span().start <= offset)
            .max_by_key(|(_, item)| item.span().start)
        else {
            return;
        };
        path.push_str(&format!("[{index}]"));
        value = item.get_ref();
    }
    if let DeValue::Table(inner) = value {
        key_before(inner, offset, path);
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
