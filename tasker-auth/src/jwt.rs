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
//! 2. header: parsed into a borrowed struct; `alg` must be in `jwt_allowed_algorithms`; any
//!    `crit`, and the key-carrying fields `jwk`, `jku`, `x5u`, `x5c`, make the token `invalid`;
//! 3. signature: checked with aws-lc-rs (the backend of jsonwebtoken's `aws_lc_rs` provider):
//!    a static key is parsed once per allowed algorithm at start-up; a JWK-set key goes through
//!    `jsonwebtoken::crypto::verify`;
//! 4. claims: decoded once, borrowed, with the permissions read straight into a
//!    [`PermissionSet`]; `exp` and `sub` required, `iss`/`aud`/`nbf`/`iat` checked.
//!
//! The payload is only parsed after the signature holds, so a forged token is `invalid` whatever
//! it claims (a forged, "expired" token is not reported as `expired`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::context::{AuthMethod, SecurityContext};
use crate::error::{AuthError, InvalidReason};
use crate::permission_set::PermissionSet;

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
    pub(crate) strict: bool,
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

/// Splits the token and checks its header. `want_kid` copies out the `kid`.
pub(crate) fn parse_token(
    token: &str,
    allowed: AlgorithmSet,
    want_kid: bool,
) -> Result<ParsedToken<'_>, AuthError> {
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
        let raw: RawHeader<'_> = serde_json::from_slice(bytes)
            .map_err(|_| AuthError::malformed("token header is not a JSON object"))?;
        let alg = raw
            .alg
            .parse::<Algorithm>()
            .ok()
            .filter(|a| allowed.contains(*a))
            .ok_or(AuthError::invalid(InvalidReason::AlgorithmNotAllowed))?;
        if raw.crit.is_some() {
            return Err(AuthError::invalid(InvalidReason::CriticalHeader));
        }
        if raw.b64 == Some(false) {
            return Err(AuthError::invalid(InvalidReason::UnencodedPayload));
        }
        if raw.jwk.is_some() || raw.jku.is_some() || raw.x5u.is_some() || raw.x5c.is_some() {
            return Err(AuthError::invalid(InvalidReason::EmbeddedKey));
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
) -> Result<SecurityContext, AuthError> {
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
    ) -> Result<SecurityContext, AuthError> {
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

fn check_claims(bytes: &[u8], rules: &ClaimRules) -> Result<SecurityContext, AuthError> {
    let seed = ClaimsSeed {
        permissions_claim: &rules.permissions_claim,
        audience: rules.audience.as_deref(),
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

    let now = unix_now();
    let leeway = rules.leeway as i64;
    let Some(exp) = claims.exp else {
        return Err(AuthError::invalid(InvalidReason::MissingExpiry));
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
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(AuthError::invalid(InvalidReason::NotYetValid));
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(AuthError::invalid(InvalidReason::IssuedInFuture));
    }
    if !claims.unknown.is_empty() {
        if rules.strict {
            return Err(AuthError::invalid(InvalidReason::UnknownPermission));
        }
        tracing::info!(
            subject = &*sub,
            unknown = ?claims.unknown,
            "ignoring unknown permissions in token (strict_validation = false)"
        );
    }
    if now > exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    let issuer = match (&rules.issuer, claims.iss) {
        (Some(configured), _) => configured.clone(),
        (None, Some(iss)) => Arc::from(&*iss),
        (None, None) => Arc::from(""),
    };
    let expires_at = u64::try_from(exp)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
    Ok(SecurityContext::new(
        Arc::<str>::from(&*sub),
        AuthMethod::Jwt { issuer },
        claims.permissions,
        expires_at,
    ))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
    #[serde(default)]
    b64: Option<bool>,
    #[serde(default)]
    jwk: Option<IgnoredAny>,
    #[serde(default)]
    jku: Option<IgnoredAny>,
    #[serde(default)]
    x5u: Option<IgnoredAny>,
    #[serde(default)]
    x5c: Option<IgnoredAny>,
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
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let dup = || de::Error::custom("duplicate claim");
            match &*key {
                "sub" => {
                    if claims.sub.is_some() {
                        return Err(dup());
                    }
                    claims.sub = Some(map.next_value::<CowStr<'de>>()?.0);
                }
                "iss" => {
                    if claims.iss.is_some() {
                        return Err(dup());
                    }
                    claims.iss = Some(map.next_value::<CowStr<'de>>()?.0);
                }
                "exp" | "nbf" | "iat" => {
                    let slot = match &*key {
                        "exp" => &mut claims.exp,
                        "nbf" => &mut claims.nbf,
                        _ => &mut claims.iat,
                    };
                    if slot.is_some() {
                        return Err(dup());
                    }
                    *slot = Some(map.next_value::<NumericDate>()?.0);
                }
                "aud" => {
                    if seen_aud {
                        return Err(dup());
                    }
                    seen_aud = true;
                    claims.aud_matches = map.next_value_seed(AudSeed(self.audience))?;
                }
                k if k == self.permissions_claim => {
                    if seen_perms {
                        return Err(dup());
                    }
                    seen_perms = true;
                    map.next_value_seed(PermsSeed(&mut claims.permissions, &mut claims.unknown))?;
                }
                _ => {
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

/// A NumericDate (RFC 7519 §2): seconds since the epoch, integer or not.
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(NumericDate(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.is_finite() {
                    // `as` saturates, which is what an absurd date should do.
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("not a finite number"))
                }
            }
        }
        d.deserialize_any(V)
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
struct PermsSeed<'c>(&'c mut PermissionSet, &'c mut Vec<String>);

impl PermsSeed<'_> {
    fn grant(&mut self, s: &str) {
        let parsed = PermissionSet::parse_grants(std::iter::once(s));
        *self.0 = self.0.union(parsed.permissions);
        self.1.extend(parsed.unknown);
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

    #[test]
    fn header_with_jku_is_invalid() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","jku":"https://evil.example/jwks"}"#),
            b64("{}")
        );
        let err = parse_token(&token, all(), false).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
    }

    #[test]
    fn four_parts_is_malformed() {
        let err = parse_token("a.b.c.d", all(), false).unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Malformed);
    }

    #[test]
    fn scope_string_and_array_grant_permissions() {
        let rules = ClaimRules {
            issuer: None,
            audience: None,
            leeway: 0,
            permissions_claim: "scope".into(),
            strict: true,
        };
        let exp = unix_now() + 60;
        let ctx = check_claims(
            format!(r#"{{"sub":"a","exp":{exp},"scope":"tasks:read  dlq:*"}}"#).as_bytes(),
            &rules,
        )
        .unwrap();
        assert!(ctx.has(tasker_permissions::Permission::TasksRead));
        assert!(ctx.has(tasker_permissions::Permission::DlqStats));
        assert!(!ctx.has(tasker_permissions::Permission::TasksCreate));
    }

    #[test]
    fn duplicate_claim_is_invalid() {
        let rules = ClaimRules {
            issuer: None,
            audience: None,
            leeway: 0,
            permissions_claim: "permissions".into(),
            strict: true,
        };
        let exp = unix_now() + 60;
        let err = check_claims(
            format!(r#"{{"sub":"a","exp":{exp},"sub":"b"}}"#).as_bytes(),
            &rules,
        )
        .unwrap_err();
        assert_eq!(err.reason(), crate::error::FailureReason::Invalid);
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
