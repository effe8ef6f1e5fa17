//! Verification keys fetched from a JWKS endpoint (or read from a `jwks.json` file).
//!
//! A [`JwksKeyStore`] keeps the usable keys of a JWK set, indexed by `kid`, and keeps them fresh:
//!
//! - a background task refetches the set every `refresh_interval`; after a failed fetch it retries
//!   with a bounded exponential backoff (from `min_refresh_interval`, doubling, at most
//!   `min(refresh_interval, 5 min)`), which is also how a store whose first fetch failed recovers;
//! - a token whose `kid` is unknown triggers a refetch, with at most one fetch in flight (every
//!   caller waits on the same fetch) and at most one started per `min_refresh_interval`, however
//!   many requests ask;
//! - a fetch that fails — transport error, non-200 status (redirects are not followed), slower than
//!   `fetch_timeout`, larger than `max_response_bytes` (enforced while streaming), not a JWK set,
//!   or holding no usable key — never replaces the cached keys: they are served until
//!   `refresh_interval + max_stale` after the last successful fetch; past that, [`JwksKeyStore::key`]
//!   fails with [`JwksError::Unavailable`];
//! - with OpenID Connect discovery ([`JwksSettings::discovery`]), every fetch first reads
//!   `<issuer>/.well-known/openid-configuration` under the same rules (no redirects, the same
//!   time and size limits), requires its `issuer` to equal the configured one exactly, and then
//!   fetches the set from its `jwks_uri`, which must be `https` unless `allow_http`; a
//!   discovery that fails is a failed fetch like any other, so a changed `jwks_uri` is followed
//!   at the next fetch and an unreachable issuer is retried with the same backoff;
//! - a set URL that answers with an HTML page or a discovery document is a failed fetch whose
//!   message says so (and names the document's `jwks_uri`);
//! - keys are filtered when a set is read: a key is kept only if it has a `kid`, is meant for
//!   signatures (no `use: enc`, `key_ops` including `verify` when present), is RSA (2048 to 8192
//!   bits), EC P-256 / P-384 or OKP Ed25519, parses as a valid public key, and fits one of the
//!   allowed algorithms (its own `alg`, when given, must be allowed and match its type). Unusable
//!   entries are skipped (and logged by `kid`), never failing the whole set.
//!
//! Key material is never logged nor shown by `Debug`; URLs are logged and shown only through
//! [`redact_url`](crate::redact_url) (no user, password or query value).
//!
//! # Example
//!
//! ```
//! use jsonwebtoken::Algorithm;
//! use tasker_auth::{JwksError, JwksKeyStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A set read from a file (as `tasker-ctl auth validate-token --jwks FILE` does).
//! let jwks = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "2026-11",
//!     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
//! let store = JwksKeyStore::from_jwks_json(jwks, &[Algorithm::EdDSA])?;
//!
//! let key = store.key("2026-11").await?;
//! assert_eq!(key.alg(), Some(Algorithm::EdDSA));
//! assert!(matches!(store.key("unknown").await, Err(JwksError::UnknownKid)));
//!
//! // A set served by an identity provider, refreshed in the background.
//! let mut settings = tasker_auth::JwksSettings::new("https://tenant.auth0.com/.well-known/jwks.json");
//! settings.allowed_algorithms = vec![Algorithm::RS256];
//! let remote = JwksKeyStore::new(settings)?;
//! # drop(remote);
//! # Ok(())
//! # }
//! ```

mod fetch;
mod parse;
mod store;

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::config::redact_url;
pub use store::JwksKeyStore;

