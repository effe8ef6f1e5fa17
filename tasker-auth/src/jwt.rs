//! JWT verification: one pass over the token, with the key chosen from configuration.
//!
//! # Why not `jsonwebtoken::decode`
//!
//! jsonwebtoken stays the source of the types ([`Algorithm`], [`DecodingKey`], JWKs) and of the
//! signature check for JWK-set keys; this file replaces only its `decode`, for three reasons:
//!
//! - **The refusal contract.** Every refusal must be `malformed` (cannot be parsed) or `invalid`
//!   with a typed [`InvalidReason`], and `expired` only for a token whose signature holds.
//!   `decode` checks `exp` before `iss`/`aud` (a token for another audience that also expired
//!   reads `expired`), and reports a payload that is not JSON and a claim of the wrong type as
//!   the same `Json` error. Here the order is fixed: shape, header, signature, then claims, with
//!   `exp` last, and the payload is only parsed after the signature holds.
//! - **Header policy.** Tokens with `crit`, `b64: false` or a key of their own (`jwk`, `jku`,
//!   `x5u`, `x5c`) are refused outright; `decode` parses those fields and ignores them.
//! - **Cost.** `decode` parses the key's DER again on every call and decodes the claims into an
//!   owned map before we read the permissions from it. A static key is parsed here once per
//!   allowed algorithm at start-up (aws-lc-rs `ParsedPublicKey`) and the claims are read once, as
//!   borrowed strings, with the permissions going straight into the [`PermissionSet`] bitset.
//!   Measured with `cargo bench --bench authentication` (docs/performance.md), RS256: a bare
//!   `jsonwebtoken::decode` takes 19.9 µs, `SecurityService::authenticate` 17.4 µs and the whole
//!   request through the layer 18.4 µs, i.e. our complete request costs less than the library's
//!   decode alone. The gain is modest (about 10%); the contract above is the main reason.
//!
//! If jsonwebtoken grows a pre-parsed verifying key and typed, ordered errors, this file should
//! shrink to the claim reader.
//!
//! # The pipeline, cheapest and least trusting first
//!
//! 1. shape: at most 8 KiB, exactly three base64url parts (else `malformed`);
//! 2. header: a JSON object (else `malformed`) read into a borrowed struct, its registered
//!    members type-checked and each allowed once (else `malformed`); `alg` must be in
//!    `jwt_allowed_algorithms` and `typ` in `jwt_allowed_types`; any `crit`, and the
//!    key-carrying fields `jwk`, `jku`, `x5u`, `x5c`, make the token `invalid`;
//! 3. signature: checked with aws-lc-rs (the backend of jsonwebtoken's `aws_lc_rs` provider):
//!    a static key is parsed once per allowed algorithm at start-up; a JWK-set key goes through
//!    `jsonwebtoken::crypto::verify`;
//! 4. claims: a JSON object (else `malformed`) decoded once, borrowed, with the permissions read
//!    straight into a [`PermissionSet`]; `exp` and `sub` required, `iss`/`aud`/`nbf`/`iat`
//!    checked.
//!
//! The payload is only parsed after the signature holds, so a forged token is `invalid` whatever
//! it claims (a forged, "expired" token is not reported as `expired`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::clock::Clock;
use crate::context::{AuthMethod, SecurityContext};
use crate::error::{AuthError, InvalidReason};
use crate::permission_set::{PermissionSet, is_oidc_scope_value};

/// Credentials longer than this are refused before any parsing.
pub(crate) const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// Decoded parts up to this size stay on the stack.
const STACK_BUF: usize = 1024;

/// The set of algorithms a verifier accepts, as a bitmask.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgorithmSet(u16);

