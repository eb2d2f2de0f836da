//! The signature encodings `symbolon sign` writes and `symbolon verify`
//! reads, and the checks `verify` runs.
//!
//! A threshold `ed25519` key signs plain RFC 8032 Ed25519 (§5.1.6): the
//! 64-byte signature is written raw, as hex or as base64 (one line). The
//! `ssh` format is OpenSSH's SSHSIG (`PROTOCOL.sshsig` in the OpenSSH
//! sources): the key signs the blob
//!
//! ```text
//! "SSHSIG" ‖ string(namespace) ‖ string("") ‖ string("sha512") ‖ string(SHA-512(message))
//! ```
//!
//! and the signature travels in the armored envelope
//! `-----BEGIN SSH SIGNATURE-----` with the public key, namespace and hash
//! algorithm, which `ssh-keygen -Y verify` checks. Only the 64-byte digest
//! of the message reaches the coordinator then.
//!
//! Verification is `verify_strict` (no small-order keys or `R`, canonical
//! `S`), so a signature that passes here passes every RFC 8032 verifier.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::Digest as _;
use ssh_key::{HashAlg, LineEnding, SshSig};

/// An Ed25519 signature's length.
pub(crate) const SIGNATURE_LEN: usize = 64;
/// The largest signature file read (an SSHSIG armor is about 300 bytes).
pub(crate) const MAX_SIGNATURE_FILE: usize = 16 * 1024;
/// `ssh-keygen -Y sign`'s usual namespace for files.
const DEFAULT_NAMESPACE: &str = "file";
/// The SSHSIG hash algorithm `sign` uses (`ssh-keygen`'s default).
pub(crate) const SSH_HASH: HashAlg = HashAlg::Sha512;
const SSH_ARMOR: &str = "-----BEGIN SSH SIGNATURE-----";

/// How `sign` writes a plain signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainFormat {
    /// The 64 bytes.
    Raw,
    /// 128 lowercase hex digits and a newline.
    Hex,
    /// Standard padded base64 (88 characters) and a newline.
    Base64,
}

/// `signature` encoded as `format`.
pub(crate) fn encode(format: PlainFormat, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
    match format {
        PlainFormat::Raw => signature.to_vec(),
        PlainFormat::Hex => format!("{}\n", hex::encode(signature)).into_bytes(),
        PlainFormat::Base64 => format!("{}\n", BASE64.encode(signature)).into_bytes(),
    }
}

/// Why a signature file cannot be read (as opposed to a signature that is
/// well-formed but does not hold: [`Invalid`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignatureFileError {
    #[error(
        "not a signature: expected 64 raw bytes, 128 hex digits, base64 of 64 bytes or an SSH signature (-----BEGIN SSH SIGNATURE-----); the file has {len} bytes"
    )]
    Unrecognised { len: usize },
    #[error("not a valid SSH signature: {source}")]
    Ssh { source: ssh_key::Error },
    #[error("the SSH signature uses hash algorithm {alg}; this build checks sha256 and sha512")]
    UnsupportedHash { alg: String },
}

/// An SSHSIG namespace: non-empty printable ASCII without spaces
/// (`ssh-keygen` takes any non-empty string; this keeps it one shell
/// word). Checked once, where the argument is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace(String);

/// Why `--namespace` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid SSH signature namespace {namespace:?}: it must be non-empty printable ASCII without spaces"
)]
pub(crate) struct NamespaceError {
    namespace: String,
}

impl Namespace {
    /// The namespace as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Namespace {
    /// `file`, `ssh-keygen -Y sign`'s usual namespace for files.
    fn default() -> Namespace {
        Namespace(DEFAULT_NAMESPACE.to_owned())
    }
}

impl std::str::FromStr for Namespace {
    type Err = NamespaceError;

    fn from_str(text: &str) -> Result<Namespace, NamespaceError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(NamespaceError {
                namespace: text.chars().take(80).collect(),
            });
        }
        Ok(Namespace(text.to_owned()))
    }
}

/// A signature as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureFile {
    /// A plain Ed25519 signature (raw, hex or base64).
    Plain(Signature),
    /// An SSHSIG.
    Ssh(Box<SshSig>),
}