/// Settings of a [`JwksKeyStore`], taken from the `jwks_*` keys of `[web.auth]`.
#[derive(Clone)]
pub struct JwksSettings {
    /// `jwks_url`: where the JWK set is served (`https`, or `http` with `allow_http`). With
    /// [`discovery_issuer`](Self::discovery_issuer), the issuer's discovery document instead.
    pub url: String,
    /// OpenID Connect discovery (`jwt_verification_method = "oidc"`): the issuer (`jwt_issuer`)
    /// whose discovery document `url` is. Every fetch reads the document, requires its `issuer`
    /// to equal this exactly, and fetches the set from its `jwks_uri` (`https`, or `http` with
    /// `allow_http`). `None`: `url` is the set itself. Set both with
    /// [`JwksSettings::discovery`].
    pub discovery_issuer: Option<String>,
    /// `jwks_refresh_interval_seconds` (default 3600).
    pub refresh_interval: Duration,
    /// `jwks_max_stale_seconds` (default 300): how long cached keys are served after refreshes
    /// start failing, i.e. beyond `refresh_interval` after the last successful fetch.
    pub max_stale: Duration,
    /// `jwks_min_refresh_interval_seconds` (default 10): an unknown `kid` refetches at most this
    /// often; also the first retry delay after a failed fetch.
    pub min_refresh_interval: Duration,
    /// `jwks_url_allow_http` (default false).
    pub allow_http: bool,
    /// `jwt_allowed_algorithms`: keys whose type fits none of them are ignored (default `RS256`).
    pub allowed_algorithms: Vec<Algorithm>,
    /// A fetch slower than this fails (default 5 s).
    pub fetch_timeout: Duration,
    /// A response larger than this fails (default 1 MiB).
    pub max_response_bytes: usize,
}

impl JwksSettings {
    /// Settings for `url` with the defaults of the `jwks_*` configuration keys: refresh every hour, serve stale keys for
    /// 5 minutes, refetch on an unknown `kid` at most every 10 seconds, `https` only, `RS256`,
    /// 5 s and 1 MiB per fetch.
    pub fn new(url: impl Into<String>) -> Self {
        JwksSettings {
            url: url.into(),
            discovery_issuer: None,
            refresh_interval: Duration::from_secs(3600),
            max_stale: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(10),
            allow_http: false,
            allowed_algorithms: vec![Algorithm::RS256],
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
        }
    }

    /// Settings for OpenID Connect discovery from `issuer`, with the same defaults as
    /// [`new`](Self::new): `url` becomes `<issuer>/.well-known/openid-configuration` (one slash
    /// between them, whether or not `issuer` ends in `/`).
    ///
    /// ```
    /// let settings = tasker_auth::JwksSettings::discovery("https://idp.example/realms/tasker/");
    /// assert_eq!(settings.url, "https://idp.example/realms/tasker/.well-known/openid-configuration");
    /// assert_eq!(settings.discovery_issuer.as_deref(), Some("https://idp.example/realms/tasker/"));
    /// ```
    pub fn discovery(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        JwksSettings {
            discovery_issuer: Some(issuer.clone()),
            ..JwksSettings::new(fetch::discovery_url(&issuer))
        }
    }
}

impl fmt::Debug for JwksSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSettings")
            .field("url", &redact_url(&self.url))
            .field(
                "discovery_issuer",
                &self.discovery_issuer.as_deref().map(redact_url),
            )
            .field("refresh_interval", &self.refresh_interval)
            .field("max_stale", &self.max_stale)
            .field("min_refresh_interval", &self.min_refresh_interval)
            .field("allow_http", &self.allow_http)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A key of the set, ready to verify signatures.
#[derive(Clone)]
pub struct JwksKey {
    kid: String,
    alg: Option<Algorithm>,
    decoding_key: DecodingKey,
}

impl JwksKey {
    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm a token must use with this key, when it is fixed: the JWK's `alg`, or the
    /// curve's algorithm for EC (`ES256` for P-256, `ES384` for P-384) and OKP (`EdDSA`) keys.
    /// `None` for an RSA key without `alg` (any allowed RSA algorithm fits).
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The verification key (its `family()` says which algorithms fit it).
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }
}

