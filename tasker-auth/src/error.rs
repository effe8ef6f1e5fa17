//! Per-request authentication and authorization failures, and their HTTP responses.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};

use tasker_permissions::Permission;

/// The header naming the reason of every authentication or authorization failure.
pub const FAILURE_REASON_HEADER: HeaderName = HeaderName::from_static("x-auth-failure-reason");

/// Why a request was refused, as it appears in `error.reason` and `x-auth-failure-reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// No credentials (or an unsupported scheme such as `Basic`).
    Missing,
    /// The token expired (beyond the configured leeway).
    Expired,
    /// The credential parsed but is not acceptable.
    Invalid,
    /// The credential could not be parsed at all.
    Malformed,
    /// Authenticated, without the required permission.
    Forbidden,
    /// The server is misconfigured: no authentication layer in front of a protected route.
    Misconfigured,
}

impl FailureReason {
    /// The wire name: `missing`, `expired`, `invalid`, `malformed`, `forbidden`, `misconfigured`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureReason::Missing => "missing",
            FailureReason::Expired => "expired",
            FailureReason::Invalid => "invalid",
            FailureReason::Malformed => "malformed",
            FailureReason::Forbidden => "forbidden",
            FailureReason::Misconfigured => "misconfigured",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a credential that parsed was not accepted: the detail behind [`FailureReason::Invalid`].
///
/// Logged with every refusal and matched by tools such as `tasker-ctl validate-token`; responses
/// never carry it, so a caller cannot probe which check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The token's `alg` is not in `jwt_allowed_algorithms` (or is unknown).
    AlgorithmNotAllowed,
    /// The token's `alg` does not fit the key chosen for it.
    AlgorithmMismatch,
    /// The header has a `crit` parameter.
    CriticalHeader,
    /// The header asks for an unencoded payload (`b64: false`).
    UnencodedPayload,
    /// The header's `typ` (or its absence) is not in `jwt_allowed_types`.
    TypeNotAllowed,
    /// The header carries or points to its own key (`jwk`, `jku`, `x5u`, `x5c`).
    EmbeddedKey,
    /// The token has an empty signature part.
    MissingSignature,
    /// The signature does not verify.
    BadSignature,
    /// A claim has the wrong JSON type or appears twice.
    ClaimType,
    /// No `exp` claim.
    MissingExpiry,
    /// No `sub` claim, or an empty one.
    MissingSubject,
    /// `iss` differs from `jwt_issuer`, or is missing.
    Issuer,
    /// `aud` does not contain `jwt_audience`, or is missing.
    Audience,
    /// `nbf` is in the future, beyond the leeway.
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    IssuedInFuture,
    /// A permission the vocabulary does not know, with `strict_validation` on.
    UnknownPermission,
    /// A bearer token was sent but no JWT verifier is configured.
    BearerNotAccepted,
    /// An API key was sent but API keys are not enabled.
    ApiKeyNotAccepted,
    /// The token has no `kid`, which JWKS verification needs to choose a key.
    MissingKid,
    /// No key of the JWK set has the token's `kid`.
    UnknownKid,
    /// The JWK set could not be fetched (or is older than `jwks_max_stale_seconds`).
    KeySetUnavailable,
    /// The request reached the key-store path without a key store; a bug, refused.
    NoKeyStore,
    /// No configured API key matches.
    UnknownApiKey,
    /// The API key matched but its `expires_at` has passed.
    ExpiredApiKey,
}

impl InvalidReason {
    /// A short lowercase description, as logged after `invalid credential: `.
    pub const fn as_str(self) -> &'static str {
        match self {
            InvalidReason::AlgorithmNotAllowed => "alg not allowed",
            InvalidReason::AlgorithmMismatch => "token alg does not fit the key",
            InvalidReason::CriticalHeader => "crit header parameter not supported",
            InvalidReason::UnencodedPayload => "unencoded payload (b64=false) not supported",
            InvalidReason::TypeNotAllowed => "typ not in jwt_allowed_types",
            InvalidReason::EmbeddedKey => "token header names its own key (jwk/jku/x5u/x5c)",
            InvalidReason::MissingSignature => "token has no signature",
            InvalidReason::BadSignature => "bad signature",
            InvalidReason::ClaimType => "a claim has the wrong type or appears twice",
            InvalidReason::MissingExpiry => "missing exp",
            InvalidReason::MissingSubject => "missing sub",
            InvalidReason::Issuer => "wrong or missing iss",
            InvalidReason::Audience => "wrong or missing aud",
            InvalidReason::NotYetValid => "nbf in the future",
            InvalidReason::IssuedInFuture => "iat in the future",
            InvalidReason::UnknownPermission => "unknown permission (strict_validation)",
            InvalidReason::BearerNotAccepted => "bearer tokens are not accepted",
            InvalidReason::ApiKeyNotAccepted => "API keys are not accepted",
            InvalidReason::MissingKid => "token has no kid",
            InvalidReason::UnknownKid => "unknown kid",
            InvalidReason::KeySetUnavailable => "key set unavailable",
            InvalidReason::NoKeyStore => "no key store",
            InvalidReason::UnknownApiKey => "unknown API key",
            InvalidReason::ExpiredApiKey => "expired API key",
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request. Its [`IntoResponse`] writes the status, JSON body and headers of a refusal.
///
/// The `detail` strings are for logs only: responses carry a fixed message per reason, so that no
/// response names a key, the expected issuer, or why a signature failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no credentials")]
    Missing,
    /// The token expired, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// The credential parsed but is not acceptable.
    #[error("invalid credential: {reason}")]
    Invalid {
        /// Why, for logs and tools; the response says only `invalid`.
        reason: InvalidReason,
    },
    /// The credential could not be parsed.
    #[error("malformed credential: {detail}")]
    Malformed {
        /// Why, for logs.
        detail: &'static str,
    },
    /// The caller lacks the permission.
    #[error("missing permission {required}")]
    Forbidden {
        /// The permission the route requires.
        required: Permission,
    },
    /// No [`SecurityContext`](crate::SecurityContext) on a protected route.
    #[error("no SecurityContext on a protected route: is the authentication layer installed?")]
    Misconfigured,
}

impl AuthError {
    /// An [`AuthError::Invalid`] for `reason`.
    pub const fn invalid(reason: InvalidReason) -> Self {
        AuthError::Invalid { reason }
    }

