//! `validate-token`: checks a token the way a Tasker server does, and explains the outcome. Text
//! from the token is printed only through [`escape`].

use std::io::Read as _;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tasker_auth::PermissionSet;

use crate::Failure;
use crate::cli::ValidateToken;
use crate::commands::{list, read_text, unix_rfc3339};
use crate::escape;

/// Where the verification keys come from.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// A public key PEM (`jwt_public_key`).
    PublicKeyPem(String),
    /// The text of a JWK set file.
    JwksFile(String),
    /// A JWKS endpoint.
    JwksUrl(String),
    /// A server's configuration file, loaded as the server loads it.
    Config(Box<tasker_auth::TaskerConfig>),
}

/// What an accepted token is worth.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) subject: String,
    pub(crate) permissions: PermissionSet,
    pub(crate) expires_at: Option<SystemTime>,
}

/// Why a token is refused: the wire reason (`invalid`, `expired`, ...) and a description for
/// the operator.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) reason: &'static str,
    pub(crate) detail: String,
}

pub(crate) fn validate_token(args: &ValidateToken) -> Result<(), Failure> {
    let token = if args.token == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| Failure::new(format!("cannot read the token from stdin: {e}")))?;
        text
    } else {
        args.token.clone()
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::new("the token is empty"));
    }

    let source = match (&args.public_key, &args.jwks) {
        _ if args.config.is_some() => {
            let path = args.config.as_deref().unwrap_or(std::path::Path::new(""));
            let config = tasker_auth::TaskerConfig::load(Some(path))
                .map_err(|e| Failure::new(format!("{}: {e}", path.display())))?;
            if !config.web.auth.enabled {
                return Err(Failure::new(format!(
                    "{}: authentication is disabled (web.auth.enabled = false): a server with \
                     this file lets every request through without checking any token",
                    path.display()
                )));
            }
            KeySource::Config(Box::new(config))
        }
        (Some(path), _) => KeySource::PublicKeyPem(read_text(path, "public key")?),
        (None, Some(jwks)) if jwks.starts_with("https://") || jwks.starts_with("http://") => {
            KeySource::JwksUrl(jwks.clone())
        }
        (None, Some(jwks)) => {
            let path = std::path::Path::new(jwks);
            let text = read_text(path, "JWKS")?;
            let set: Value = serde_json::from_str(&text)
                .map_err(|e| Failure::new(format!("{jwks} is not JSON: {e}")))?;
            if !set.get("keys").is_some_and(Value::is_array) {
                return Err(Failure::new(format!(
                    "{jwks} is not a JWK set: expected {{\"keys\": [...]}}"
                )));
            }
            KeySource::JwksFile(text)
        }
        (None, None) => {
            return Err(Failure::new(
                "give --public-key FILE, --jwks FILE_OR_URL or --config FILE",
            ));
        }
    };

    match crate::verify::verify(token, &source, &args.issuer, &args.audience)? {
        Ok(verified) => {
            // Everything printed from the token goes through `escape`: its text reaches a
            // terminal.
            outln!("valid: the token is accepted")?;
            if let Some(header) = part_json(token, 0) {
                outln!("header: {}", escape::json(&header.to_string()))?;
            }
            if let Some(claims) = part_json(token, 1) {
                let pretty = serde_json::to_string_pretty(&claims).unwrap_or_default();
                outln!("claims: {}", escape::json(&pretty))?;
            }
            outln!("subject: {}", escape::text(&verified.subject))?;
            outln!("granted permissions: {}", list(verified.permissions))?;
            if let Some(exp) = verified.expires_at {
                let secs = exp
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                outln!("expires: {}", unix_rfc3339(secs))?;
            }
            Ok(())
        }
        Err(refusal) => {
            let mut message = format!(
                "token refused ({}): {}",
                refusal.reason,
                escape::text(&refusal.detail)
            );
            if refusal.reason == "expired"
                && let Some(exp) = part_json(token, 1).and_then(|c| c.get("exp")?.as_i64())
            {
                message.push_str(&format!(" (exp {})", unix_rfc3339(exp)));
            }
            Err(Failure::new(message))
        }
    }
}

/// The JSON of the header (0) or claims (1) part, decoded without verification.
fn part_json(token: &str, index: usize) -> Option<Value> {
    let part = token.split('.').nth(index)?;
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}
