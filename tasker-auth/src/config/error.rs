//! [`ConfigError`]: why a configuration cannot be used.

use std::path::PathBuf;

/// A configuration that cannot be used: the server must not start. Every message names the
/// key at fault (see [`ConfigError::key`]) and never holds a secret or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file cannot be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, holds an unknown key, or a value of the wrong type.
    ///
    /// The message is rebuilt from the parser's rather than kept as a source: toml's error quotes
    /// the source line, and serde's quotes the value, either of which may be a secret.
    #[error("{}{problem}{}", key_prefix(key), position(*line, *column))]
    Parse {
        /// The key at fault, e.g. `web.auth.api_keys[0].key`; for a syntax error, the last key
        /// written before it (empty when there is none).
        key: String,
        /// The 1-based line of the file where the problem is, when known.
        line: Option<usize>,
        /// The 1-based column (in characters) on that line, when known.
        column: Option<usize>,
        /// What is wrong, naming no value.
        problem: String,
    },
    /// A `${VAR}` substitution failed.
    #[error("{key}: {problem}")]
    Substitution {
        /// The key whose value holds the substitution.
        key: String,
        /// What is wrong (names the variable, never its value).
        problem: String,
    },
    /// An environment override holds an unusable value.
    #[error("{var} (overrides {key}): {problem}")]
    Env {
        /// The variable.
        var: &'static str,
        /// The key it overrides.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A key file cannot be read.
    #[error("{key}: cannot read {}: {source}", path.display())]
    KeyFile {
        /// The key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A value is unusable.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key at fault, e.g. `web.auth.api_keys[2].permissions`.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// Authentication is enabled but nothing could verify a credential.
    #[error(
        "web.auth.enabled is true but no verifier is configured: set web.auth.jwt_public_key_path \
         (or jwt_public_key), or jwt_verification_method = \"jwks\" with jwks_url, or \
         api_keys_enabled with [[web.auth.api_keys]]"
    )]
    NoVerifier,
    /// No jsonwebtoken crypto provider could be installed.
    #[error(
        "jsonwebtoken has no usable crypto provider: build it with exactly one of the `aws_lc_rs` \
         and `rust_crypto` features (tasker-auth uses `aws_lc_rs`)"
    )]
    CryptoProvider,
    /// The JWKS key store refused its settings.
    #[cfg(feature = "jwks")]
    #[error("web.auth.jwks_url: {source}")]
    Jwks {
        /// Why.
        #[source]
        source: crate::jwks::JwksError,
    },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
        (Some(line), None) => format!(" (line {line})"),
        _ => String::new(),
    }
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

impl ConfigError {
    /// The configuration key at fault (`web.auth.jwt_public_key_path`, ...), when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Read { .. } | ConfigError::CryptoProvider => None,
            ConfigError::Parse { key, .. } => (!key.is_empty()).then_some(key.as_str()),
            ConfigError::Substitution { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Env { key, .. } | ConfigError::KeyFile { key, .. } => Some(key),
            ConfigError::NoVerifier => Some("web.auth.enabled"),
            #[cfg(feature = "jwks")]
            ConfigError::Jwks { .. } => Some("web.auth.jwks_url"),
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
