//! Authentication through the real middleware: every request goes through `AuthLayer` on an
//! axum router with `#[requires]` handlers, and every refusal is checked for its status,
//! `error.reason`, `x-auth-failure-reason` and `WWW-Authenticate` (the "Error responses" of
//! docs/authentication.md).

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use fixtures::*;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use tasker_auth::{AuthConfig, SecurityService};

fn rsa_service() -> SecurityService {
    service_for(rsa())
}

async fn refused(headers: HeaderMap, reason: &str) {
    let reply = get_tasks(&rsa_service(), headers).await;
    assert_refused(&reply, reason);
}

async fn refused_token(token: &str, reason: &str) {
    refused(bearer(token), reason).await;
}

// ---------------------------------------------------------------- accepted credentials

#[tokio::test]
async fn rs256_token_is_accepted_with_its_permissions() {
    let reply = get_tasks(
        &rsa_service(),
        bearer(&token(rsa(), &claims(&["tasks:list", "dlq:*"]))),
    )
    .await;
    assert_accepted(&reply, "user-1");
    assert_eq!(reply.body["method"], "jwt");
    assert_eq!(
        reply.body["permissions"],
        json!(["tasks:list", "dlq:read", "dlq:update", "dlq:stats"])
    );
}

#[tokio::test]
async fn es256_es384_and_eddsa_tokens_are_accepted() {
    for keys in [ec256(), ec384(), ed25519()] {
        let reply = get_tasks(
            &service_for(keys),
            bearer(&token(keys, &claims(&["tasks:list"]))),
        )
        .await;
        assert_accepted(&reply, "user-1");
    }
}

#[tokio::test]
async fn several_rsa_algorithms_share_one_key() {
    let mut config = config_for(rsa());
    config.jwt_allowed_algorithms = vec!["RS256".into(), "PS256".into(), "RS512".into()];
    let service = SecurityService::from_config(&config).unwrap();
    for alg in [Algorithm::PS256, Algorithm::RS512] {
        let header = json!({"alg": alg_name(alg)}).to_string();
        let t = sign_raw(
            &header,
            &claims(&["tasks:list"]).to_string(),
            &rsa().encoding,
            alg,
        );
        assert_accepted(&get_tasks(&service, bearer(&t)).await, "user-1");
    }
}

#[tokio::test]
async fn lowercase_and_uppercase_scheme_are_accepted() {
    let t = token(rsa(), &claims(&["tasks:list"]));
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("{scheme} {t}").parse().unwrap(),
        );
        assert_accepted(&get_tasks(&rsa_service(), headers).await, "user-1");
    }
}

#[tokio::test]
async fn expired_inside_leeway_is_accepted() {
    let mut c = claims(&["tasks:list"]);
    c["exp"] = json!(now() - 10);
    assert_accepted(
        &get_tasks(&rsa_service(), bearer(&token(rsa(), &c))).await,
        "user-1",
    );
}

#[tokio::test]
async fn aud_array_containing_audience_is_accepted() {
    let mut c = claims(&["tasks:list"]);
    c["aud"] = json!(["other-api", AUDIENCE]);
    assert_accepted(
        &get_tasks(&rsa_service(), bearer(&token(rsa(), &c))).await,
        "user-1",
    );
}

#[tokio::test]
async fn fractional_numeric_dates_are_accepted() {
    let mut c = claims(&["tasks:list"]);
    c["exp"] = json!(now() as f64 + 600.5);
    c["iat"] = json!(now() as f64 - 0.25);
    assert_accepted(
        &get_tasks(&rsa_service(), bearer(&token(rsa(), &c))).await,
        "user-1",
    );
}

#[tokio::test]
async fn kid_and_unknown_header_fields_are_ignored_with_a_static_key() {
    let t = token_with(
        rsa(),
        json!({"kid": "whatever", "x5t": "abc", "cty": "JWT"}),
        &claims(&["tasks:list"]),
    );
    assert_accepted(&get_tasks(&rsa_service(), bearer(&t)).await, "user-1");
}

#[tokio::test]
async fn scope_string_claim_grants_permissions() {
    let mut config = config_for(rsa());
    config.permissions_claim = "scope".into();
    let service = SecurityService::from_config(&config).unwrap();
    let mut c = claims(&[]);
    c["scope"] = json!("openid tasks:list profile");
    let reply = get_tasks(&service, bearer(&token(rsa(), &c))).await;
    assert_accepted(&reply, "user-1");
    assert_eq!(reply.body["permissions"], json!(["tasks:list"]));
}

