//! Loading the static public key of `jwt_public_key_path` / `jwt_public_key`.

use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::key_type::{self, KeyType};

/// A public key, checked by aws-lc-rs, and its type.
pub(super) struct PublicKey {
    /// SubjectPublicKeyInfo, or PKCS#1 `RSAPublicKey` for an `RSA PUBLIC KEY` block: both are
    /// what aws-lc-rs parses for verification.
    pub(super) der: Vec<u8>,
    kind: KeyType,
}

impl PublicKey {
    /// Whether tokens signed with `alg` can be verified with this key.
    pub(super) fn fits(&self, alg: Algorithm) -> bool {
        match self.kind {
            KeyType::Rsa => alg.family() == AlgorithmFamily::Rsa,
            KeyType::EcP256 => alg == Algorithm::ES256,
            KeyType::EcP384 => alg == Algorithm::ES384,
            KeyType::Ed25519 => alg == Algorithm::EdDSA,
            KeyType::EcOtherCurve | KeyType::Other => false,
        }
    }

    /// `RSA`, `EC P-256`, `EC P-384` or `Ed25519`, for messages.
    pub(super) fn kind(&self) -> &'static str {
        self.kind.name()
    }
}

/// Reads one PEM public key (RSA, EC P-256/P-384, Ed25519): its type from the DER structure,
/// then the key itself checked by aws-lc-rs. Error messages describe the problem, never the key
/// material.
pub(super) fn load_public_key(pem_bytes: &[u8]) -> Result<PublicKey, String> {
    if pem_bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the key is empty".to_owned());
    }
    let blocks = pem::parse_many(pem_bytes).map_err(|_| "not a PEM file".to_owned())?;
    let block = match blocks.as_slice() {
        [] => return Err("no PEM block found".to_owned()),
        [one] => one,
        _ => return Err("expected exactly one PEM block (the public key)".to_owned()),
    };
    if block.tag().contains("PRIVATE KEY") {
        return Err(
            "this is a private key: configure the public key (keep the private key secret)"
                .to_owned(),
        );
    }
    let der = block.contents();
    let kind = match block.tag() {
        "RSA PUBLIC KEY" => KeyType::Rsa,
        "PUBLIC KEY" => key_type::of_spki(der).unwrap_or(KeyType::Other),
        _ => KeyType::Other,
    };
    // One algorithm per type suffices: aws-lc-rs checks the key (curve point, RSA size) the same
    // way for every algorithm of a type.
    let check: &'static dyn sig::VerificationAlgorithm = match kind {
        KeyType::Rsa => &sig::RSA_PKCS1_2048_8192_SHA256,
        KeyType::EcP256 => &sig::ECDSA_P256_SHA256_FIXED,
        KeyType::EcP384 => &sig::ECDSA_P384_SHA384_FIXED,
        KeyType::Ed25519 => &sig::ED25519,
        KeyType::EcOtherCurve => {
            return Err("unsupported EC curve (expected P-256 or P-384)".to_owned());
        }
        KeyType::Other => {
            return Err(
                "not a supported public key (expected RSA, EC P-256/P-384 or Ed25519 in PEM)"
                    .to_owned(),
            );
        }
    };
    ParsedPublicKey::new(check, der).map_err(|_| match kind {
        KeyType::Rsa => "the RSA key is invalid or shorter than 2048 bits".to_owned(),
        _ => "the key is invalid".to_owned(),
    })?;
    Ok(PublicKey {
        der: der.to_vec(),
        kind,
    })
}
