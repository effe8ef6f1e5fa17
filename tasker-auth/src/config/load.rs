//! Loading a configuration: the file, `${VAR}` substitution, then the environment overrides.

use std::path::{Path, PathBuf};

use super::redact::is_secret_key;
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
    pub fn from_toml_str(
        toml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(toml).map_err(|source| ConfigError::Parse {
            key: String::new(),
            source,
        })?;
        let mut path = String::new();
        for (key, value) in table.iter_mut() {
            let len = path.len();
            push_key(&mut path, key);
            substitute_value(value, &mut path, env)?;
            path.truncate(len);
        }
        let mut config: TaskerConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|err| {
                let key = err.path().to_string();
                if is_secret_key(&key) {
                    // The parser's message may quote the value: keep secrets out of it.
                    return ConfigError::invalid(key, "must be a string (value not shown)");
                }
                ConfigError::Parse {
                    key: if key == "." { String::new() } else { key },
                    source: err.into_inner(),
                }
            })?;
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