/// A Keycloak access token (`scope` string) and an Okta one (`scp` array) carry the OpenID
/// Connect scope values next to the API's: strict mode skips those, and still refuses any other
/// unknown string.
#[tokio::test]
async fn oidc_scope_values_are_skipped_in_strict_mode() {
    for (claim, granted, other) in [
        (
            "scope",
            json!("openid profile email address phone offline_access tasks:list"),
            json!("openid profile tasks:list tasks:fly"),
        ),
        (
            "scp",
            json!(["openid", "profile", "email", "offline_access", "tasks:list"]),
            json!(["openid", "tasks:list", "groups"]),
        ),
    ] {
        let mut config = config_for(rsa());
        config.permissions_claim = claim.into();
        let service = SecurityService::from_config(&config).unwrap();
        let mut c = claims(&[]);
        c[claim] = granted;
        let reply = get_tasks(&service, bearer(&token(rsa(), &c))).await;
        assert_accepted(&reply, "user-1");
        assert_eq!(reply.body["permissions"], json!(["tasks:list"]), "{claim}");
        c[claim] = other;
        assert_refused(
            &get_tasks(&service, bearer(&token(rsa(), &c))).await,
            "invalid",
        );
        // Lax mode ignores the unknown string too.
        config.strict_validation = false;
        let lenient = SecurityService::from_config(&config).unwrap();
        let reply = get_tasks(&lenient, bearer(&token(rsa(), &c))).await;
        assert_accepted(&reply, "user-1");
        assert_eq!(reply.body["permissions"], json!(["tasks:list"]), "{claim}");
    }
    // In a `permissions` claim `openid` is no scope value: strict mode refuses it.
    refused_token(&token(rsa(), &claims(&["openid", "tasks:list"])), "invalid").await;
}

#[tokio::test]
async fn unknown_permission_is_ignored_when_not_strict() {
    let mut config = config_for(rsa());
    config.strict_validation = false;
    let service = SecurityService::from_config(&config).unwrap();
    let reply = get_tasks(
        &service,
        bearer(&token(rsa(), &claims(&["tasks:list", "tasks:fly"]))),
    )
    .await;
    assert_accepted(&reply, "user-1");
    assert_eq!(reply.body["permissions"], json!(["tasks:list"]));
}

#[tokio::test]
async fn bare_star_when_not_strict_grants_nothing_so_route_is_forbidden() {
    let mut config = config_for(rsa());
    config.strict_validation = false;
    let service = SecurityService::from_config(&config).unwrap();
    let reply = get_tasks(&service, bearer(&token(rsa(), &claims(&["*"])))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "forbidden");
    assert_eq!(reply.body["error"]["required_permission"], "tasks:list");
    assert_eq!(
        reply.headers.get(header::WWW_AUTHENTICATE).unwrap(),
        r#"Bearer error="insufficient_scope", scope="tasks:list""#
    );
}

#[tokio::test]
async fn api_key_is_accepted_as_its_description() {
    let reply = get_tasks(&rsa_service(), api_key(READER_KEY)).await;
    assert_accepted(&reply, "ci-reader");
    assert_eq!(reply.body["method"], "api_key");
    assert_eq!(
        reply.body["permissions"],
        json!(["tasks:read", "tasks:list"])
    );
}

#[tokio::test]
async fn api_key_configured_by_sha256_is_accepted() {
    let reply = get_tasks(&rsa_service(), api_key(ADMIN_KEY_PLAIN)).await;
    assert_accepted(&reply, "admin-by-hash");
}

#[tokio::test]
async fn authenticated_without_permission_is_403() {
    let t = token(rsa(), &claims(&["tasks:read"]));
    let reply = get_tasks(&rsa_service(), bearer(&t)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["error"]["code"], "AUTHORIZATION_FAILED");
    assert_eq!(reply.reason(), "forbidden");
    assert_eq!(
        reply.headers.get("x-auth-failure-reason").unwrap(),
        "forbidden"
    );
}