impl AlgorithmSet {
    pub(crate) fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg_bit(alg);
    }

    #[inline]
    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg_bit(alg) != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Algorithm> {
        FAMILIES
            .iter()
            .flat_map(|f| f.algorithms().iter().copied())
            .filter(move |a| self.contains(*a))
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Every algorithm jsonwebtoken knows, by family: the families are jsonwebtoken's list.
const FAMILIES: [AlgorithmFamily; 4] = [
    AlgorithmFamily::Hmac,
    AlgorithmFamily::Rsa,
    AlgorithmFamily::Ec,
    AlgorithmFamily::Ed,
];

/// The algorithms a public key can verify: every family but HMAC.
pub(crate) fn public_key_algorithms() -> impl Iterator<Item = Algorithm> {
    FAMILIES
        .iter()
        .filter(|f| **f != AlgorithmFamily::Hmac)
        .flat_map(|f| f.algorithms().iter().copied())
}

/// `RS256, RS384, ... or EdDSA`, for messages.
pub(crate) fn public_key_algorithm_list() -> String {
    let names: Vec<String> = public_key_algorithms().map(|a| format!("{a:?}")).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Algorithms added to jsonwebtoken later get no bit, so they can never be allowed.
const fn alg_bit(alg: Algorithm) -> u16 {
    match alg_index_checked(alg) {
        Some(i) => 1 << i,
        None => 0,
    }
}

/// The slot of an algorithm in a [`StaticKey`]: 0..12, or 12 (always empty) for one this crate
/// does not know. The only per-algorithm table left here, because a bitmask needs a slot per
/// algorithm; `algorithm_slots_cover_every_family` ties it to jsonwebtoken's families.
#[inline]
fn alg_index(alg: Algorithm) -> usize {
    alg_index_checked(alg).map_or(12, usize::from)
}

const fn alg_index_checked(alg: Algorithm) -> Option<u8> {
    Some(match alg {
        Algorithm::HS256 => 0,
        Algorithm::HS384 => 1,
        Algorithm::HS512 => 2,
        Algorithm::ES256 => 3,
        Algorithm::ES384 => 4,
        Algorithm::RS256 => 5,
        Algorithm::RS384 => 6,
        Algorithm::RS512 => 7,
        Algorithm::PS256 => 8,
        Algorithm::PS384 => 9,
        Algorithm::PS512 => 10,
        Algorithm::EdDSA => 11,
        _ => return None,
    })
}

/// What the claims must satisfy.
#[derive(Debug)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: Option<Arc<str>>,
    pub(crate) audience: Option<Box<str>>,
    pub(crate) leeway: u64,
    pub(crate) permissions_claim: Box<str>,
    /// The permissions claim is `scope` or `scp`, where the OpenID Connect scope values
    /// ([`OIDC_SCOPE_VALUES`](crate::permission_set::OIDC_SCOPE_VALUES)) are not permissions.
    pub(crate) skip_oidc_scopes: bool,
    pub(crate) strict: bool,
    /// Where unknown permissions are reported when `strict` is off.
    pub(crate) unknown_permissions: UnknownPermissionLog,
    /// What `exp`, `nbf` and `iat` are compared with.
    pub(crate) clock: Clock,
}

impl ClaimRules {
    /// The rules for `permissions_claim`, with the issuer and audience unchecked and no leeway.
    pub(crate) fn new(permissions_claim: &str, strict: bool, clock: Clock) -> Self {
        ClaimRules {
            issuer: None,
            audience: None,
            leeway: 0,
            permissions_claim: permissions_claim.into(),
            skip_oidc_scopes: matches!(permissions_claim, "scope" | "scp"),
            strict,
            unknown_permissions: UnknownPermissionLog::default(),
            clock,
        }
    }
}

/// With `strict_validation = false`, unknown permissions are logged at info level once per
/// distinct value (the first [`UnknownPermissionLog::MAX_VALUES`] of them), and at debug level
/// after that, so that a client sending the same token all day does not flood the log.
#[derive(Default)]
pub(crate) struct UnknownPermissionLog {
    seen: Mutex<HashSet<Box<str>>>,
}

impl UnknownPermissionLog {
    /// How many distinct values are remembered; bounded, since the values come from tokens.
    pub(crate) const MAX_VALUES: usize = 64;

    /// Logs `unknown`; returns how many values were logged at info level.
    fn record(&self, subject: &str, unknown: &[String]) -> usize {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut at_info = 0;
        for value in unknown {
            if seen.contains(value.as_str()) {
                tracing::debug!(
                    subject,
                    unknown = value.as_str(),
                    "ignoring unknown permission"
                );
            } else if seen.len() < Self::MAX_VALUES {
                seen.insert(value.as_str().into());
                at_info += 1;
                tracing::info!(
                    subject,
                    unknown = value.as_str(),
                    "ignoring unknown permission in token (strict_validation = false); logged \
                     once per value, then at debug level"
                );
                if seen.len() == Self::MAX_VALUES {
                    tracing::info!(
                        "{} distinct unknown permissions logged: further ones are logged at debug \
                         level only",
                        Self::MAX_VALUES
                    );
                }
            } else {
                tracing::debug!(
                    subject,
                    unknown = value.as_str(),
                    "ignoring unknown permission"
                );
            }
        }
        at_info
    }
}

impl fmt::Debug for UnknownPermissionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let logged = self.seen.lock().map_or(0, |seen| seen.len());
        f.debug_struct("UnknownPermissionLog")
            .field("logged", &logged)
            .finish()
    }
}

/// A token that verified: its context, and the claims its validity depends on over time.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) context: SecurityContext,
    pub(crate) times: TimeClaims,
}

/// `exp`, `nbf` and `iat`, in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeClaims {
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
}

impl TimeClaims {
    /// The `nbf` and `iat` checks: the token is not (yet) valid before these, less the leeway.
    #[inline]
    pub(crate) fn check_started(&self, leeway: u64, now: i64) -> Result<(), AuthError> {
        let latest = now.saturating_add(leeway as i64);
        if self.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(AuthError::invalid(InvalidReason::NotYetValid));
        }
        if self.iat.is_some_and(|iat| iat > latest) {
            return Err(AuthError::invalid(InvalidReason::IssuedInFuture));
        }
        Ok(())
    }

    /// The `exp` check: refused once `exp` plus the leeway has passed.
    #[inline]
    pub(crate) fn check_not_expired(&self, leeway: u64, now: i64) -> Result<(), AuthError> {
        if now > self.exp.saturating_add(leeway as i64) {
            return Err(AuthError::Expired);
        }
        Ok(())
    }

    /// Whether `nbf` or `iat` lies ahead of `now` (the leeway aside).
    pub(crate) fn starts_after(&self, now: i64) -> bool {
        self.nbf.is_some_and(|nbf| nbf > now) || self.iat.is_some_and(|iat| iat > now)
    }
}

/// A token split into its parts, its header checked.
#[derive(Debug)]
pub(crate) struct ParsedToken<'t> {
    /// `header.payload`: what the signature covers.
    message: &'t str,
    payload: &'t str,
    signature: &'t str,
    pub(crate) alg: Algorithm,
    /// Only filled when asked for (JWKS), so static-key verification does not allocate it.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) kid: Option<String>,
}

