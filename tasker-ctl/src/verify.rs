//! Token verification with the servers' own [`SecurityService`], so that `validate-token` accepts
//! exactly what a Tasker server configured with the same key, issuer and audience accepts.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use tasker_auth::{AuthConfig, AuthError, FailureReason, JwtVerificationMethod, SecurityService};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::Failure;
use crate::validate::{KeySource, Refusal, Verified};

/// Every asymmetric algorithm the server supports, by key family; a static key gets the first
/// family it fits.
const FAMILIES: &[&[&str]] = &[
    &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
    &["ES256"],
    &["ES384"],
    &["EdDSA"],
];

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

    let mut file_server = None;
    let service = match source {
        KeySource::PublicKeyPem(pem) => {
            cfg.jwt_verification_method = JwtVerificationMethod::PublicKey;
            cfg.jwt_public_key = pem.clone();
            static_key_service(&mut cfg)?
        }
        KeySource::JwksFile(text) => {
            // The server reads key sets over HTTP only: serve the file on loopback for the
            // duration of the check, so the very same JWKS code path verifies the token.
            let (url, task) = serve_on_loopback(text.clone()).await.map_err(|e| {
                Failure::new(format!("cannot serve the JWKS file on 127.0.0.1: {e}"))
            })?;
            file_server = Some(task);
            jwks_service(&mut cfg, url, true)?
        }
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
    if let Some(task) = file_server {
        task.abort();
    }
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
    for family in FAMILIES {
        cfg.jwt_allowed_algorithms = family.iter().map(|a| (*a).to_owned()).collect();
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
    cfg.jwt_allowed_algorithms = FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .map(|a| (*a).to_owned())
        .collect();
    SecurityService::from_config(cfg)
        .map_err(|e| Failure::new(format!("unusable JWKS source: {}", strip_key(&e))))
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
        AuthError::Invalid { detail } | AuthError::Malformed { detail } => (*detail).to_owned(),
        other => other.to_string(),
    };
    if detail.contains("key set unavailable") {
        let what = match source {
            KeySource::JwksUrl(url) => url.as_str(),
            _ => "the JWKS file",
        };
        detail.push_str(&format!(" (could not fetch a JWK set from {what})"));
    } else if detail.contains("alg not allowed") {
        let alg = jsonwebtoken::decode_header(token)
            .map(|h| format!("{:?}", h.alg))
            .unwrap_or_else(|_| "?".to_owned());
        detail.push_str(&format!(
            " (the token is signed with {alg}; this key verifies {})",
            allowed.join(", ")
        ));
    } else if detail.contains("unknown kid") {
        detail.push_str(" (no key in the set has the token's kid)");
    }
    Refusal { reason, detail }
}

/// Serves `body` as `application/json` to every connection on 127.0.0.1 until aborted.
async fn serve_on_loopback(body: String) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/jwks.json", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // Read the request head (bounded), then answer and close.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok((url, task))
}
