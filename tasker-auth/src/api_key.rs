//! API keys: hashing (and, on the `auth` branch, the registry).

/// The lowercase hex SHA-256 of an API key: the `key_sha256` form of `[[web.auth.api_keys]]`,
/// which keeps the plaintext out of configuration files.
///
/// # Example
///
/// ```
/// assert_eq!(
///     tasker_auth::hash_api_key("abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn hash_api_key(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
