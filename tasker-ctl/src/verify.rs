//! TEMPORARY verifier, replaced by `tasker_auth::SecurityService` once it lands on main.

use std::time::{Duration, SystemTime};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tasker_auth::PermissionSet;

use crate::Failure;
use crate::validate::{KeySource, Refusal, Verified};

pub(crate) fn verify(
    token: &str,
    source: &KeySource,
    issuer: &str,
    audience: &str,
) -> Result<Result<Verified, Refusal>, Failure> {
    let refuse = |reason, detail: &str| {
        Ok(Err(Refusal {
            reason,
            detail: detail.to_owned(),
        }))
    };
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return refuse("malformed", "not a JWT");
    };
    let (key, algs): (DecodingKey, Vec<Algorithm>) = match source {
        KeySource::PublicKeyPem(pem) => {
            if let Ok(k) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                (k, vec![Algorithm::RS256])
            } else if let Ok(k) = DecodingKey::from_ec_pem(pem.as_bytes()) {
                (k, vec![Algorithm::ES256])
            } else if let Ok(k) = DecodingKey::from_ed_pem(pem.as_bytes()) {
                (k, vec![Algorithm::EdDSA])
            } else {
                return Err(Failure::new(
                    "the public key is not an RSA, EC or Ed25519 public key PEM",
                ));
            }
        }
        KeySource::JwksFile(text) => {
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(text)
                .map_err(|e| Failure::new(format!("bad JWK set: {e}")))?;
            let Some(jwk) = header.kid.as_deref().and_then(|k| set.find(k)) else {
                return refuse("invalid", "no key with this kid");
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| Failure::new(e.to_string()))?;
            (key, vec![header.alg])
        }
        KeySource::JwksUrl(_) => return Err(Failure::new("JWKS URLs are not supported yet")),
    };
    if !algs.contains(&header.alg) {
        return refuse("invalid", "algorithm not allowed");
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.leeway = 30;
    let data = match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(d) => d,
        Err(e) => {
            return match e.kind() {
                ErrorKind::ExpiredSignature => refuse("expired", "token expired"),
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => refuse("malformed", "malformed token"),
                _ => refuse("invalid", "invalid token"),
            };
        }
    };
    let grants: Vec<&str> = data.claims["permissions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let parsed = PermissionSet::parse_grants(grants);
    if !parsed.unknown.is_empty() {
        return refuse("invalid", "unknown permission");
    }
    Ok(Ok(Verified {
        subject: data.claims["sub"].as_str().unwrap_or_default().to_owned(),
        permissions: parsed.permissions,
        expires_at: data.claims["exp"]
            .as_u64()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
    }))
}