    /// An [`AuthError::Malformed`] with a log detail.
    pub const fn malformed(detail: &'static str) -> Self {
        AuthError::Malformed { detail }
    }

    /// Logs the server-side misconfiguration and returns [`AuthError::Misconfigured`].
    pub(crate) fn misconfigured(route: &str) -> Self {
        tracing::error!(
            route,
            "protected route reached without a SecurityContext: the authentication layer is \
             missing in front of it; refusing the request"
        );
        AuthError::Misconfigured
    }

    /// The reason on the wire.
    pub const fn reason(&self) -> FailureReason {
        match self {
            AuthError::Missing => FailureReason::Missing,
            AuthError::Expired => FailureReason::Expired,
            AuthError::Invalid { .. } => FailureReason::Invalid,
            AuthError::Malformed { .. } => FailureReason::Malformed,
            AuthError::Forbidden { .. } => FailureReason::Forbidden,
            AuthError::Misconfigured => FailureReason::Misconfigured,
        }
    }

    /// The HTTP status: 401, 403, or 500 for a misconfigured server.
    pub const fn status(&self) -> StatusCode {
        match self {
            AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AuthError::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The `error.code` of the body.
    pub const fn code(&self) -> &'static str {
        match self {
            AuthError::Forbidden { .. } => "AUTHORIZATION_FAILED",
            AuthError::Misconfigured => "AUTH_MISCONFIGURED",
            _ => "AUTHENTICATION_FAILED",
        }
    }

    /// The human `error.message` of the body: fixed per reason, safe to show anyone.
    pub const fn public_message(&self) -> &'static str {
        match self {
            AuthError::Missing => "authentication required: send a bearer token or an API key",
            AuthError::Expired => "the token has expired",
            AuthError::Invalid { .. } => "the credential was not accepted",
            AuthError::Malformed { .. } => "the credential could not be parsed",
            AuthError::Forbidden { .. } => "the caller lacks the permission this route requires",
            AuthError::Misconfigured => "the server's authentication is misconfigured",
        }
    }
}

/// The JSON error body of a refusal: `{"error": {...}}`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object of an [`ErrorBody`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// `AUTHENTICATION_FAILED` (401) or `AUTHORIZATION_FAILED` (403); a server may use this body
    /// for its other errors too, with the status's name (`NOT_FOUND`).
    pub code: String,
    /// `missing`, `expired`, `invalid`, `malformed` or `forbidden`; for a server's other errors,
    /// its own snake_case cause.
    pub reason: String,
    /// Human-readable text.
    pub message: String,
    /// On a 403: the permission the route requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_permission: Option<String>,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let reason = self.reason();
        let required = match &self {
            AuthError::Forbidden { required } => Some(*required),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                reason: reason.as_str().to_owned(),
                message: self.public_message().to_owned(),
                required_permission: required.map(|p| p.as_str().to_owned()),
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            FAILURE_REASON_HEADER,
            HeaderValue::from_static(reason.as_str()),
        );
        let challenge = match (&self, required) {
            (_, Some(p)) => Some(forbidden_challenge(p)),
            (AuthError::Missing, _) => Some(HeaderValue::from_static(r#"Bearer realm="tasker""#)),
            (AuthError::Misconfigured, _) => None,
            _ => Some(HeaderValue::from_static(
                r#"Bearer realm="tasker", error="invalid_token""#,
            )),
        };
        if let Some(challenge) = challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

fn forbidden_challenge(p: Permission) -> HeaderValue {
    // Permission names are lowercase ASCII, so the header value is always valid.
    HeaderValue::from_str(&format!(
        r#"Bearer error="insufficient_scope", scope="{}""#,
        p.as_str()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer error="insufficient_scope""#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_reason_gets_the_same_response() {
        for reason in [
            InvalidReason::BadSignature,
            InvalidReason::UnknownKid,
            InvalidReason::Audience,
            InvalidReason::UnknownApiKey,
        ] {
            let error = AuthError::invalid(reason);
            assert_eq!(
                error.to_string(),
                format!("invalid credential: {}", reason.as_str())
            );
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()[&FAILURE_REASON_HEADER], "invalid");
            assert_eq!(
                response.headers()[header::WWW_AUTHENTICATE],
                r#"Bearer realm="tasker", error="invalid_token""#
            );
        }
    }
}