impl SignatureFile {
    /// Recognises the encoding by its form.
    ///
    /// # Errors
    ///
    /// [`SignatureFileError`] naming what is wrong.
    /// The caller bounds the size (files are read within
    /// [`MAX_SIGNATURE_FILE`]).
    pub(crate) fn parse(bytes: &[u8]) -> Result<SignatureFile, SignatureFileError> {
        if let Ok(raw) = <[u8; SIGNATURE_LEN]>::try_from(bytes) {
            return Ok(SignatureFile::Plain(Signature::from_bytes(&raw)));
        }
        let unrecognised = || SignatureFileError::Unrecognised { len: bytes.len() };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| unrecognised())?
            .trim();
        if text.starts_with(SSH_ARMOR) {
            let sig =
                SshSig::from_pem(text).map_err(|source| SignatureFileError::Ssh { source })?;
            return Ok(SignatureFile::Ssh(Box::new(sig)));
        }
        let mut raw = [0u8; SIGNATURE_LEN];
        if text.len() == 2 * SIGNATURE_LEN && hex::decode_to_slice(text, &mut raw).is_ok() {
            return Ok(SignatureFile::Plain(Signature::from_bytes(&raw)));
        }
        match BASE64.decode(text) {
            Ok(decoded) => <[u8; SIGNATURE_LEN]>::try_from(decoded.as_slice())
                .map(|raw| SignatureFile::Plain(Signature::from_bytes(&raw)))
                .map_err(|_| unrecognised()),
            Err(_) => Err(unrecognised()),
        }
    }
}

/// A message digest computed as the message streams by, for SSHSIG.
pub(crate) enum MessageDigest {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl MessageDigest {
    /// A digest with `alg`.
    ///
    /// # Errors
    ///
    /// [`SignatureFileError::UnsupportedHash`] for an algorithm other than
    /// SHA-256 and SHA-512 (`HashAlg` may gain some).
    pub(crate) fn new(alg: HashAlg) -> Result<MessageDigest, SignatureFileError> {
        match alg {
            HashAlg::Sha256 => Ok(MessageDigest::Sha256(sha2::Sha256::new())),
            HashAlg::Sha512 => Ok(MessageDigest::Sha512(sha2::Sha512::new())),
            other => Err(SignatureFileError::UnsupportedHash {
                alg: other.as_str().to_owned(),
            }),
        }
    }

    /// A digest with [`SSH_HASH`], the algorithm `sign` uses.
    pub(crate) fn ssh() -> MessageDigest {
        MessageDigest::Sha512(sha2::Sha512::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            MessageDigest::Sha256(h) => h.update(data),
            MessageDigest::Sha512(h) => h.update(data),
        }
    }

    pub(crate) fn finalize(self) -> Vec<u8> {
        match self {
            MessageDigest::Sha256(h) => h.finalize().to_vec(),
            MessageDigest::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The SSHSIG blob the key signs for a message whose [`SSH_HASH`] digest
/// is `prehash`.
///
/// # Errors
///
/// The encoder's error for a digest of the wrong length.
pub(crate) fn ssh_signed_data(
    namespace: &Namespace,
    prehash: &[u8],
) -> Result<Vec<u8>, ssh_key::Error> {
    SshSig::signed_data_for_prehash(namespace.as_str(), SSH_HASH, prehash)
}

/// The armored SSHSIG (with a final newline) for `signature`, made by `key`
/// over [`ssh_signed_data`]`(namespace, …)`.
///
/// # Errors
///
/// The encoder's error (it has none for an Ed25519 signature).
pub(crate) fn ssh_armor(
    key: &VerifyingKey,
    namespace: &Namespace,
    signature: &[u8; SIGNATURE_LEN],
) -> Result<String, ssh_key::Error> {
    let public =
        ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(key.to_bytes()));
    let signature = ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, signature.to_vec())?;
    let mut armor = SshSig::new(public, namespace.as_str(), SSH_HASH, signature)
        .and_then(|sig| sig.to_pem(LineEnding::LF))?;
    if !armor.ends_with('\n') {
        armor.push('\n');
    }
    Ok(armor)
}

/// Why a well-formed signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("the signature does not match the message and key {key}")]
    Mismatch { key: String },
    #[error(
        "the SSH signature is for namespace {found:?}, not {expected:?} (pass --namespace {found} if that is the one you mean)"
    )]
    Namespace { expected: String, found: String },
    #[error("the SSH signature was made by key {found}, not by {expected}")]
    OtherKey { expected: String, found: String },
    #[error("the SSH signature is an {found} signature, not ssh-ed25519")]
    Algorithm { found: String },
    #[error("the SSH signature's reserved field is not empty")]
    Reserved,
    #[error("the SSH signature has version {found}; this build checks version 1")]
    Version { found: u32 },
}

/// Checks a plain Ed25519 signature over `message`.
///
/// # Errors
///
/// [`Invalid::Mismatch`] naming the key (hex).
pub(crate) fn check_plain(
    key: &VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), Invalid> {
    key.verify_strict(message, signature)
        .map_err(|_| Invalid::Mismatch {
            key: hex::encode(key.to_bytes()),
        })
}

