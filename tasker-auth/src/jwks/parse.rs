//! Reading a JWK set: which entries are usable keys, and for which algorithm.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self as lc, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::JwksKey;

/// Why a JWK set document was refused as a whole.
#[derive(Debug)]
pub(super) enum SetError {
    NotJson(serde_json::Error),
    /// An HTML page (a login page, an error page, the IdP's home page).
    Html,
    /// An OpenID Connect discovery document; its `jwks_uri` (shown redacted), when it has one.
    DiscoveryDocument {
        jwks_uri: Option<String>,
    },
    NotASet,
    NoUsableKey {
        entries: usize,
    },
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // serde_json's message names a line and column, never the content.
            SetError::NotJson(e) => write!(f, "not JSON ({e})"),
            SetError::Html => f.write_str(
                "found an HTML page, not a JWK set (is the URL the identity provider's JWKS \
                 endpoint?)",
            ),
            SetError::DiscoveryDocument {
                jwks_uri: Some(uri),
            } => write!(
                f,
                "found an OpenID Connect discovery document, not a JWK set: its jwks_uri is \
                 {uri}; set jwks_url to that, or use jwt_verification_method = \"oidc\""
            ),
            SetError::DiscoveryDocument { jwks_uri: None } => f.write_str(
                "found an OpenID Connect discovery document without a jwks_uri, not a JWK set",
            ),
            SetError::NotASet => f.write_str("not a JWK set (expected {\"keys\": [...]})"),
            SetError::NoUsableKey { entries } => {
                write!(f, "no usable key among {entries} entries")
            }
        }
    }
}

/// Reads a JWK set, keeping the usable keys (see the module docs for the rules).
pub(super) fn parse_set(
    body: &[u8],
    allowed: &[Algorithm],
) -> Result<HashMap<String, Arc<JwksKey>>, SetError> {
    if looks_like_html(body) {
        return Err(SetError::Html);
    }
    let document: serde_json::Value = serde_json::from_slice(body).map_err(SetError::NotJson)?;
    let Some(entries) = document.get("keys").and_then(serde_json::Value::as_array) else {
        if is_discovery_document(&document) {
            let jwks_uri = document.get("jwks_uri").and_then(serde_json::Value::as_str);
            return Err(SetError::DiscoveryDocument {
                jwks_uri: jwks_uri.map(crate::config::redact_url),
            });
        }
        return Err(SetError::NotASet);
    };
    let mut keys = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match parse_key(entry, allowed) {
            Ok(key) => {
                if keys.contains_key(&key.kid) {
                    tracing::warn!(kid = %key.kid, "JWK set: duplicate kid, keeping the first key");
                    continue;
                }
                keys.insert(key.kid.clone(), Arc::new(key));
            }
            Err(reason) => {
                let kid = entry.get("kid").and_then(serde_json::Value::as_str);
                tracing::debug!(index, kid, reason, "JWK set: key skipped");
            }
        }
    }
    if keys.is_empty() {
        return Err(SetError::NoUsableKey {
            entries: entries.len(),
        });
    }
    Ok(keys)
}

/// Whether a response body is an HTML page rather than JSON: its first non-blank character opens
/// a tag.
pub(super) fn looks_like_html(body: &[u8]) -> bool {
    body.iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'<')
}

/// Whether a JSON document is an OpenID Connect (or OAuth 2.0 authorization server) metadata
/// document: an object naming an `issuer` or a `jwks_uri`.
fn is_discovery_document(document: &serde_json::Value) -> bool {
    document.get("jwks_uri").is_some() || document.get("issuer").is_some()
}

/// Validates a JWK's public key parameters beyond what `DecodingKey::from_jwk` checks.
pub(super) type KeyCheck = fn(&serde_json::Value) -> Result<(), &'static str>;

