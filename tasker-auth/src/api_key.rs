//! API keys: [`hash_api_key`] and the `ApiKeyRegistry` that checks presented keys.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use aws_lc_rs::constant_time;
use time::format_description::well_known::Rfc3339;

use crate::config::{ApiKeyConfig, ConfigError};
use crate::context::{AuthMethod, SecurityContext};
use crate::error::{AuthError, InvalidReason};
use crate::permission_set::PermissionSet;

/// The lowercase hex SHA-256 of an API key: the `key_sha256` form of `[[web.auth.api_keys]]`,
/// which keeps the plaintext out of configuration files.
///
/// # Example
///
/// ```
/// assert_eq!(
///     tasker_auth::hash_api_key("abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn hash_api_key(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The configured API keys, kept only as SHA-256 digests.
///
/// A presented key is hashed once and compared, in constant time, against every entry (the loop
/// never stops early), so neither the position of a match nor a near miss shows in the timing.
/// The plaintext of configured keys is dropped once the registry is built.
#[derive(Clone)]
pub(crate) struct ApiKeyRegistry {
    entries: Arc<[Entry]>,
}

struct Entry {
    digest: [u8; 32],
    permissions: PermissionSet,
    description: Arc<str>,
    expires_at: Option<SystemTime>,
}

/// The shortest key accepted in `key = "..."`.
pub(crate) const MIN_API_KEY_LEN: usize = 16;

impl ApiKeyRegistry {
    /// Builds the registry, refusing empty, short (< 16 characters) or duplicate keys, malformed
    /// `key_sha256` values, unknown permissions (or bare `*`), a missing description and a bad
    /// `expires_at`. Keys whose `expires_at` has passed are logged and kept (refused per request).
    pub(crate) fn from_config(keys: &[ApiKeyConfig]) -> Result<Self, ConfigError> {
        let now = SystemTime::now();
        let mut entries: Vec<Entry> = Vec::with_capacity(keys.len());
        for (i, cfg) in keys.iter().enumerate() {
            let at = |field: &str| {
                if field.is_empty() {
                    format!("web.auth.api_keys[{i}]")
                } else {
                    format!("web.auth.api_keys[{i}].{field}")
                }
            };
            let digest = match (&cfg.key, &cfg.key_sha256) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::invalid(
                        at(""),
                        "set only one of `key` and `key_sha256`",
                    ));
                }
                (None, None) => {
                    return Err(ConfigError::invalid(at(""), "set `key` or `key_sha256`"));
                }
                (Some(key), None) => {
                    if key.trim().is_empty() {
                        return Err(ConfigError::invalid(at("key"), "the key is empty"));
                    }
                    if key.chars().count() < MIN_API_KEY_LEN {
                        return Err(ConfigError::invalid(
                            at("key"),
                            format!("the key is shorter than {MIN_API_KEY_LEN} characters"),
                        ));
                    }
                    sha256(key.as_bytes())
                }
                (None, Some(hex)) => parse_sha256_hex(hex).ok_or_else(|| {
                    ConfigError::invalid(
                        at("key_sha256"),
                        "expected 64 hexadecimal characters (the SHA-256 of the key)",
                    )
                })?,
            };
            if let Some(j) = entries.iter().position(|e| e.digest == digest) {
                return Err(ConfigError::invalid(
                    at(""),
                    format!("the same key as web.auth.api_keys[{j}]"),
                ));
            }
            if cfg.description.trim().is_empty() {
                return Err(ConfigError::invalid(
                    at("description"),
                    "a description is required: it names the caller in logs and audit fields",
                ));
            }
            let grants = PermissionSet::parse_grants(cfg.permissions.iter().map(String::as_str));
            if !grants.unknown.is_empty() {
                return Err(ConfigError::invalid(
                    at("permissions"),
                    format!(
                        "unknown permission(s) {:?} (bare `*` grants nothing; see `tasker-ctl auth show-permissions`)",
                        grants.unknown
                    ),
                ));
            }
            let expires_at = match &cfg.expires_at {
                None => None,
                Some(s) => {
                    let t = time::OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
                        ConfigError::invalid(
                            at("expires_at"),
                            "expected an RFC 3339 time such as 2027-01-01T00:00:00Z",
                        )
                    })?;
                    let t = SystemTime::from(t);
                    if t <= now {
                        tracing::warn!(
                            description = cfg.description.as_str(),
                            expires_at = s.as_str(),
                            "API key has expired: it will be refused"
                        );
                    }
                    Some(t)
                }
            };
            if grants.permissions.is_empty() {
                tracing::warn!(
                    description = cfg.description.as_str(),
                    "API key grants no permission"
                );
            }
            entries.push(Entry {
                digest,
                permissions: grants.permissions,
                description: Arc::from(cfg.description.as_str()),
                expires_at,
            });
        }
        Ok(ApiKeyRegistry {
            entries: entries.into(),
        })
    }

    /// The context of the key `presented`, or [`AuthError::Invalid`] for an unknown or expired
    /// key.
    pub(crate) fn authenticate(&self, presented: &str) -> Result<SecurityContext, AuthError> {
        let digest = sha256(presented.as_bytes());
        let mut found: Option<&Entry> = None;
        for entry in self.entries.iter() {
            // Every entry is compared: no early exit on a match.
            if constant_time::verify_slices_are_equal(&entry.digest, &digest).is_ok() {
                found = Some(entry);
            }
        }
        let entry = found.ok_or(AuthError::invalid(InvalidReason::UnknownApiKey))?;
        if entry.expires_at.is_some_and(|t| t <= SystemTime::now()) {
            return Err(AuthError::invalid(InvalidReason::ExpiredApiKey));
        }
        Ok(SecurityContext::new(
            entry.description.clone(),
            AuthMethod::ApiKey {
                description: entry.description.clone(),
            },
            entry.permissions,
            entry.expires_at,
        ))
    }
}

impl fmt::Debug for ApiKeyRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRegistry")
            .field(
                "keys",
                &self
                    .entries
                    .iter()
                    .map(|e| &*e.description)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, perms: &[&str]) -> ApiKeyConfig {
        ApiKeyConfig {
            key: Some(k.to_owned()),
            permissions: perms.iter().map(|s| (*s).to_owned()).collect(),
            description: "d".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn sha256_form_matches_plain_key() {
        let hashed = ApiKeyConfig {
            key_sha256: Some(hash_api_key("0123456789abcdef0123").to_uppercase()),
            description: "hashed".to_owned(),
            ..Default::default()
        };
        let registry = ApiKeyRegistry::from_config(&[hashed]).unwrap();
        assert_eq!(
            registry
                .authenticate("0123456789abcdef0123")
                .unwrap()
                .subject(),
            "hashed"
        );
    }

    #[test]
    fn duplicate_across_forms_is_error() {
        let mut b = key("0123456789abcdef0123", &[]);
        b.key = None;
        b.key_sha256 = Some(hash_api_key("0123456789abcdef0123"));
        let err = ApiKeyRegistry::from_config(&[key("0123456789abcdef0123", &[]), b]).unwrap_err();
        assert_eq!(err.key(), Some("web.auth.api_keys[1]"));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let registry =
            ApiKeyRegistry::from_config(&[key("supersecretkey-0123456789", &[])]).unwrap();
        let debug = format!("{registry:?}");
        assert!(!debug.contains("supersecret"), "{debug}");
        let digest = hash_api_key("supersecretkey-0123456789");
        assert!(!debug.contains(&digest[..16]), "{debug}");
    }
}