/// Checks an SSHSIG: version 1, `namespace`, no reserved data, made by
/// `key` with ssh-ed25519, and the signature over the blob for a message
/// whose digest (with the signature's hash algorithm) is `prehash`.
///
/// # Errors
///
/// [`Invalid`] naming the first check that fails.
pub(crate) fn check_ssh(
    key: &VerifyingKey,
    namespace: &Namespace,
    sig: &SshSig,
    prehash: &[u8],
) -> Result<(), Invalid> {
    let namespace = namespace.as_str();
    if sig.version() != SshSig::VERSION {
        return Err(Invalid::Version {
            found: sig.version(),
        });
    }
    if sig.namespace() != namespace {
        return Err(Invalid::Namespace {
            expected: namespace.to_owned(),
            found: sig.namespace().chars().take(80).collect(),
        });
    }
    if !sig.reserved().is_empty() {
        return Err(Invalid::Reserved);
    }
    let expected =
        ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(key.to_bytes()));
    if sig.public_key() != &expected {
        return Err(Invalid::OtherKey {
            expected: expected.fingerprint(HashAlg::Sha256).to_string(),
            found: sig.public_key().fingerprint(HashAlg::Sha256).to_string(),
        });
    }
    if sig.algorithm() != ssh_key::Algorithm::Ed25519 {
        return Err(Invalid::Algorithm {
            found: sig.algorithm().as_str().to_owned(),
        });
    }
    let mismatch = || Invalid::Mismatch {
        key: expected.fingerprint(HashAlg::Sha256).to_string(),
    };
    let raw = <[u8; SIGNATURE_LEN]>::try_from(sig.signature_bytes()).map_err(|_| mismatch())?;
    let blob = SshSig::signed_data_for_prehash(namespace, sig.hash_alg(), prehash)
        .map_err(|_| mismatch())?;
    key.verify_strict(&blob, &Signature::from_bytes(&raw))
        .map_err(|_| mismatch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn signer() -> SigningKey {
        SigningKey::from_bytes(&[9u8; 32])
    }

    fn ns(text: &str) -> Namespace {
        text.parse().unwrap()
    }

    fn digest(alg: HashAlg, message: &[u8]) -> Vec<u8> {
        let mut d = MessageDigest::new(alg).unwrap();
        // In two pieces, as a stream.
        let (a, b) = message.split_at(message.len() / 2);
        d.update(a);
        d.update(b);
        d.finalize()
    }

    fn ssh_sign(key: &SigningKey, namespace: &str, message: &[u8]) -> String {
        let blob = ssh_signed_data(&ns(namespace), &digest(SSH_HASH, message)).unwrap();
        let sig = key.sign(&blob).to_bytes();
        ssh_armor(&key.verifying_key(), &ns(namespace), &sig).unwrap()
    }

    #[test]
    fn plain_encodings_round_trip_and_verify() {
        let key = signer();
        let sig = key.sign(b"message");
        for format in [PlainFormat::Raw, PlainFormat::Hex, PlainFormat::Base64] {
            let bytes = encode(format, &sig.to_bytes());
            let SignatureFile::Plain(parsed) = SignatureFile::parse(&bytes).unwrap() else {
                panic!("{format:?}");
            };
            assert_eq!(parsed, sig);
            assert_eq!(
                check_plain(&key.verifying_key(), b"message", &parsed),
                Ok(())
            );
            assert_eq!(
                check_plain(&key.verifying_key(), b"messagf", &parsed),
                Err(Invalid::Mismatch {
                    key: hex::encode(key.verifying_key().to_bytes())
                })
            );
        }
        assert_eq!(encode(PlainFormat::Hex, &sig.to_bytes()).len(), 129);
        assert_eq!(encode(PlainFormat::Base64, &sig.to_bytes()).len(), 89);
        // Upper-case hex is read too.
        let upper = hex::encode_upper(sig.to_bytes());
        assert!(matches!(
            SignatureFile::parse(upper.as_bytes()),
            Ok(SignatureFile::Plain(s)) if s == sig
        ));
    }

    #[test]
    fn non_canonical_signatures_are_invalid() {
        let key = signer();
        let mut sig = key.sign(b"m").to_bytes();
        // S + ℓ is the same signature modulo ℓ but not canonical: add ℓ
        // (little-endian) to S.
        let ell: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in sig[32..].iter_mut().zip(ell) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert!(check_plain(&key.verifying_key(), b"m", &Signature::from_bytes(&sig)).is_err());
    }

    #[test]
    fn garbage_is_unrecognised() {
        for bad in [
            &b""[..],
            b"abc",
            &[0u8; 63],
            &[0u8; 65],
            "zz".repeat(64).as_bytes(),
            BASE64.encode([1u8; 63]).as_bytes(),
        ] {
            assert_eq!(
                SignatureFile::parse(bad),
                Err(SignatureFileError::Unrecognised { len: bad.len() }),
                "{bad:?}"
            );
        }
        assert!(matches!(
            SignatureFile::parse(
                b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
            ),
            Err(SignatureFileError::Ssh { .. })
        ));
    }

    #[test]
    fn ssh_signatures_round_trip_and_every_field_is_checked() {
        let key = signer();
        let public = key.verifying_key();
        let armor = ssh_sign(&key, "file", b"release.tar.gz contents");
        assert!(
            armor.starts_with("-----BEGIN SSH SIGNATURE-----\n"),
            "{armor}"
        );
        assert!(armor.ends_with("-----END SSH SIGNATURE-----\n"), "{armor}");
        let SignatureFile::Ssh(sig) = SignatureFile::parse(armor.as_bytes()).unwrap() else {
            panic!("not ssh");
        };
        assert_eq!(sig.hash_alg(), HashAlg::Sha512);
        let good = digest(sig.hash_alg(), b"release.tar.gz contents");
        assert_eq!(check_ssh(&public, &ns("file"), &sig, &good), Ok(()));

        let fingerprint =
            ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(public.to_bytes()))
                .fingerprint(HashAlg::Sha256)
                .to_string();
        assert!(fingerprint.starts_with("SHA256:"));
        let other = digest(sig.hash_alg(), b"release.tar.gz content");
        assert_eq!(
            check_ssh(&public, &ns("file"), &sig, &other),
            Err(Invalid::Mismatch {
                key: fingerprint.clone()
            })
        );
        assert_eq!(
            check_ssh(&public, &ns("git"), &sig, &good),
            Err(Invalid::Namespace {
                expected: "git".into(),
                found: "file".into()
            })
        );
        let stranger = SigningKey::from_bytes(&[10u8; 32]).verifying_key();
        assert!(matches!(
            check_ssh(&stranger, &ns("file"), &sig, &good),
            Err(Invalid::OtherKey { found, .. }) if found == fingerprint
        ));

        // The namespace is signed: relabelling the envelope breaks it.
        let blob = ssh_signed_data(&ns("git"), &good).unwrap();
        assert_ne!(blob, ssh_signed_data(&ns("file"), &good).unwrap());
        let relabelled = SshSig::new(
            sig.public_key().clone(),
            "git",
            sig.hash_alg(),
            sig.signature().clone(),
        )
        .unwrap();
        assert!(matches!(
            check_ssh(&public, &ns("git"), &relabelled, &good),
            Err(Invalid::Mismatch { .. })
        ));
        // A SHA-256 SSHSIG (as `ssh-keygen -Y sign -O hashalg=sha256` makes).
        let sha256 = digest(HashAlg::Sha256, b"x");
        let blob = SshSig::signed_data_for_prehash("file", HashAlg::Sha256, &sha256).unwrap();
        let sig256 = SshSig::new(
            sig.public_key().clone(),
            "file",
            HashAlg::Sha256,
            ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, key.sign(&blob).to_vec()).unwrap(),
        )
        .unwrap();
        assert_eq!(check_ssh(&public, &ns("file"), &sig256, &sha256), Ok(()));
    }

    #[test]
    fn namespaces_are_one_printable_word() {
        for ok in ["file", "git", "symbolon@example.com"] {
            assert_eq!(ns(ok).as_str(), ok);
        }
        assert_eq!(Namespace::default().as_str(), "file");
        for bad in ["", "a b", "tab\t", "é"] {
            let err = bad.parse::<Namespace>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid SSH signature namespace {bad:?}: it must be non-empty printable ASCII without spaces"
                )
            );
        }
        assert_eq!(
            ssh_signed_data(&ns("file"), &[0u8; 63]),
            Err(ssh_key::Error::HashSize)
        );
    }

    #[test]
    fn each_hash_algorithm_gets_its_own_digest() {
        // SHA-256 and SHA-512 of "abc" (FIPS 180-2 Appendix B.1 and C.1).
        assert_eq!(
            hex::encode(digest(HashAlg::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            MessageDigest::ssh().finalize().len(),
            SSH_HASH.digest_size()
        );
        assert_eq!(
            hex::encode(digest(HashAlg::Sha512, b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }
}