/// Splits the token and checks its header: `alg` in `allowed`, `typ` in `types`. `want_kid`
/// copies out the `kid`.
pub(crate) fn parse_token<'t>(
    token: &'t str,
    allowed: AlgorithmSet,
    types: &TypeSet,
    want_kid: bool,
) -> Result<ParsedToken<'t>, AuthError> {
    if token.len() > MAX_CREDENTIAL_BYTES {
        return Err(AuthError::malformed("token longer than 8 KiB"));
    }
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::malformed(
            "token is not three dot-separated parts",
        ));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(AuthError::malformed("empty token part"));
    }
    if !is_base64url(header) || !is_base64url(payload) || !is_base64url(signature) {
        return Err(AuthError::malformed("token part is not base64url"));
    }
    let message = &token[..header.len() + 1 + payload.len()];

    let (alg, kid) = with_decoded(header, |bytes| {
        if !starts_an_object(bytes) {
            return Err(AuthError::malformed("token header is not a JSON object"));
        }
        let raw: Header<'_> = serde_json::from_slice(bytes).map_err(|_| {
            AuthError::malformed(
                "token header has a member of the wrong type, a member twice, or is not JSON",
            )
        })?;
        let alg = raw
            .alg
            .ok_or(AuthError::malformed("token header has no alg"))?
            .parse::<Algorithm>()
            .ok()
            .filter(|a| allowed.contains(*a))
            .ok_or(AuthError::invalid(InvalidReason::AlgorithmNotAllowed))?;
        if raw.crit {
            return Err(AuthError::invalid(InvalidReason::CriticalHeader));
        }
        if raw.b64 == Some(false) {
            return Err(AuthError::invalid(InvalidReason::UnencodedPayload));
        }
        if raw.embedded_key {
            return Err(AuthError::invalid(InvalidReason::EmbeddedKey));
        }
        if !types.allows(raw.typ.as_deref()) {
            return Err(AuthError::invalid(InvalidReason::TypeNotAllowed));
        }
        let kid = if want_kid {
            raw.kid.map(Cow::into_owned)
        } else {
            None
        };
        Ok((alg, kid))
    })?;
    if signature.is_empty() {
        return Err(AuthError::invalid(InvalidReason::MissingSignature));
    }
    Ok(ParsedToken {
        message,
        payload,
        signature,
        alg,
        kid,
    })
}

/// Checks the signature with a key of the JWK set (through jsonwebtoken's crypto provider),
/// then the claims.
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) fn verify_token(
    token: &ParsedToken<'_>,
    key: &DecodingKey,
    rules: &ClaimRules,
) -> Result<Verified, AuthError> {
    match jsonwebtoken::crypto::verify(token.signature, token.message.as_bytes(), key, token.alg) {
        Ok(true) => {}
        Ok(false) => return Err(AuthError::invalid(InvalidReason::BadSignature)),
        Err(e) => {
            return Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_) => {
                    AuthError::malformed("signature is not base64url")
                }
                _ => AuthError::invalid(InvalidReason::AlgorithmMismatch),
            });
        }
    }
    with_decoded(token.payload, |bytes| check_claims(bytes, rules))
}

/// The static key, parsed once per allowed algorithm at start-up, so that a request pays for the
/// signature check alone (no key parsing, no allocation).
pub(crate) struct StaticKey {
    by_alg: [Option<ParsedPublicKey>; 13],
}

impl StaticKey {
    /// Parses `der` (as jsonwebtoken's `DecodingKey` holds it) for each allowed algorithm.
    pub(crate) fn new(der: &[u8], allowed: AlgorithmSet) -> Result<Self, &'static str> {
        let mut by_alg: [Option<ParsedPublicKey>; 13] = Default::default();
        for alg in allowed.iter() {
            let parsed = ParsedPublicKey::new(verification_algorithm(alg)?, der)
                .map_err(|_| "the key does not fit the algorithm")?;
            by_alg[alg_index(alg)] = Some(parsed);
        }
        Ok(StaticKey { by_alg })
    }

    /// Checks the signature, then the claims.
    #[inline]
    pub(crate) fn verify_token(
        &self,
        token: &ParsedToken<'_>,
        rules: &ClaimRules,
    ) -> Result<Verified, AuthError> {
        let key = self.by_alg[alg_index(token.alg)]
            .as_ref()
            .ok_or(AuthError::invalid(InvalidReason::AlgorithmNotAllowed))?;
        with_decoded(token.signature, |signature| {
            key.verify_sig(token.message.as_bytes(), signature)
                .map_err(|_| AuthError::invalid(InvalidReason::BadSignature))
        })?;
        with_decoded(token.payload, |bytes| check_claims(bytes, rules))
    }
}

/// The aws-lc-rs algorithm jsonwebtoken's `aws_lc_rs` provider uses for `alg`.
fn verification_algorithm(
    alg: Algorithm,
) -> Result<&'static dyn VerificationAlgorithm, &'static str> {
    use aws_lc_rs::signature as sig;
    Ok(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return Err("no public-key algorithm"),
    })
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticKey")
    }
}