impl fmt::Debug for JwksKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why no key could be had for a token, or why a key store could not be built or refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// No key with this `kid`, even after a refetch (or the refetch cooldown applies).
    #[error("no key with this kid in the key set")]
    UnknownKid,
    /// The cached keys are older than `max_stale` (or none was ever fetched) and the endpoint
    /// cannot be reached.
    #[error("the key set is stale and the endpoint is unavailable")]
    Unavailable,
    /// The settings are unusable (bad URL, http without `jwks_url_allow_http`, ...).
    #[error("invalid JWKS settings: {0}")]
    Settings(String),
    /// [`JwksKeyStore::new`] was called outside a Tokio runtime.
    #[error("the JWKS key store needs a Tokio runtime for its background refresh")]
    NoRuntime,
    /// A JWK set given as JSON is unusable (not JSON, not a set, or no usable key).
    #[error("invalid JWK set: {0}")]
    InvalidSet(String),
    /// A fetch asked for by [`JwksKeyStore::refresh`] failed; the cached keys are kept.
    #[error("fetching the JWK set failed: {0}")]
    Fetch(String),
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair as _,
    };
    use serde_json::{Value, json};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::fetch::{FetchError, discovery_url, read_discovery_document, validate_settings};
    use super::parse::{SetError, parse_key, parse_set};
    use super::store::{MIN_RETRY_DELAY, retry_delay};
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(kid: &str) -> Value {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        json!({
            "kty": "RSA", "kid": kid, "use": "sig",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    fn ec_jwk(kid: &str, p384: bool) -> Value {
        let (signing, crv, size) = if p384 {
            (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
        } else {
            (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
        };
        let pair = EcdsaKeyPair::generate(signing).unwrap();
        let point = pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": crv, "kid": kid,
            "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..]),
        })
    }

    fn ed_jwk(kid: &str) -> Value {
        let pair = Ed25519KeyPair::generate().unwrap();
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())})
    }

    fn set(keys: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    const ALL: [Algorithm; 4] = [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    fn settings(url: &str) -> JwksSettings {
        JwksSettings::new(url)
    }

    #[test]
    fn parse_keeps_rsa_ec_and_okp_keys_with_their_algorithms() {
        let body = set(vec![
            rsa_jwk("rsa"),
            ec_jwk("p256", false),
            ec_jwk("p384", true),
            ed_jwk("ed"),
        ]);
        let keys = parse_set(&body, &ALL).unwrap();
        assert_eq!(keys.len(), 4);
        assert_eq!(keys["rsa"].alg, None);
        assert_eq!(keys["p256"].alg, Some(Algorithm::ES256));
        assert_eq!(keys["p384"].alg, Some(Algorithm::ES384));
        assert_eq!(keys["ed"].alg, Some(Algorithm::EdDSA));
        assert_eq!(
            keys["rsa"].decoding_key.family(),
            jsonwebtoken::AlgorithmFamily::Rsa
        );
        assert_eq!(
            keys["ed"].decoding_key.family(),
            jsonwebtoken::AlgorithmFamily::Ed
        );
    }

    #[test]
    fn parse_skips_unusable_entries_without_failing_the_set() {
        let mut enc = rsa_jwk("enc");
        enc["use"] = json!("enc");
        let mut wrap_only = ec_jwk("wrap", false);
        wrap_only["key_ops"] = json!(["wrapKey"]);
        let mut no_kid = ed_jwk("x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut off_curve = ec_jwk("off-curve", false);
        off_curve["y"] = json!(b64(&[1u8; 32]));
        let mut short_rsa = rsa_jwk("short");
        short_rsa["n"] = json!(b64(&[0xC1; 128]));
        let mut mismatched = rsa_jwk("mismatch");
        mismatched["alg"] = json!("ES256");
        let mut disallowed = rsa_jwk("rs512");
        disallowed["alg"] = json!("RS512");
        let mut bad_b64 = ed_jwk("bad-b64");
        bad_b64["x"] = json!("***");
        let body = set(vec![
            json!("not an object"),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}),
            json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
            json!({"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": "AA"}),
            json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}),
            enc,
            wrap_only,
            no_kid,
            off_curve,
            short_rsa,
            mismatched,
            disallowed,
            bad_b64,
            ed_jwk("good"),
        ]);
        let keys = parse_set(&body, &ALL).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["good"]);
    }

    #[test]
    fn parse_skips_key_types_that_fit_no_allowed_algorithm() {
        let body = set(vec![rsa_jwk("rsa"), ec_jwk("ec", false), ed_jwk("ed")]);
        let keys = parse_set(&body, &[Algorithm::ES256]).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ec"]);
        let keys = parse_set(&body, &[Algorithm::PS256]).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["rsa"]);
    }

    #[test]
    fn parse_accepts_matching_alg_and_the_ed25519_name() {
        let mut rsa = rsa_jwk("rsa");
        rsa["alg"] = json!("RS256");
        let mut ed = ed_jwk("ed");
        ed["alg"] = json!("Ed25519");
        let mut ec = ec_jwk("ec", false);
        ec["key_ops"] = json!(["verify"]);
        let keys = parse_set(&set(vec![rsa, ed, ec]), &ALL).unwrap();
        assert_eq!(keys["rsa"].alg, Some(Algorithm::RS256));
        assert_eq!(keys["ed"].alg, Some(Algorithm::EdDSA));
        assert_eq!(keys["ec"].alg, Some(Algorithm::ES256));
    }

    #[test]
    fn parse_keeps_the_first_of_duplicate_kids() {
        let first = ed_jwk("same");
        let keys = parse_set(&set(vec![first.clone(), ed_jwk("same")]), &ALL).unwrap();
        assert_eq!(keys.len(), 1);
        let expected = parse_key(&first, &ALL).unwrap();
        assert_eq!(
            keys["same"].decoding_key.try_get_as_bytes().unwrap(),
            expected.decoding_key.try_get_as_bytes().unwrap()
        );
    }

    #[test]
    fn parse_refuses_documents_that_are_not_usable_sets() {
        assert!(matches!(
            parse_set(b"<html>oops</html>", &ALL),
            Err(SetError::Html)
        ));
        assert!(matches!(
            parse_set(b"oops", &ALL),
            Err(SetError::NotJson(_))
        ));
        assert!(matches!(parse_set(b"[1, 2]", &ALL), Err(SetError::NotASet)));
        assert!(matches!(
            parse_set(br#"{"keys": {}}"#, &ALL),
            Err(SetError::NotASet)
        ));
        assert!(matches!(
            parse_set(br#"{"keys": []}"#, &ALL),
            Err(SetError::NoUsableKey { entries: 0 })
        ));
        let only_enc = set(vec![
            json!({"kty": "RSA", "kid": "a", "use": "enc", "n": "AA", "e": "AQAB"}),
        ]);
        assert!(matches!(
            parse_set(&only_enc, &ALL),
            Err(SetError::NoUsableKey { entries: 1 })
        ));
    }

    #[test]
    fn ed25519_key_verifies_the_rfc8037_signature() {
        // RFC 8037 appendix A.1 / A.4.
        let body = br#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "rfc",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let keys = parse_set(body, &[Algorithm::EdDSA]).unwrap();
        let signature = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let message = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let key = &keys["rfc"].decoding_key;
        assert!(jsonwebtoken::crypto::verify(signature, message, key, Algorithm::EdDSA).unwrap());
        assert!(
            !jsonwebtoken::crypto::verify(signature, b"tampered", key, Algorithm::EdDSA).unwrap()
        );
    }

    #[test]
    fn settings_refuse_http_without_allow_http() {
        let err = validate_settings(&settings("http://127.0.0.1:1/jwks.json")).unwrap_err();
        assert!(matches!(&err, JwksError::Settings(m) if m.contains("jwks_url_allow_http")));
        let mut allowed = settings("http://127.0.0.1:1/jwks.json");
        allowed.allow_http = true;
        assert!(validate_settings(&allowed).is_ok());
        assert!(validate_settings(&settings("https://idp.internal/jwks")).is_ok());
    }

    #[test]
    fn settings_refuse_unusable_values() {
        for url in [
            "",
            "   ",
            "not a url",
            "ftp://idp/jwks",
            "file:///etc/jwks.json",
        ] {
            assert!(
                matches!(
                    validate_settings(&settings(url)),
                    Err(JwksError::Settings(_))
                ),
                "{url:?} accepted"
            );
        }
        let mut hmac_only = settings("https://idp/jwks");
        hmac_only.allowed_algorithms = vec![Algorithm::HS256];
        assert!(matches!(
            validate_settings(&hmac_only),
            Err(JwksError::Settings(_))
        ));
        let mut no_algs = settings("https://idp/jwks");
        no_algs.allowed_algorithms.clear();
        assert!(matches!(
            validate_settings(&no_algs),
            Err(JwksError::Settings(_))
        ));
        let mut zero = settings("https://idp/jwks");
        zero.refresh_interval = Duration::ZERO;
        assert!(matches!(
            validate_settings(&zero),
            Err(JwksError::Settings(_))
        ));
    }

    #[test]
    fn new_outside_a_runtime_is_an_error() {
        let err = JwksKeyStore::new(settings("https://idp.internal/jwks")).unwrap_err();
        assert!(matches!(err, JwksError::NoRuntime));
    }

    #[test]
    fn retry_delay_doubles_up_to_its_cap() {
        let mut s = settings("https://idp/jwks");
        s.min_refresh_interval = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=8).map(|n| retry_delay(&s, n).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
        s.refresh_interval = Duration::from_secs(60);
        assert_eq!(retry_delay(&s, 30), Duration::from_secs(60));
        s.min_refresh_interval = Duration::ZERO;
        assert_eq!(retry_delay(&s, 1), MIN_RETRY_DELAY);
        assert_eq!(retry_delay(&s, u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn debug_output_holds_no_key_material_nor_url_credentials() {
        let jwk = ed_jwk("k1");
        let x = jwk["x"].as_str().unwrap().to_owned();
        let store = JwksKeyStore::from_jwks_json(&String::from_utf8(set(vec![jwk])).unwrap(), &ALL)
            .unwrap();
        let shown = format!("{store:?} {:?}", store.inner.read().keys["k1"]);
        assert!(shown.contains("k1") || shown.contains("keys: 1"), "{shown}");
        assert!(!shown.contains(&x));
        let s = settings("https://user:hunter2@idp.example/jwks");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("idp.example/jwks"));
    }

    #[tokio::test]
    async fn static_store_serves_its_keys_and_never_fetches() {
        let body = String::from_utf8(set(vec![ed_jwk("a"), ec_jwk("b", false)])).unwrap();
        let store = JwksKeyStore::from_jwks_json(&body, &ALL).unwrap();
        assert_eq!(store.kids(), ["a", "b"]);
        assert_eq!(store.key("a").await.unwrap().kid, "a");
        assert!(matches!(store.key("c").await, Err(JwksError::UnknownKid)));
        assert_eq!(store.refresh().await.unwrap(), 2);
        assert_eq!(store.fetch_count(), 0);
        assert!(matches!(
            JwksKeyStore::from_jwks_json(r#"{"keys": []}"#, &ALL),
            Err(JwksError::InvalidSet(_))
        ));
    }

    #[test]
    fn discovery_url_has_one_slash_whether_or_not_the_issuer_ends_in_one() {
        for issuer in [
            "https://idp.example/realms/t",
            "https://idp.example/realms/t/",
        ] {
            assert_eq!(
                discovery_url(issuer),
                "https://idp.example/realms/t/.well-known/openid-configuration"
            );
        }
        assert_eq!(
            discovery_url("https://idp.example"),
            "https://idp.example/.well-known/openid-configuration"
        );
        let s = JwksSettings::discovery("https://idp.example/");
        assert_eq!(
            s.url,
            "https://idp.example/.well-known/openid-configuration"
        );
        assert_eq!(s.discovery_issuer.as_deref(), Some("https://idp.example/"));
    }

    fn discovery_error(body: &Value, issuer: &str, allow_http: bool) -> String {
        match read_discovery_document(&serde_json::to_vec(body).unwrap(), issuer, allow_http) {
            Err(FetchError::Discovery(problem)) => problem,
            other => panic!("expected a discovery error, got {other:?}"),
        }
    }

    #[test]
    fn discovery_document_needs_the_exact_issuer_and_a_usable_jwks_uri() {
        let issuer = "https://idp.example/";
        let doc = |iss: &str, uri: &str| json!({"issuer": iss, "jwks_uri": uri});
        let url = read_discovery_document(
            &serde_json::to_vec(&doc(issuer, "https://keys.example/jwks")).unwrap(),
            issuer,
            false,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://keys.example/jwks");

        let mismatch = discovery_error(&doc("https://idp.example", "https://k/j"), issuer, false);
        assert!(mismatch.contains("is not jwt_issuer"), "{mismatch}");
        let http = discovery_error(
            &doc(issuer, "http://u:secret@keys.example/jwks?t=tok"),
            issuer,
            false,
        );
        assert!(http.contains("jwks_url_allow_http"), "{http}");
        assert!(!http.contains("secret") && !http.contains("tok"), "{http}");
        assert!(
            read_discovery_document(
                &serde_json::to_vec(&doc(issuer, "http://keys.example/jwks")).unwrap(),
                issuer,
                true
            )
            .is_ok()
        );
        for (body, expected) in [
            (json!({"jwks_uri": "https://k/j"}), "no issuer"),
            (json!({"issuer": issuer}), "no jwks_uri"),
            (doc(issuer, "ftp://k/j"), "unsupported scheme"),
            (doc(issuer, "not a url"), "not a valid URL"),
            (json!([1]), "not a JSON object"),
        ] {
            let problem = discovery_error(&body, issuer, false);
            assert!(problem.contains(expected), "{problem}");
        }
        let html = read_discovery_document(b"\n <!doctype html><p>hi", issuer, false).unwrap_err();
        assert!(html.to_string().contains("HTML page"), "{html}");
    }

    #[test]
    fn a_set_url_serving_html_or_a_discovery_document_says_what_it_found() {
        let html = parse_set(b"  <html><body>Sign in</body></html>", &ALL).unwrap_err();
        assert!(html.to_string().contains("HTML page"), "{html}");
        let doc = json!({"issuer": "https://idp.example",
            "jwks_uri": "https://idp.example/certs?key=secret"});
        let found = parse_set(&serde_json::to_vec(&doc).unwrap(), &ALL)
            .unwrap_err()
            .to_string();
        assert!(found.contains("discovery document"), "{found}");
        assert!(
            found.contains("https://idp.example/certs?key=[REDACTED]"),
            "{found}"
        );
        assert!(!found.contains("secret"), "{found}");
    }

    #[test]
    fn settings_errors_name_jwt_issuer_in_discovery_mode() {
        let err = validate_settings(&JwksSettings::discovery("http://127.0.0.1:1")).unwrap_err();
        assert!(
            matches!(&err, JwksError::Settings(m) if m.starts_with("jwt_issuer uses http://")),
            "{err}"
        );
        let shown = format!("{:?}", JwksSettings::discovery("https://idp.example/t"));
        assert!(shown.contains("discovery_issuer"), "{shown}");
    }
}
