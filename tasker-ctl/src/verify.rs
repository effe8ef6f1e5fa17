//! Token verification with the servers' own [`SecurityService`], so that `validate-token` accepts
//! exactly what a Tasker server configured with the same key, issuer and audience accepts.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use tasker_auth::{
    AuthConfig, AuthError, FailureReason, InvalidReason, JwksKeyStore, JwtVerificationMethod,
    SecurityService, redact_url,
};

use crate::Failure;
use crate::validate::{KeySource, Refusal, Verified};

/// Every asymmetric algorithm, grouped by what one key can verify (jsonwebtoken's families, with
/// each EC algorithm on its own since a key has one curve); a static key gets the first group it
/// fits.
fn key_groups() -> Vec<Vec<Algorithm>> {
    let mut groups = vec![AlgorithmFamily::Rsa.algorithms().to_vec()];
    for family in [AlgorithmFamily::Ec, AlgorithmFamily::Ed] {
        groups.extend(family.algorithms().iter().map(|alg| vec![*alg]));
    }
    groups
}

fn names(algorithms: &[Algorithm]) -> Vec<String> {
    algorithms.iter().map(|alg| format!("{alg:?}")).collect()
}

pub(crate) fn verify(
    token: &str,
    source: &KeySource,
    issuer: &str,
    audience: &str,
) -> Result<Result<Verified, Refusal>, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(verify_async(token, source, issuer, audience))
}

async fn verify_async(
    token: &str,
    source: &KeySource,
    issuer: &str,
    audience: &str,
) -> Result<Result<Verified, Refusal>, Failure> {
    let mut cfg = AuthConfig::new();
    cfg.enabled = true;
    cfg.jwt_issuer = issuer.to_owned();
    cfg.jwt_audience = audience.to_owned();
    cfg.strict_validation = true;

    let service = match source {
        KeySource::Config(config) => {
            // The server's own start-up path, with every key of the file as it is.
            cfg = config.web.auth.clone();
            SecurityService::from_config(&cfg)
                .map_err(|e| Failure::new(format!("the configuration is unusable: {e}")))?
        }
        KeySource::PublicKeyPem(pem) => {
            cfg.jwt_verification_method = JwtVerificationMethod::PublicKey;
            cfg.jwt_public_key = pem.clone();
            static_key_service(&mut cfg)?
        }
        KeySource::JwksFile(text) => jwks_file_service(&mut cfg, text)?,
        KeySource::JwksUrl(url) => {
            let allow_http = url.starts_with("http://");
            jwks_service(&mut cfg, url.clone(), allow_http)?
        }
    };

    let mut headers = HeaderMap::new();
    let Ok(value) = HeaderValue::try_from(format!("Bearer {token}")) else {
        return Ok(Err(Refusal {
            reason: FailureReason::Malformed.as_str(),
            detail: "the token holds characters that cannot go in an HTTP header".to_owned(),
        }));
    };
    headers.insert(header::AUTHORIZATION, value);
    let outcome = tokio::time::timeout(Duration::from_secs(15), service.authenticate(&headers))
        .await
        .map_err(|_| Failure::new("verification timed out (is the JWKS endpoint reachable?)"))?;
    Ok(match outcome {
        Ok(ctx) => Ok(Verified {
            subject: ctx.subject().to_owned(),
            permissions: ctx.permissions(),
            expires_at: ctx.expires_at(),
        }),
        Err(error) => Err(refusal(&error, source, token, &cfg.jwt_allowed_algorithms)),
    })
}

fn static_key_service(cfg: &mut AuthConfig) -> Result<SecurityService, Failure> {
    let mut last = None;
    for group in key_groups() {
        cfg.jwt_allowed_algorithms = names(&group);
        match SecurityService::from_config(cfg) {
            Ok(service) => return Ok(service),
            // The key does not fit this family: try the next one.
            Err(e) if e.key() == Some("web.auth.jwt_allowed_algorithms") => last = Some(e),
            Err(e) => {
                return Err(Failure::new(format!(
                    "unusable public key: {}",
                    strip_key(&e)
                )));
            }
        }
    }
    Err(Failure::new(format!(
        "unusable public key: {}",
        last.map(|e| strip_key(&e)).unwrap_or_default()
    )))
}