#[tokio::test]
async fn disabled_service_gives_full_access_context() {
    let service = SecurityService::from_config(&AuthConfig::default()).unwrap();
    assert!(!service.is_enabled());
    let reply = get_tasks(&service, HeaderMap::new()).await;
    assert_accepted(&reply, "anonymous");
    assert_eq!(reply.body["method"], "disabled");
    assert_eq!(reply.body["permissions"].as_array().unwrap().len(), 17);
    // Even garbage credentials are ignored when auth is off.
    let reply = get_tasks(&service, bearer("garbage")).await;
    assert_accepted(&reply, "anonymous");
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_without_credentials() {
    let service = rsa_service();
    let reply = send_to(app(&service), "GET", "/v1/nope", HeaderMap::new()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = send_to(app(&service), "DELETE", "/v1/tasks", HeaderMap::new()).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    let reply = send_to(app(&service), "GET", "/health", bearer("garbage")).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn authenticate_api_matches_the_middleware() {
    let service = rsa_service();
    let ctx = service
        .authenticate(&bearer(&token(rsa(), &claims(&["tasks:list"]))))
        .await
        .unwrap();
    assert_eq!(ctx.subject(), "user-1");
    let err = service.authenticate(&bearer("a.b")).await.unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed");
}

// ---------------------------------------------------------------- missing

#[tokio::test]
async fn no_credentials_is_missing() {
    refused(HeaderMap::new(), "missing").await;
}

#[tokio::test]
async fn basic_scheme_is_missing() {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
    refused(headers, "missing").await;
}

// ---------------------------------------------------------------- malformed

#[tokio::test]
async fn empty_bearer_is_malformed() {
    for value in ["Bearer", "Bearer ", "Bearer    "] {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        refused(headers, "malformed").await;
    }
}

#[tokio::test]
async fn token_of_20_kb_is_malformed() {
    refused_token(&"a".repeat(20 * 1024), "malformed").await;
}

#[tokio::test]
async fn token_just_over_8_kib_is_malformed_even_if_well_signed() {
    let mut c = claims(&["tasks:list"]);
    c["padding"] = json!("x".repeat(6200));
    let t = token(rsa(), &c);
    assert!(t.len() > 8 * 1024, "{}", t.len());
    refused_token(&t, "malformed").await;
}

#[tokio::test]
async fn oversized_credentials_are_refused_before_parsing() {
    let service = rsa_service();
    // The log detail says why: the size, not a parse error.
    let err = service
        .authenticate(&bearer(&"a.b.c".repeat(2000)))
        .await
        .unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed");
    assert!(err.to_string().contains("8 KiB"), "{err}");
    // API keys too.
    let reply = get_tasks(&service, api_key(&"k".repeat(9 * 1024))).await;
    assert_refused(&reply, "malformed");
    // Exactly 8 KiB of token is still parsed (and here refused for its content).
    let err = service
        .authenticate(&bearer(&"a".repeat(8 * 1024)))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("8 KiB"), "{err}");
}

#[tokio::test]
async fn non_utf8_authorization_header_is_malformed() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_bytes(b"Bearer \xff\xfe.abc.def").unwrap(),
    );
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn non_utf8_api_key_is_malformed() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-api-key",
        HeaderValue::from_bytes(b"key-\xe9-0123456789abcdef").unwrap(),
    );
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn two_authorization_headers_are_malformed() {
    let t = token(rsa(), &claims(&["tasks:list"]));
    let mut headers = bearer(&t);
    headers.append(
        header::AUTHORIZATION,
        format!("Bearer {t}").parse().unwrap(),
    );
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn bearer_and_api_key_together_are_malformed() {
    let mut headers = bearer(&token(rsa(), &claims(&["tasks:list"])));
    headers.insert("x-api-key", READER_KEY.parse().unwrap());
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn two_api_key_headers_are_malformed() {
    let mut headers = api_key(READER_KEY);
    headers.append("x-api-key", READER_KEY.parse().unwrap());
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn empty_api_key_is_malformed() {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static(""));
    refused(headers, "malformed").await;
}

#[tokio::test]
async fn token_without_three_parts_is_malformed() {
    for t in ["abc", "abc.def", "a.b.c.d", "..", ".e30.sig"] {
        refused_token(t, "malformed").await;
    }
}

#[tokio::test]
async fn non_base64url_token_is_malformed() {
    refused_token("eyJh+GciOi.e30.sig", "malformed").await;
    refused_token("eyJhbGciOiJSUzI1NiJ9.e30=.c2ln", "malformed").await;
}

#[tokio::test]
async fn header_that_is_not_json_is_malformed() {
    let t = format!("{}.{}.c2ln", b64("not json"), b64("{}"));
    refused_token(&t, "malformed").await;
    let t = format!("{}.{}.c2ln", b64(r#"{"typ":"JWT"}"#), b64("{}"));
    refused_token(&t, "malformed").await;
}

/// A JOSE header must be a JSON object: an array read by position (`alg` first, or `typ` then
/// `alg` as jsonwebtoken's field order has it) is malformed even when the signature holds.
#[tokio::test]
async fn header_that_is_a_json_array_is_malformed() {
    let payload = claims(&["tasks:list"]).to_string();
    for header in [r#"["RS256"]"#, r#"["JWT","RS256"]"#, r#""RS256""#, "null"] {
        let t = sign_raw(header, &payload, &rsa().encoding, Algorithm::RS256);
        refused_token(&t, "malformed").await;
    }
}

/// In JWKS mode `["ES256","kid"]` was read as `alg` and `kid`.
#[tokio::test]
async fn header_that_is_a_json_array_is_malformed_with_a_key_set() {
    let pair = tasker_auth::keys::KeyPair::from_private_pem(&ec256().private_pem).unwrap();
    let store =
        tasker_auth::JwksKeyStore::from_jwks_json(&pair.jwks_json(), &[Algorithm::ES256]).unwrap();
    let mut config = config_for(ec256());
    config.jwt_public_key.clear();
    let service = SecurityService::from_config_with_key_store(&config, store).unwrap();
    let payload = claims(&["tasks:list"]).to_string();
    let good = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, pair.kid());
    let t = sign_raw(&good, &payload, &ec256().encoding, Algorithm::ES256);
    assert_accepted(&get_tasks(&service, bearer(&t)).await, "user-1");
    let array = format!(r#"["ES256","{}"]"#, pair.kid());
    let t = sign_raw(&array, &payload, &ec256().encoding, Algorithm::ES256);
    assert_refused(&get_tasks(&service, bearer(&t)).await, "malformed");
}

#[tokio::test]
async fn header_member_of_the_wrong_type_or_twice_is_malformed() {
    let payload = claims(&["tasks:list"]).to_string();
    for header in [
        r#"{"alg":"RS256","typ":5}"#,
        r#"{"alg":"RS256","typ":null}"#,
        r#"{"alg":"RS256","kid":5}"#,
        r#"{"alg":"RS256","cty":[]}"#,
        r#"{"alg":"RS256","zip":true}"#,
        r#"{"alg":"RS256","nonce":1}"#,
        r#"{"alg":"RS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"RS256","alg":"RS256"}"#,
    ] {
        let t = sign_raw(header, &payload, &rsa().encoding, Algorithm::RS256);
        refused_token(&t, "malformed").await;
    }
}

#[tokio::test]
async fn signed_payload_that_is_not_an_object_is_malformed() {
    for payload in [
        r#"["user-1"]"#.to_owned(),
        r#""claims""#.to_owned(),
        "null".to_owned(),
        "5".to_owned(),
        format!(r#"[{}]"#, claims(&["tasks:list"])),
    ] {
        let t = sign_raw(
            r#"{"alg":"RS256"}"#,
            &payload,
            &rsa().encoding,
            Algorithm::RS256,
        );
        refused_token(&t, "malformed").await;
    }
}

#[tokio::test]
async fn signed_payload_that_is_not_json_is_malformed() {
    let t = sign_raw(
        r#"{"alg":"RS256"}"#,
        "not json",
        &rsa().encoding,
        Algorithm::RS256,
    );
    refused_token(&t, "malformed").await;
}

// ---------------------------------------------------------------- invalid: algorithm and key

#[tokio::test]
async fn alg_none_is_invalid() {
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&["tasks:list"]).to_string())
    );
    refused_token(&unsigned, "invalid").await;
    let with_sig = format!("{unsigned}c2lnbmF0dXJl");
    refused_token(&with_sig, "invalid").await;
    let capital = format!(
        "{}.{}.",
        b64(r#"{"alg":"None"}"#),
        b64(claims(&["tasks:list"]).to_string())
    );
    refused_token(&capital, "invalid").await;
}

#[tokio::test]
async fn hs256_signed_with_the_public_pem_is_invalid() {
    let secret = EncodingKey::from_secret(rsa().public_pem.as_bytes()).unwrap();
    let t = sign_raw(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims(&["tasks:list"]).to_string(),
        &secret,
        Algorithm::HS256,
    );
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn algorithm_outside_the_allowed_list_is_invalid() {
    let t = sign_raw(
        r#"{"alg":"RS384"}"#,
        &claims(&["tasks:list"]).to_string(),
        &rsa().encoding,
        Algorithm::RS384,
    );
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn token_of_another_key_type_is_invalid() {
    refused_token(&token(ec256(), &claims(&["tasks:list"])), "invalid").await;
    refused_token(&token(ed25519(), &claims(&["tasks:list"])), "invalid").await;
}

#[tokio::test]
async fn token_signed_by_a_foreign_key_is_invalid() {
    refused_token(&token(rsa_foreign(), &claims(&["tasks:list"])), "invalid").await;
}

#[tokio::test]
async fn tampered_header_is_invalid() {
    let t = token(rsa(), &claims(&["tasks:list"]));
    let (_, rest) = t.split_once('.').unwrap();
    let forged = format!("{}.{rest}", b64(r#"{"alg":"RS256","typ":"JWT","kid":"x"}"#));
    refused_token(&forged, "invalid").await;
}

#[tokio::test]
async fn tampered_payload_is_invalid() {
    let t = token(rsa(), &claims(&["tasks:read"]));
    let parts: Vec<&str> = t.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims(&["tasks:*"]).to_string()),
        parts[2]
    );
    refused_token(&forged, "invalid").await;
}

#[tokio::test]
async fn tampered_signature_is_invalid() {
    let t = token(rsa(), &claims(&["tasks:list"]));
    let mut bytes = t.into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    refused_token(&String::from_utf8(bytes).unwrap(), "invalid").await;
}

#[tokio::test]
async fn forged_expired_token_is_invalid_not_expired() {
    let mut c = claims(&["tasks:list"]);
    c["exp"] = json!(now() - 3600);
    refused_token(&token(rsa_foreign(), &c), "invalid").await;
}

// ---------------------------------------------------------------- invalid: header fields

#[tokio::test]
async fn embedded_jwk_is_invalid() {
    // The attacker signs with their own key and offers it in the header.
    let jwk = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let t = token_with(rsa_foreign(), json!({"jwk": jwk}), &claims(&["tasks:list"]));
    refused_token(&t, "invalid").await;
    // Even a token signed by the right key is refused when it carries a jwk.
    let t = token_with(rsa(), json!({"jwk": jwk}), &claims(&["tasks:list"]));
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn jku_header_is_invalid() {
    let t = token_with(
        rsa(),
        json!({"jku": "https://attacker.example/jwks.json"}),
        &claims(&["tasks:list"]),
    );
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn x5u_and_x5c_headers_are_invalid() {
    let t = token_with(
        rsa(),
        json!({"x5u": "https://attacker.example/cert.pem"}),
        &claims(&["tasks:list"]),
    );
    refused_token(&t, "invalid").await;
    let t = token_with(rsa(), json!({"x5c": ["MIIB"]}), &claims(&["tasks:list"]));
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn unknown_crit_is_invalid() {
    let t = token_with(
        rsa(),
        json!({"crit": ["exp-ext"], "exp-ext": 1}),
        &claims(&["tasks:list"]),
    );
    refused_token(&t, "invalid").await;
    let t = token_with(rsa(), json!({"crit": []}), &claims(&["tasks:list"]));
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn unencoded_payload_b64_false_is_invalid() {
    let t = token_with(
        rsa(),
        json!({"b64": false, "crit": ["b64"]}),
        &claims(&["tasks:list"]),
    );
    refused_token(&t, "invalid").await;
}

// ---------------------------------------------------------------- invalid / expired: claims

// ---------------------------------------------------------------- typ

#[tokio::test]
async fn default_allowed_types_accept_jwt_at_jwt_and_no_typ() {
    let c = claims(&["tasks:list"]);
    let payload = c.to_string();
    for header in [
        r#"{"alg":"RS256"}"#,
        r#"{"alg":"RS256","typ":"JWT"}"#,
        r#"{"alg":"RS256","typ":"jwt"}"#,
        r#"{"alg":"RS256","typ":"at+jwt"}"#,
        r#"{"alg":"RS256","typ":"application/at+JWT"}"#,
    ] {
        let t = sign_raw(header, &payload, &rsa().encoding, Algorithm::RS256);
        assert_accepted(&get_tasks(&rsa_service(), bearer(&t)).await, "user-1");
    }
}

#[tokio::test]
async fn typ_outside_the_allowed_types_is_invalid() {
    for typ in ["JWE", "dpop+jwt", "", "application/", "text/jwt", "JWT "] {
        let t = token_with(rsa(), json!({ "typ": typ }), &claims(&["tasks:list"]));
        refused_token(&t, "invalid").await;
    }
}

/// `jwt_allowed_types = ["at+jwt"]`: RFC 9068 access tokens only.
#[tokio::test]
async fn at_jwt_only_refuses_other_types_and_no_typ() {
    let mut config = config_for(rsa());
    config.jwt_allowed_types = vec!["at+jwt".into()];
    let service = SecurityService::from_config(&config).unwrap();
    let c = claims(&["tasks:list"]);
    for (typ, accepted) in [
        (json!("at+jwt"), true),
        (json!("application/at+jwt"), true),
        (json!("JWT"), false),
    ] {
        let t = token_with(rsa(), json!({ "typ": typ }), &c);
        let reply = get_tasks(&service, bearer(&t)).await;
        if accepted {
            assert_accepted(&reply, "user-1");
        } else {
            assert_refused(&reply, "invalid");
        }
    }
    let t = sign_raw(
        r#"{"alg":"RS256"}"#,
        &c.to_string(),
        &rsa().encoding,
        Algorithm::RS256,
    );
    assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
}

/// The verified-token cache does not get around the check: a refusal is never cached, and a
/// changed list is a new service, with a new cache.
#[tokio::test]
async fn typ_check_holds_with_the_token_cache() {
    let config = config_for(rsa());
    assert!(config.jwt_cache_max_entries > 0);
    let service = SecurityService::from_config(&config).unwrap();
    let c = claims(&["tasks:list"]);
    let jwe = token_with(rsa(), json!({"typ": "JWE"}), &c);
    for _ in 0..2 {
        assert_refused(&get_tasks(&service, bearer(&jwe)).await, "invalid");
    }
    let jwt = token(rsa(), &c);
    for _ in 0..2 {
        assert_accepted(&get_tasks(&service, bearer(&jwt)).await, "user-1");
    }
    let stats = service.token_cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 3));
    let mut at_jwt_only = config.clone();
    at_jwt_only.jwt_allowed_types = vec!["at+jwt".into()];
    let reloaded = SecurityService::from_config(&at_jwt_only).unwrap();
    assert_refused(&get_tasks(&reloaded, bearer(&jwt)).await, "invalid");
}

#[tokio::test]
async fn expired_beyond_leeway_is_expired() {
    let mut c = claims(&["tasks:list"]);
    c["exp"] = json!(now() - 120);
    refused_token(&token(rsa(), &c), "expired").await;
}

#[tokio::test]
async fn expiry_respects_a_zero_leeway() {
    let mut config = config_for(rsa());
    config.leeway_seconds = 0;
    let service = SecurityService::from_config(&config).unwrap();
    let mut c = claims(&["tasks:list"]);
    c["exp"] = json!(now() - 5);
    assert_refused(
        &get_tasks(&service, bearer(&token(rsa(), &c))).await,
        "expired",
    );
}

#[tokio::test]
async fn nbf_in_the_future_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c["nbf"] = json!(now() + 300);
    refused_token(&token(rsa(), &c), "invalid").await;
    // Inside the leeway it is fine.
    c["nbf"] = json!(now() + 10);
    assert_accepted(
        &get_tasks(&rsa_service(), bearer(&token(rsa(), &c))).await,
        "user-1",
    );
}

#[tokio::test]
async fn iat_in_the_future_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c["iat"] = json!(now() + 300);
    refused_token(&token(rsa(), &c), "invalid").await;
}

#[tokio::test]
async fn wrong_or_missing_issuer_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c["iss"] = json!("someone-else");
    refused_token(&token(rsa(), &c), "invalid").await;
    c.as_object_mut().unwrap().remove("iss");
    refused_token(&token(rsa(), &c), "invalid").await;
}

#[tokio::test]
async fn wrong_or_missing_audience_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c["aud"] = json!("other-api");
    refused_token(&token(rsa(), &c), "invalid").await;
    c["aud"] = json!(["other-api", "third-api"]);
    refused_token(&token(rsa(), &c), "invalid").await;
    c["aud"] = json!(42);
    refused_token(&token(rsa(), &c), "invalid").await;
    c.as_object_mut().unwrap().remove("aud");
    refused_token(&token(rsa(), &c), "invalid").await;
}

#[tokio::test]
async fn missing_or_empty_sub_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c["sub"] = json!("");
    refused_token(&token(rsa(), &c), "invalid").await;
    c.as_object_mut().unwrap().remove("sub");
    refused_token(&token(rsa(), &c), "invalid").await;
}

#[tokio::test]
async fn missing_exp_is_invalid() {
    let mut c = claims(&["tasks:list"]);
    c.as_object_mut().unwrap().remove("exp");
    refused_token(&token(rsa(), &c), "invalid").await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_invalid() {
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("sub", json!(7)),
        ("permissions", json!(12)),
        ("permissions", json!([1, 2])),
    ] {
        let mut c = claims(&["tasks:list"]);
        c[claim] = value;
        refused_token(&token(rsa(), &c), "invalid").await;
    }
}

#[tokio::test]
async fn duplicate_claims_are_invalid() {
    let payload = format!(
        r#"{{"sub":"user-1","sub":"admin","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"permissions":["tasks:list"]}}"#,
        now() + 600
    );
    let t = sign_raw(
        r#"{"alg":"RS256"}"#,
        &payload,
        &rsa().encoding,
        Algorithm::RS256,
    );
    refused_token(&t, "invalid").await;
}

#[tokio::test]
async fn unknown_permission_is_invalid_when_strict() {
    refused_token(
        &token(rsa(), &claims(&["tasks:list", "tasks:fly"])),
        "invalid",
    )
    .await;
}

#[tokio::test]
async fn bare_star_is_invalid_when_strict() {
    refused_token(&token(rsa(), &claims(&["*"])), "invalid").await;
}

// ---------------------------------------------------------------- invalid: API keys

#[tokio::test]
async fn wrong_api_key_is_invalid() {
    refused(api_key("not-a-configured-key-at-all"), "invalid").await;
}

#[tokio::test]
async fn near_identical_api_key_is_invalid() {
    let mut near = READER_KEY.to_owned();
    near.pop();
    near.push('g');
    refused(api_key(&near), "invalid").await;
    refused(api_key(&READER_KEY[..READER_KEY.len() - 1]), "invalid").await;
    refused(api_key(&format!("{READER_KEY}x")), "invalid").await;
}

#[tokio::test]
async fn expired_api_key_is_invalid() {
    refused(api_key(EXPIRED_KEY), "invalid").await;
}

#[tokio::test]
async fn sha256_of_a_key_is_not_itself_a_key() {
    refused(
        api_key(&tasker_auth::hash_api_key(ADMIN_KEY_PLAIN)),
        "invalid",
    )
    .await;
}

#[tokio::test]
async fn api_key_header_is_ignored_when_api_keys_are_disabled() {
    let mut config = config_for(rsa());
    config.api_keys_enabled = false;
    let service = SecurityService::from_config(&config).unwrap();
    assert_refused(&get_tasks(&service, api_key(READER_KEY)).await, "missing");
}

#[tokio::test]
async fn bearer_token_without_a_jwt_verifier_is_invalid() {
    let config = AuthConfig {
        enabled: true,
        api_keys_enabled: true,
        api_keys: api_keys(),
        ..AuthConfig::default()
    };
    let service = SecurityService::from_config(&config).unwrap();
    let t = token(rsa(), &claims(&["tasks:list"]));
    assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    assert_accepted(&get_tasks(&service, api_key(READER_KEY)).await, "ci-reader");
}

#[tokio::test]
async fn custom_api_key_header_is_used() {
    let mut config = config_for(rsa());
    config.api_key_header = "X-Tasker-Key".into();
    let service = SecurityService::from_config(&config).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-tasker-key", READER_KEY.parse().unwrap());
    assert_accepted(&get_tasks(&service, headers).await, "ci-reader");
    assert_refused(&get_tasks(&service, api_key(READER_KEY)).await, "missing");
}

// ---------------------------------------------------------------- secrets stay out

#[test]
fn debug_output_holds_no_key_material() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let service = rsa_service();
    let debug = format!("{service:?}");
    assert!(debug.contains("ci-reader"), "{debug}");
    assert!(!debug.contains(READER_KEY), "{debug}");
    assert!(
        !debug.contains(&tasker_auth::hash_api_key(ADMIN_KEY_PLAIN)),
        "{debug}"
    );
    assert!(!debug.contains("BEGIN"), "{debug}");
    let pem_body: String = rsa().public_pem.lines().nth(1).unwrap().to_owned();
    assert!(!debug.contains(&pem_body), "{debug}");
    let config_debug = format!("{:?}", config_for(rsa()));
    assert!(!config_debug.contains(READER_KEY), "{config_debug}");
    assert!(!config_debug.contains(&pem_body), "{config_debug}");
}

// ---------------------------------------------------------------- JWKS verification

mod jwks {
    use super::*;
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use tasker_auth::JwtVerificationMethod;

    fn jwk(keys: &Keys, kid: &str) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&keys.encoding, keys.alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    }

    /// Serves `set` on a loopback port for the life of the test's runtime.
    async fn serve(set: JwkSet) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let set = set.clone();
                async move { axum::Json(set) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/jwks.json")
    }

    async fn jwks_service() -> SecurityService {
        let url = serve(JwkSet {
            keys: vec![jwk(rsa(), "rsa-1"), jwk(ec256(), "ec-1")],
        })
        .await;
        let config = AuthConfig {
            enabled: true,
            jwt_verification_method: JwtVerificationMethod::Jwks,
            jwks_url: url,
            jwks_url_allow_http: true,
            jwt_allowed_algorithms: vec!["RS256".into(), "ES256".into()],
            ..AuthConfig::default()
        };
        SecurityService::from_config(&config).unwrap()
    }

    #[tokio::test]
    async fn token_with_a_known_kid_is_accepted() {
        let service = jwks_service().await;
        for (keys, kid) in [(rsa(), "rsa-1"), (ec256(), "ec-1")] {
            let t = token_with(keys, json!({"kid": kid}), &claims(&["tasks:list"]));
            assert_accepted(&get_tasks(&service, bearer(&t)).await, "user-1");
        }
    }

    #[tokio::test]
    async fn unknown_kid_is_invalid() {
        let service = jwks_service().await;
        let t = token_with(rsa(), json!({"kid": "rsa-2"}), &claims(&["tasks:list"]));
        assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    }

    #[tokio::test]
    async fn token_without_kid_is_invalid() {
        let service = jwks_service().await;
        let t = token(rsa(), &claims(&["tasks:list"]));
        assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    }

    #[tokio::test]
    async fn kid_of_another_key_type_is_invalid() {
        let service = jwks_service().await;
        // Signed by the RSA key but pointing at the EC key.
        let t = token_with(rsa(), json!({"kid": "ec-1"}), &claims(&["tasks:list"]));
        assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    }

    #[tokio::test]
    async fn foreign_key_with_a_known_kid_is_invalid() {
        let service = jwks_service().await;
        let t = token_with(
            rsa_foreign(),
            json!({"kid": "rsa-1"}),
            &claims(&["tasks:list"]),
        );
        assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    }

    #[tokio::test]
    async fn malformed_token_is_refused_before_any_key_lookup() {
        let service = jwks_service().await;
        assert_refused(&get_tasks(&service, bearer("not.a")).await, "malformed");
        assert_refused(&get_tasks(&service, HeaderMap::new()).await, "missing");
    }

    #[tokio::test]
    async fn expired_token_with_known_kid_is_expired() {
        let service = jwks_service().await;
        let mut c = claims(&["tasks:list"]);
        c["exp"] = json!(now() - 600);
        let t = token_with(rsa(), json!({"kid": "rsa-1"}), &c);
        assert_refused(&get_tasks(&service, bearer(&t)).await, "expired");
    }

    #[tokio::test]
    async fn http_jwks_url_without_allow_http_is_a_startup_error() {
        let config = AuthConfig {
            enabled: true,
            jwt_verification_method: JwtVerificationMethod::Jwks,
            jwks_url: "http://127.0.0.1:9/jwks.json".into(),
            ..AuthConfig::default()
        };
        let err = SecurityService::from_config(&config).unwrap_err();
        assert_eq!(err.key(), Some("web.auth.jwks_url"), "{err}");
    }

    #[tokio::test]
    async fn key_store_read_from_a_file_verifies_tokens() {
        let set = JwkSet {
            keys: vec![jwk(ed25519(), "ed-1")],
        };
        let store = tasker_auth::JwksKeyStore::from_jwks_json(
            &serde_json::to_string(&set).unwrap(),
            &[Algorithm::EdDSA],
        )
        .unwrap();
        let config = AuthConfig {
            enabled: true,
            jwt_allowed_algorithms: vec!["EdDSA".into()],
            ..AuthConfig::default()
        };
        let service = SecurityService::from_config_with_key_store(&config, store).unwrap();
        let t = token_with(ed25519(), json!({"kid": "ed-1"}), &claims(&["tasks:list"]));
        assert_accepted(&get_tasks(&service, bearer(&t)).await, "user-1");
        let t = token_with(ed25519(), json!({"kid": "ed-2"}), &claims(&["tasks:list"]));
        assert_refused(&get_tasks(&service, bearer(&t)).await, "invalid");
    }
}