fn check_claims(bytes: &[u8], rules: &ClaimRules) -> Result<Verified, AuthError> {
    // Told apart here because the seed reports a claim of the wrong type as a data error, and a
    // payload of the wrong JSON type would be one too.
    if !starts_an_object(bytes) {
        return Err(AuthError::malformed("token payload is not a JSON object"));
    }
    let seed = ClaimsSeed {
        permissions_claim: &rules.permissions_claim,
        audience: rules.audience.as_deref(),
        skip_oidc_scopes: rules.skip_oidc_scopes,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let claims = seed
        .deserialize(&mut de)
        .and_then(|c| de.end().map(|()| c))
        .map_err(|e| {
            if e.is_data() {
                AuthError::invalid(InvalidReason::ClaimType)
            } else {
                AuthError::malformed("token payload is not a JSON object")
            }
        })?;

    let now = rules.clock.now();
    let Some(exp) = claims.exp else {
        return Err(AuthError::invalid(InvalidReason::MissingExpiry));
    };
    let times = TimeClaims {
        exp,
        nbf: claims.nbf,
        iat: claims.iat,
    };
    let sub = match claims.sub {
        Some(s) if !s.is_empty() => s,
        _ => return Err(AuthError::invalid(InvalidReason::MissingSubject)),
    };
    if let Some(expected) = &rules.issuer
        && claims.iss.as_deref() != Some(&**expected)
    {
        return Err(AuthError::invalid(InvalidReason::Issuer));
    }
    if rules.audience.is_some() && !claims.aud_matches {
        return Err(AuthError::invalid(InvalidReason::Audience));
    }
    times.check_started(rules.leeway, now)?;
    if !claims.unknown.is_empty() {
        if rules.strict {
            return Err(AuthError::invalid(InvalidReason::UnknownPermission));
        }
        rules.unknown_permissions.record(&sub, &claims.unknown);
    }
    times.check_not_expired(rules.leeway, now)?;
    let issuer = match (&rules.issuer, claims.iss) {
        (Some(configured), _) => configured.clone(),
        (None, Some(iss)) => Arc::from(&*iss),
        (None, None) => Arc::from(""),
    };
    let expires_at = u64::try_from(exp)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
    Ok(Verified {
        context: SecurityContext::new(
            Arc::<str>::from(&*sub),
            AuthMethod::Jwt { issuer },
            claims.permissions,
            expires_at,
        ),
        times,
    })
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Decodes a base64url part (on the stack when small) and hands the bytes to `f`.
fn with_decoded<T>(
    part: &str,
    f: impl FnOnce(&[u8]) -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    let bad = |_| AuthError::malformed("token part is not base64url");
    if part.len() / 4 * 3 + 3 <= STACK_BUF {
        let mut buf = [0u8; STACK_BUF];
        let n = URL_SAFE_NO_PAD
            .decode_slice(part, &mut buf)
            .map_err(|_| bad(()))?;
        f(&buf[..n])
    } else {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| bad(()))?;
        f(&bytes)
    }
}

/// Whether the JSON text `bytes` is an object (its first non-blank byte is `{`): a header or
/// payload of another JSON type is `malformed`, whatever the rest of the checks would say.
#[inline]
fn starts_an_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{')
}

/// The JOSE header, as far as the verifier reads it, borrowed from the decoded bytes.
///
/// Only a JSON object is accepted (a derived `Deserialize` would also take an array, read by
/// position). Every registered member (RFC 7515 §4.1, `b64` of RFC 7797, `url`/`nonce` of
/// RFC 8555, `enc`/`zip`) must have its registered type, `null` included in the refusal, and may
/// appear once; members of other names are skipped unread, so their type and repetition do not
/// matter.
#[derive(Default)]
struct Header<'a> {
    alg: Option<Cow<'a, str>>,
    kid: Option<Cow<'a, str>>,
    typ: Option<Cow<'a, str>>,
    crit: bool,
    b64: Option<bool>,
    /// `jwk`, `jku`, `x5u` or `x5c`: the token names its own key.
    embedded_key: bool,
}

/// A header member name, read without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HeaderMember {
    Alg,
    Kid,
    Typ,
    Cty,
    Crit,
    B64,
    Jwk,
    Jku,
    X5u,
    X5c,
    X5t,
    X5tS256,
    Enc,
    Zip,
    Url,
    Nonce,
    Other,
}