/// One JWK to a key, or why it is unusable (a static reason, safe to log).
pub(super) fn parse_key(
    entry: &serde_json::Value,
    allowed: &[Algorithm],
) -> Result<JwksKey, &'static str> {
    let field = |name: &str| entry.get(name);
    let text = |name: &str| field(name).and_then(serde_json::Value::as_str);

    let kid = match text("kid") {
        Some(kid) if !kid.is_empty() => kid,
        _ => return Err("no kid"),
    };
    match field("use") {
        None => {}
        Some(value) if value.as_str() == Some("sig") => {}
        Some(_) => return Err("not a signature key (use)"),
    }
    if let Some(ops) = field("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("not a verification key (key_ops)");
        }
    }
    let (candidates, checked): (&[Algorithm], KeyCheck) = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => (jsonwebtoken::AlgorithmFamily::Rsa.algorithms(), check_rsa),
        (Some("EC"), Some("P-256")) => (&[Algorithm::ES256], check_ec_p256),
        (Some("EC"), Some("P-384")) => (&[Algorithm::ES384], check_ec_p384),
        (Some("EC"), _) => return Err("unsupported EC curve"),
        (Some("OKP"), Some("Ed25519")) => (&[Algorithm::EdDSA], check_ed25519),
        (Some("OKP"), _) => return Err("unsupported OKP curve"),
        (Some("oct"), _) => return Err("symmetric keys are never taken from a JWK set"),
        _ => return Err("unsupported or missing kty"),
    };
    let alg = match field("alg") {
        None | Some(serde_json::Value::Null) => {
            if !candidates.iter().any(|alg| allowed.contains(alg)) {
                return Err("key type fits no allowed algorithm");
            }
            // EC and OKP keys fit exactly one algorithm; pin it.
            (candidates.len() == 1).then(|| candidates[0])
        }
        Some(value) => {
            let alg = match value.as_str() {
                // RFC 9864 names the fully specified Ed25519 algorithm `Ed25519`.
                Some("EdDSA" | "Ed25519") => Algorithm::EdDSA,
                Some(name) => name.parse().map_err(|_| "unsupported alg")?,
                None => return Err("alg is not a string"),
            };
            if !candidates.contains(&alg) {
                return Err("alg does not match the key type");
            }
            if !allowed.contains(&alg) {
                return Err("alg not allowed");
            }
            Some(alg)
        }
    };
    checked(entry)?;
    // `from_jwk` does not understand `alg: Ed25519`; it needs only the key parameters anyway.
    let mut bare = entry.clone();
    if let Some(object) = bare.as_object_mut() {
        object.remove("alg");
    }
    let jwk: Jwk = serde_json::from_value(bare).map_err(|_| "malformed JWK")?;
    let decoding_key = DecodingKey::from_jwk(&jwk).map_err(|_| "unusable key parameters")?;
    Ok(JwksKey {
        kid: kid.to_owned(),
        alg,
        decoding_key,
    })
}

pub(super) fn b64_field(entry: &serde_json::Value, name: &str) -> Result<Vec<u8>, &'static str> {
    let value = entry
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or("missing key parameter")?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| "key parameter is not base64url")
}

pub(super) fn check_rsa(entry: &serde_json::Value) -> Result<(), &'static str> {
    let n = b64_field(entry, "n")?;
    let e = b64_field(entry, "e")?;
    let significant = n.iter().position(|b| *b != 0).map_or(&[][..], |i| &n[i..]);
    let bits = significant.first().map_or(0, |first| {
        (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    });
    if !(2048..=8192).contains(&bits) {
        return Err("RSA modulus outside 2048..=8192 bits");
    }
    RsaPublicKeyComponents {
        n: significant,
        e: &e[..],
    }
    .to_parsed_public_key(&lc::RSA_PKCS1_2048_8192_SHA256)
    .map(drop)
    .map_err(|_| "invalid RSA public key")
}

pub(super) fn check_ec(
    entry: &serde_json::Value,
    size: usize,
    alg: &'static lc::EcdsaVerificationAlgorithm,
) -> Result<(), &'static str> {
    let x = b64_field(entry, "x")?;
    let y = b64_field(entry, "y")?;
    if x.len() != size || y.len() != size {
        return Err("EC coordinates of the wrong length");
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    ParsedPublicKey::new(alg, &point)
        .map(drop)
        .map_err(|_| "EC point not on the curve")
}

pub(super) fn check_ec_p256(entry: &serde_json::Value) -> Result<(), &'static str> {
    check_ec(entry, 32, &lc::ECDSA_P256_SHA256_FIXED)
}

pub(super) fn check_ec_p384(entry: &serde_json::Value) -> Result<(), &'static str> {
    check_ec(entry, 48, &lc::ECDSA_P384_SHA384_FIXED)
}

pub(super) fn check_ed25519(entry: &serde_json::Value) -> Result<(), &'static str> {
    let x = b64_field(entry, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 key of the wrong length");
    }
    ParsedPublicKey::new(&lc::ED25519, &x)
        .map(drop)
        .map_err(|_| "invalid Ed25519 key")
}
