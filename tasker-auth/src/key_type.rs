//! What kind of key a DER document holds, read from its `AlgorithmIdentifier` with a DER parser
//! (simple_asn1, the one jsonwebtoken reads PEM keys with) rather than by searching the bytes.
//!
//! Only the type is decided here; the key itself is then parsed and checked by aws-lc-rs with the
//! matching algorithm, which rejects whatever is corrupt or too small.

use simple_asn1::{ASN1Block, OID, oid};

/// The key types this crate can verify or sign with, or what else was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// `rsaEncryption` (1.2.840.113549.1.1.1).
    Rsa,
    /// `id-ecPublicKey` on P-256 (`prime256v1`).
    EcP256,
    /// `id-ecPublicKey` on P-384 (`secp384r1`).
    EcP384,
    /// `id-ecPublicKey` on another or an unnamed curve.
    EcOtherCurve,
    /// `id-Ed25519` (1.3.101.112).
    Ed25519,
    /// Another algorithm (DSA, X25519, Ed448, ...).
    Other,
}

impl KeyType {
    /// A name for messages: `RSA`, `EC P-256`, ...
    pub(crate) const fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::EcP256 => "EC P-256",
            KeyType::EcP384 => "EC P-384",
            KeyType::EcOtherCurve => "EC",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Other => "unsupported",
        }
    }
}

/// The type of a PKCS#8 `PrivateKeyInfo` (RFC 5208: version, algorithm, key), or `None` when
/// the document is not one.
#[cfg(feature = "keys")]
pub(crate) fn of_pkcs8(der: &[u8]) -> Option<KeyType> {
    match simple_asn1::from_der(der).ok()?.as_slice() {
        [ASN1Block::Sequence(_, fields)] => match fields.as_slice() {
            [
                ASN1Block::Integer(..),
                ASN1Block::Sequence(_, algorithm),
                ASN1Block::OctetString(..),
                ..,
            ] => Some(of_algorithm(algorithm)),
            _ => None,
        },
        _ => None,
    }
}

/// The type of an X.509 `SubjectPublicKeyInfo` (RFC 5280: algorithm, key), or `None` when the
/// document is not one.
pub(crate) fn of_spki(der: &[u8]) -> Option<KeyType> {
    match simple_asn1::from_der(der).ok()?.as_slice() {
        [ASN1Block::Sequence(_, fields)] => match fields.as_slice() {
            [ASN1Block::Sequence(_, algorithm), ASN1Block::BitString(..)] => {
                Some(of_algorithm(algorithm))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Reads an `AlgorithmIdentifier`: the algorithm OID and, for EC keys, the named curve.
fn of_algorithm(algorithm: &[ASN1Block]) -> KeyType {
    let oid = |block: Option<&ASN1Block>| match block {
        Some(ASN1Block::ObjectIdentifier(_, oid)) => Some(oid.clone()),
        _ => None,
    };
    let Some(id) = oid(algorithm.first()) else {
        return KeyType::Other;
    };
    if id == rsa_encryption() {
        KeyType::Rsa
    } else if id == oid!(1, 3, 101, 112) {
        KeyType::Ed25519
    } else if id == oid!(1, 2, 840, 10045, 2, 1) {
        match oid(algorithm.get(1)) {
            Some(curve) if curve == oid!(1, 2, 840, 10045, 3, 1, 7) => KeyType::EcP256,
            Some(curve) if curve == oid!(1, 3, 132, 0, 34) => KeyType::EcP384,
            _ => KeyType::EcOtherCurve,
        }
    } else {
        KeyType::Other
    }
}

fn rsa_encryption() -> OID {
    oid!(1, 2, 840, 113549, 1, 1, 1)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self, KeyPair as _};

    use super::*;

    #[test]
    fn public_keys_are_recognised() {
        let ec =
            signature::EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        assert_eq!(
            of_spki(ec.public_key().as_der().unwrap().as_ref()),
            Some(KeyType::EcP384)
        );
        let ed = signature::Ed25519KeyPair::generate().unwrap();
        assert_eq!(
            of_spki(ed.public_key().as_der().unwrap().as_ref()),
            Some(KeyType::Ed25519)
        );
        assert_eq!(of_spki(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
        // A well-formed SPKI whose algorithm is DSA (1.2.840.10040.4.1).
        let dsa = [
            0x30, 0x0f, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01, 0x03,
            0x02, 0x00, 0x00,
        ];
        assert_eq!(of_spki(&dsa), Some(KeyType::Other));
    }

    #[cfg(feature = "keys")]
    #[test]
    fn private_keys_are_recognised() {
        let ec =
            signature::EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        assert_eq!(
            of_pkcs8(ec.to_pkcs8v1().unwrap().as_ref()),
            Some(KeyType::EcP384)
        );
        let ed = signature::Ed25519KeyPair::generate().unwrap();
        assert_eq!(
            of_pkcs8(ed.to_pkcs8v1().unwrap().as_ref()),
            Some(KeyType::Ed25519)
        );
        assert_eq!(of_pkcs8(b""), None);
        assert_eq!(of_pkcs8(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
    }
}