impl<'de> Deserialize<'de> for HeaderMember {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HeaderMember;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HeaderMember, E> {
                use HeaderMember::*;
                Ok(match v {
                    "alg" => Alg,
                    "kid" => Kid,
                    "typ" => Typ,
                    "cty" => Cty,
                    "crit" => Crit,
                    "b64" => B64,
                    "jwk" => Jwk,
                    "jku" => Jku,
                    "x5u" => X5u,
                    "x5c" => X5c,
                    "x5t" => X5t,
                    "x5t#S256" => X5tS256,
                    "enc" => Enc,
                    "zip" => Zip,
                    "url" => Url,
                    "nonce" => Nonce,
                    _ => Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use HeaderMember::*;
        let mut header = Header::default();
        let mut seen = 0u32;
        while let Some(member) = map.next_key::<HeaderMember>()? {
            if member != Other {
                let bit = 1u32 << member as u32;
                if seen & bit != 0 {
                    return Err(de::Error::custom("duplicate header member"));
                }
                seen |= bit;
            }
            match member {
                Alg => header.alg = Some(map.next_value::<CowStr<'de>>()?.0),
                Kid => header.kid = Some(map.next_value::<CowStr<'de>>()?.0),
                Typ => header.typ = Some(map.next_value::<CowStr<'de>>()?.0),
                Cty | X5t | X5tS256 | Enc | Zip | Url | Nonce => {
                    map.next_value::<AnyStr>()?;
                }
                Jku | X5u => {
                    map.next_value::<AnyStr>()?;
                    header.embedded_key = true;
                }
                Jwk | X5c => {
                    map.next_value::<IgnoredAny>()?;
                    header.embedded_key = true;
                }
                Crit => {
                    map.next_value::<IgnoredAny>()?;
                    header.crit = true;
                }
                B64 => header.b64 = Some(map.next_value::<bool>()?),
                Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

/// A JSON string, checked and dropped without copying.
struct AnyStr;

impl<'de> Deserialize<'de> for AnyStr {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyStr, E> {
                Ok(AnyStr)
            }
        }
        d.deserialize_str(V)
    }
}

/// The `typ` header values a verifier accepts (`jwt_allowed_types`), normalised at start-up so
/// that a request compares without allocating.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TypeSet {
    /// `""` was listed: a header without `typ` is accepted.
    absent: bool,
    /// The listed media types without an `application/` prefix, as written otherwise (compared
    /// ASCII-case-insensitively).
    names: Box<[Box<str>]>,
}

/// The media-type prefix RFC 7515 §4.1.9 lets a `typ` omit.
const APPLICATION: &str = "application/";

impl TypeSet {
    /// Reads `jwt_allowed_types`; the error says what is wrong with which entry (1-based), never
    /// quoting it.
    pub(crate) fn parse(list: &[String]) -> Result<Self, String> {
        if list.is_empty() {
            return Err(
                "the list is empty: no token could be accepted (the default is \
                 [\"JWT\", \"at+jwt\", \"\"])"
                    .to_owned(),
            );
        }
        let mut absent = false;
        let mut names: Vec<Box<str>> = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            if entry.is_empty() {
                absent = true;
                continue;
            }
            let name = strip_application(entry);
            if !is_media_subtype(name) {
                return Err(format!(
                    "entry {} is not a media type name: letters, digits and !#$&-^_.+ (up to 127, \
                     starting with a letter or digit), optionally after application/, or \"\" for \
                     a token without typ",
                    i + 1
                ));
            }
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name.into());
            }
        }
        Ok(TypeSet {
            absent,
            names: names.into_boxed_slice(),
        })
    }

    /// Whether a token whose header has `typ` (or none) is accepted.
    #[inline]
    pub(crate) fn allows(&self, typ: Option<&str>) -> bool {
        match typ {
            None => self.absent,
            Some(typ) => {
                let typ = strip_application(typ);
                self.names.iter().any(|n| n.eq_ignore_ascii_case(typ))
            }
        }
    }
}

impl fmt::Debug for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let absent = self.absent.then_some("");
        f.debug_set()
            .entries(self.names.iter().map(|n| &**n).chain(absent))
            .finish()
    }
}

/// `typ` without a leading `application/` (in any case).
#[inline]
fn strip_application(typ: &str) -> &str {
    match typ.get(..APPLICATION.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(APPLICATION) => &typ[APPLICATION.len()..],
        _ => typ,
    }
}

/// A `restricted-name` of RFC 6838 §4.2: what may follow `application/` in a media type.
fn is_media_subtype(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=127).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        })
}

/// The claims we read, borrowed from the decoded payload.
struct Claims<'a> {
    sub: Option<Cow<'a, str>>,
    iss: Option<Cow<'a, str>>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    aud_matches: bool,
    permissions: PermissionSet,
    unknown: Vec<String>,
}

struct ClaimsSeed<'r> {
    permissions_claim: &'r str,
    audience: Option<&'r str>,
    skip_oidc_scopes: bool,
}

/// A claim name, read without allocating (also when written with escapes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClaimName {
    Sub,
    Iss,
    Exp,
    Nbf,
    Iat,
    Aud,
    Permissions,
    Other,
}

/// Reads a claim name; the seed is the configured permissions claim.
struct ClaimNameSeed<'r>(&'r str);