fn jwks_service(
    cfg: &mut AuthConfig,
    url: String,
    allow_http: bool,
) -> Result<SecurityService, Failure> {
    cfg.jwt_verification_method = JwtVerificationMethod::Jwks;
    cfg.jwks_url = url;
    cfg.jwks_url_allow_http = allow_http;
    cfg.jwt_allowed_algorithms = names(&key_groups().concat());
    SecurityService::from_config(cfg)
        .map_err(|e| Failure::new(format!("unusable JWKS source: {}", strip_key(&e))))
}

/// A key set read from a file: the server's own JWKS parsing and key selection, over a fixed set.
fn jwks_file_service(cfg: &mut AuthConfig, json: &str) -> Result<SecurityService, Failure> {
    cfg.jwt_verification_method = JwtVerificationMethod::Jwks;
    cfg.jwks_url = "file:jwks.json".to_owned();
    let algorithms: Vec<Algorithm> = key_groups().concat();
    cfg.jwt_allowed_algorithms = names(&algorithms);
    let store = JwksKeyStore::from_jwks_json(json, &algorithms)
        .map_err(|e| Failure::new(format!("unusable JWKS file: {e}")))?;
    SecurityService::from_config_with_key_store(cfg, store)
        .map_err(|e| Failure::new(format!("unusable JWKS file: {}", strip_key(&e))))
}

/// The server's message without the configuration key it names (the CLI has flags, not keys).
fn strip_key(e: &tasker_auth::ConfigError) -> String {
    let message = e.to_string();
    match e.key() {
        Some(key) => message
            .strip_prefix(key)
            .map(|rest| rest.trim_start_matches([':', ' ']).to_owned())
            .unwrap_or(message),
        None => message,
    }
}

fn refusal(error: &AuthError, source: &KeySource, token: &str, allowed: &[String]) -> Refusal {
    let reason = error.reason().as_str();
    let mut detail = match error {
        AuthError::Invalid { reason } => reason.as_str().to_owned(),
        AuthError::Malformed { detail } => (*detail).to_owned(),
        other => other.to_string(),
    };
    match error {
        AuthError::Invalid {
            reason: InvalidReason::KeySetUnavailable,
        } => {
            let what = match source {
                KeySource::JwksUrl(url) => redact_url(url),
                KeySource::Config(config) => {
                    let auth = &config.web.auth;
                    if auth.jwt_verification_method == JwtVerificationMethod::Oidc {
                        format!(
                            "the jwks_uri discovered from {}",
                            redact_url(&auth.jwt_issuer)
                        )
                    } else {
                        redact_url(&auth.jwks_url)
                    }
                }
                _ => "the JWKS file".to_owned(),
            };
            detail.push_str(&format!(" (could not fetch a JWK set from {what})"));
        }
        AuthError::Invalid {
            reason: InvalidReason::AlgorithmNotAllowed,
        } => {
            let alg = jsonwebtoken::decode_header(token)
                .map(|h| format!("{:?}", h.alg))
                .unwrap_or_else(|_| "?".to_owned());
            let allows = match source {
                KeySource::Config(_) => "jwt_allowed_algorithms is",
                _ => "this key verifies",
            };
            detail.push_str(&format!(
                " (the token is signed with {alg}; {allows} {})",
                allowed.join(", ")
            ));
        }
        AuthError::Invalid {
            reason: InvalidReason::UnknownKid,
        } => detail.push_str(" (no key in the set has the token's kid)"),
        _ => {}
    }
    Refusal { reason, detail }
}