impl<'de> DeserializeSeed<'de> for ClaimNameSeed<'_> {
    type Value = ClaimName;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ClaimName, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for ClaimNameSeed<'_> {
    type Value = ClaimName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ClaimName, E> {
        // The registered claims first: a permissions claim named `sub` stays `sub`.
        Ok(match v {
            "sub" => ClaimName::Sub,
            "iss" => ClaimName::Iss,
            "exp" => ClaimName::Exp,
            "nbf" => ClaimName::Nbf,
            "iat" => ClaimName::Iat,
            "aud" => ClaimName::Aud,
            _ if v == self.0 => ClaimName::Permissions,
            _ => ClaimName::Other,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = Claims<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut claims = Claims {
            sub: None,
            iss: None,
            exp: None,
            nbf: None,
            iat: None,
            aud_matches: false,
            permissions: PermissionSet::EMPTY,
            unknown: Vec::new(),
        };
        let (mut seen_aud, mut seen_perms) = (false, false);
        while let Some(name) = map.next_key_seed(ClaimNameSeed(self.permissions_claim))? {
            let dup = || de::Error::custom("duplicate claim");
            match name {
                ClaimName::Sub => {
                    if claims.sub.is_some() {
                        return Err(dup());
                    }
                    claims.sub = Some(map.next_value::<CowStr<'de>>()?.0);
                }
                ClaimName::Iss => {
                    if claims.iss.is_some() {
                        return Err(dup());
                    }
                    claims.iss = Some(map.next_value::<CowStr<'de>>()?.0);
                }
                ClaimName::Exp | ClaimName::Nbf | ClaimName::Iat => {
                    // exp and nbf are refused outside the u64 range rather than saturated (a
                    // negative nbf would otherwise pass as 0); a fractional nbf rounds up and a
                    // fractional exp down, so neither widens the token's validity.
                    let (slot, seed) = match name {
                        ClaimName::Exp => (
                            &mut claims.exp,
                            NumericDate {
                                unsigned: true,
                                round_up: false,
                            },
                        ),
                        ClaimName::Nbf => (
                            &mut claims.nbf,
                            NumericDate {
                                unsigned: true,
                                round_up: true,
                            },
                        ),
                        _ => (
                            &mut claims.iat,
                            NumericDate {
                                unsigned: false,
                                round_up: false,
                            },
                        ),
                    };
                    if slot.is_some() {
                        return Err(dup());
                    }
                    *slot = Some(map.next_value_seed(seed)?);
                }
                ClaimName::Aud => {
                    if seen_aud {
                        return Err(dup());
                    }
                    seen_aud = true;
                    claims.aud_matches = map.next_value_seed(AudSeed(self.audience))?;
                }
                ClaimName::Permissions => {
                    if seen_perms {
                        return Err(dup());
                    }
                    seen_perms = true;
                    map.next_value_seed(PermsSeed {
                        permissions: &mut claims.permissions,
                        unknown: &mut claims.unknown,
                        skip_oidc_scopes: self.skip_oidc_scopes,
                    })?;
                }
                ClaimName::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(claims)
    }
}

/// A string claim, borrowed when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, integer or not, read as whole seconds.
#[derive(Clone, Copy)]
struct NumericDate {
    /// Refuse a value outside `0..2^64` (seconds as an unsigned count).
    unsigned: bool,
    /// Round a fractional value up (towards later) instead of down.
    round_up: bool,
}

/// 2^64: the first value past the u64 range, exactly representable as an f64.
const U64_RANGE_END: f64 = 18_446_744_073_709_551_616.0;

impl<'de> DeserializeSeed<'de> for NumericDate {
    type Value = i64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for NumericDate {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if self.unsigned && v < 0 {
            return Err(E::custom("a negative date"));
        }
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        // Past i64::MAX is billions of years away: saturating changes no decision.
        Ok(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if !v.is_finite() {
            return Err(E::custom("not a finite number"));
        }
        if self.unsigned && !(0.0..U64_RANGE_END).contains(&v) {
            return Err(E::custom("a date outside the u64 range"));
        }
        let whole = if self.round_up { v.ceil() } else { v.floor() };
        // `as` saturates, which is what an absurd (signed) date should do.
        Ok(whole as i64)
    }
}

/// `aud`: a string or an array of strings; the value is whether it holds the expected audience.
struct AudSeed<'r>(Option<&'r str>);

impl<'de> DeserializeSeed<'de> for AudSeed<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AudSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(self.0 == Some(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(CowStr(aud)) = seq.next_element::<CowStr<'de>>()? {
            found |= self.0 == Some(&*aud);
        }
        Ok(found)
    }
}

/// The permissions claim: an array of strings, or one space-separated string (`scope`, `scp`).
struct PermsSeed<'c> {
    permissions: &'c mut PermissionSet,
    unknown: &'c mut Vec<String>,
    /// Skip the OpenID Connect scope values (`openid`, `profile`, ...): neither granted nor
    /// unknown.
    skip_oidc_scopes: bool,
}

impl PermsSeed<'_> {
    fn grant(&mut self, s: &str) {
        if self.skip_oidc_scopes && is_oidc_scope_value(s) {
            return;
        }
        let parsed = PermissionSet::parse_grants(std::iter::once(s));
        *self.permissions = self.permissions.union(parsed.permissions);
        self.unknown.extend(parsed.unknown);
    }
}

impl<'de> DeserializeSeed<'de> for PermsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PermsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings or a space-separated string")
    }
    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        for s in v.split_ascii_whitespace() {
            self.grant(s);
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(CowStr(s)) = seq.next_element::<CowStr<'de>>()? {
            self.grant(&s);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> AlgorithmSet {
        let mut set = AlgorithmSet::default();
        for a in FAMILIES.iter().flat_map(|f| f.algorithms().iter().copied()) {
            set.insert(a);
        }
        set
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn types(list: &[&str]) -> TypeSet {
        TypeSet::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn default_types() -> TypeSet {
        types(&["JWT", "at+jwt", ""])
    }

    /// The reason `parse_token` gives for a token with this header (and an RS256 key).
    fn header_verdict(header: &str) -> Result<(), crate::error::FailureReason> {
        let token = format!("{}.{}.c2ln", b64(header), b64("{}"));
        parse_token(&token, all(), &default_types(), false)
            .map(|_| ())
            .map_err(|e| e.reason())
    }

    #[test]
    fn header_that_is_not_an_object_is_malformed() {
        use crate::error::FailureReason::Malformed;
        for header in [
            r#"["RS256"]"#,
            r#"["ES256","kid"]"#,
            r#"["JWT","RS256"]"#,
            r#""RS256""#,
            "null",
            "5",
            r#" [{"alg":"RS256"}]"#,
        ] {
            assert_eq!(header_verdict(header), Err(Malformed), "{header}");
        }
        assert_eq!(header_verdict(r#" {"alg":"RS256"}"#), Ok(()));
    }

    #[test]
    fn header_member_of_the_wrong_type_is_malformed() {
        use crate::error::FailureReason::Malformed;
        for header in [
            r#"{"alg":5}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"RS256","typ":5}"#,
            r#"{"alg":"RS256","typ":null}"#,
            r#"{"alg":"RS256","typ":["JWT"]}"#,
            r#"{"alg":"RS256","cty":[]}"#,
            r#"{"alg":"RS256","kid":5}"#,
            r#"{"alg":"RS256","kid":null}"#,
            r#"{"alg":"RS256","x5t":1}"#,
            r#"{"alg":"RS256","x5t#S256":{}}"#,
            r#"{"alg":"RS256","enc":true}"#,
            r#"{"alg":"RS256","zip":true}"#,
            r#"{"alg":"RS256","url":1}"#,
            r#"{"alg":"RS256","nonce":1}"#,
            r#"{"alg":"RS256","b64":"x"}"#,
            r#"{"alg":"RS256","jku":5}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            assert_eq!(header_verdict(header), Err(Malformed), "{header}");
        }
        // Members of other names are not read, whatever their type.
        assert_eq!(header_verdict(r#"{"alg":"RS256","tenant":[1,{}]}"#), Ok(()));
    }

    #[test]
    fn duplicate_header_member_is_malformed() {
        use crate::error::FailureReason::Malformed;
        for header in [
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","typ":"JWT","typ":"JWT"}"#,
            r#"{"alg":"RS256","kid":"a","kid":"a"}"#,
            r#"{"alg":"RS256","cty":"JWT","cty":"JWT"}"#,
        ] {
            assert_eq!(header_verdict(header), Err(Malformed), "{header}");
        }
        // A private member we never read may repeat.
        assert_eq!(header_verdict(r#"{"alg":"RS256","x":1,"x":2}"#), Ok(()));
    }

    #[test]
    fn typ_is_checked_against_the_allowed_types() {
        use crate::error::FailureReason::Invalid;
        for ok in [
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"jwt"}"#,
            r#"{"alg":"RS256","typ":"at+jwt"}"#,
            r#"{"alg":"RS256","typ":"AT+JWT"}"#,
            r#"{"alg":"RS256","typ":"application/at+jwt"}"#,
            r#"{"alg":"RS256","typ":"Application/JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
        ] {
            assert_eq!(header_verdict(ok), Ok(()), "{ok}");
        }
        for refused in [
            r#"{"alg":"RS256","typ":"JWE"}"#,
            r#"{"alg":"RS256","typ":""}"#,
            r#"{"alg":"RS256","typ":"application/"}"#,
            r#"{"alg":"RS256","typ":"text/jwt"}"#,
            r#"{"alg":"RS256","typ":"JWT "}"#,
            r#"{"alg":"RS256","typ":"dpop+jwt"}"#,
            r#"{"alg":"RS256","typ":"application/application/jwt"}"#,
        ] {
            assert_eq!(header_verdict(refused), Err(Invalid), "{refused}");
        }
        let at_jwt_only = types(&["application/AT+JWT"]);
        let check = |header: &str| {
            let token = format!("{}.{}.c2ln", b64(header), b64("{}"));
            parse_token(&token, all(), &at_jwt_only, false).map(|_| ())
        };
        assert!(check(r#"{"alg":"RS256","typ":"at+jwt"}"#).is_ok());
        let err = check(r#"{"alg":"RS256","typ":"JWT"}"#).unwrap_err();
        assert!(matches!(
            err,
            AuthError::Invalid {
                reason: InvalidReason::TypeNotAllowed
            }
        ));
        assert!(check(r#"{"alg":"RS256"}"#).is_err());
    }

    #[test]
    fn allowed_types_refuse_an_empty_list_and_garbage() {
        let parse = |list: &[&str]| {
            TypeSet::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert!(parse(&["JWT", "at+jwt", ""]).is_ok());
        assert!(parse(&[""]).is_ok());
        assert!(parse(&["application/at+jwt", "secevent+jwt"]).is_ok());
        for bad in [
            &[][..],
            &["JWT", " at+jwt"],
            &["application/"],
            &["text/plain"],
            &["a b"],
            &["+jwt"],
            &["jwt\u{0}"],
            &["é"],
        ] {
            let err = parse(bad).unwrap_err();
            // (`application/` is named by the message itself.)
            for entry in bad
                .iter()
                .filter(|e| !e.is_empty() && **e != "application/")
            {
                assert!(!err.contains(entry), "{err}");
            }
        }
        assert_eq!(
            format!("{:?}", parse(&["JWT", "jwt", ""]).unwrap()),
            r#"{"JWT", ""}"#
        );
    }

    #[test]
    fn payload_that_is_not_an_object_is_malformed() {
        let rules = ClaimRules::new("permissions", true, Clock::System);
        for payload in ["[1]", "null", "\"claims\"", "5", " []", "", "x"] {
            let err = check_claims(payload.as_bytes(), &rules).unwrap_err();
            assert_eq!(
                err.reason(),
                crate::error::FailureReason::Malformed,
                "{payload:?}"
            );
        }
        // A claim of the wrong type inside an object is still `invalid`.
        let err = check_claims(br#"{"sub":5,"exp":1}"#, &rules).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
    }

    #[test]
    fn oidc_scope_values_are_skipped_in_scope_claims_only() {
        let exp = Clock::System.now() + 60;
        let scope = "openid profile email address phone offline_access tasks:read";
        for claim in ["scope", "scp"] {
            let rules = ClaimRules::new(claim, true, Clock::System);
            for value in [
                format!("\"{scope}\""),
                format!("{:?}", scope.split(' ').collect::<Vec<_>>()),
            ] {
                let payload = format!(r#"{{"sub":"a","exp":{exp},"{claim}":{value}}}"#);
                let ctx = check_claims(payload.as_bytes(), &rules).unwrap().context;
                assert_eq!(
                    ctx.permissions(),
                    PermissionSet::EMPTY.with(tasker_permissions::Permission::TasksRead),
                    "{payload}"
                );
            }
            // Any other unknown value is still refused in strict mode, and the OIDC values are
            // exact (case-sensitive).
            for other in ["openid tasks:fly", "OpenID tasks:read", "openid *"] {
                let payload = format!(r#"{{"sub":"a","exp":{exp},"{claim}":"{other}"}}"#);
                let err = check_claims(payload.as_bytes(), &rules).unwrap_err();
                assert_eq!(
                    err.reason(),
                    crate::error::FailureReason::Invalid,
                    "{other}"
                );
            }
        }
        // In a `permissions` claim, `openid` is an unknown permission like any other.
        let rules = ClaimRules::new("permissions", true, Clock::System);
        let payload = format!(r#"{{"sub":"a","exp":{exp},"permissions":["openid","tasks:read"]}}"#);
        assert!(check_claims(payload.as_bytes(), &rules).is_err());
    }

    #[test]
    fn unknown_permissions_are_remembered_once_and_boundedly() {
        let log = UnknownPermissionLog::default();
        let at_info = log.record("a", &["x".to_owned(), "x".to_owned(), "y".to_owned()]);
        assert_eq!(at_info, 2);
        // The next requests carrying them log at debug level only.
        assert_eq!(log.record("b", &["x".to_owned()]), 0);
        assert_eq!(log.record("a", &["y".to_owned()]), 0);
        assert_eq!(log.seen.lock().unwrap().len(), 2);
        let many: Vec<String> = (0..3 * UnknownPermissionLog::MAX_VALUES)
            .map(|i| format!("p{i}"))
            .collect();
        assert_eq!(log.record("c", &many), UnknownPermissionLog::MAX_VALUES - 2);
        assert_eq!(log.record("c", &many), 0);
        assert_eq!(
            log.seen.lock().unwrap().len(),
            UnknownPermissionLog::MAX_VALUES
        );
    }

    #[test]
    fn header_with_jku_is_invalid() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","jku":"https://evil.example/jwks"}"#),
            b64("{}")
        );
        let err = parse_token(&token, all(), &default_types(), false).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
    }

    #[test]
    fn four_parts_is_malformed() {
        let err = parse_token("a.b.c.d", all(), &default_types(), false).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Malformed);
    }

    #[test]
    fn scope_string_and_array_grant_permissions() {
        let rules = ClaimRules::new("scope", true, Clock::System);
        let exp = Clock::System.now() + 60;
        let ctx = check_claims(
            format!(r#"{{"sub":"a","exp":{exp},"scope":"tasks:read  dlq:*"}}"#).as_bytes(),
            &rules,
        )
        .unwrap()
        .context;
        assert!(ctx.has(tasker_permissions::Permission::TasksRead));
        assert!(ctx.has(tasker_permissions::Permission::DlqStats));
        assert!(!ctx.has(tasker_permissions::Permission::TasksCreate));
    }

    #[test]
    fn duplicate_claim_is_invalid() {
        let rules = ClaimRules::new("permissions", true, Clock::System);
        let exp = Clock::System.now() + 60;
        let err = check_claims(
            format!(r#"{{"sub":"a","exp":{exp},"sub":"b"}}"#).as_bytes(),
            &rules,
        )
        .unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
    }

    fn rules_at(now: i64) -> ClaimRules {
        ClaimRules::new(
            "permissions",
            true,
            Clock::Manual(crate::clock::ManualClock::new(now)),
        )
    }

    #[test]
    fn exp_or_nbf_outside_the_u64_range_is_invalid() {
        let now = 1_000_000;
        let exp = now + 60;
        for claims in [
            format!(r#"{{"sub":"a","exp":{exp},"nbf":-1}}"#),
            format!(r#"{{"sub":"a","exp":{exp},"nbf":-0.5}}"#),
            format!(r#"{{"sub":"a","exp":{exp},"nbf":-1e300}}"#),
            r#"{"sub":"a","exp":-1}"#.to_owned(),
            r#"{"sub":"a","exp":1e300}"#.to_owned(),
            r#"{"sub":"a","exp":18446744073709551616.0}"#.to_owned(),
        ] {
            let err = check_claims(claims.as_bytes(), &rules_at(now)).unwrap_err();
            assert_eq!(
                err.reason(),
                crate::error::FailureReason::Invalid,
                "{claims}"
            );
        }
        // The edges of the range are still dates.
        let ok = r#"{"sub":"a","exp":18446744073709551615,"nbf":0}"#;
        assert!(check_claims(ok.as_bytes(), &rules_at(now)).is_ok());
        // iat is not bounded that way: a negative iat is merely in the past.
        let ok = format!(r#"{{"sub":"a","exp":{exp},"iat":-5}}"#);
        assert!(check_claims(ok.as_bytes(), &rules_at(now)).is_ok());
    }

    #[test]
    fn fractional_nbf_rounds_up_and_exp_down() {
        let now = 1_000_000;
        let exp = now + 60;
        // nbf = now + 0.2: not valid before now + 1, so refused at `now` (no leeway).
        let early = format!(r#"{{"sub":"a","exp":{exp},"nbf":{now}.2}}"#);
        let err = check_claims(early.as_bytes(), &rules_at(now)).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
        assert!(check_claims(early.as_bytes(), &rules_at(now + 1)).is_ok());
        // nbf = now - 0.8 rounds up to `now`: valid.
        let past = format!(r#"{{"sub":"a","exp":{exp},"nbf":{}.2}}"#, now - 1);
        let verified = check_claims(past.as_bytes(), &rules_at(now)).unwrap();
        assert_eq!(verified.times.nbf, Some(now));
        // exp = now + 0.9 rounds down to `now`: still valid at `now`, expired a second later.
        let frac_exp = format!(r#"{{"sub":"a","exp":{now}.9}}"#);
        let verified = check_claims(frac_exp.as_bytes(), &rules_at(now)).unwrap();
        assert_eq!(verified.times.exp, now);
        assert!(check_claims(frac_exp.as_bytes(), &rules_at(now + 1)).is_err());
    }

    #[test]
    fn algorithm_slots_cover_every_family() {
        let mut seen = 0u16;
        for alg in FAMILIES.iter().flat_map(|f| f.algorithms().iter().copied()) {
            let bit = alg_bit(alg);
            assert_ne!(bit, 0, "{alg:?} has no slot");
            assert_eq!(seen & bit, 0, "{alg:?} shares a slot");
            seen |= bit;
        }
        assert_eq!(seen.count_ones(), 12);
        assert_eq!(
            public_key_algorithm_list(),
            "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
        );
    }
}
