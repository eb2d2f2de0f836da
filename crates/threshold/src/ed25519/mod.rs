//! Threshold Ed25519 signing: FROST(Ed25519, SHA-512), RFC 9591, through
//! frost-ed25519, with participants named by their custodian index `1..=n`.
//!
//! The signatures are ordinary RFC 8032 Ed25519 signatures under the group's
//! public key ([`GroupKey::verifying_key_bytes`]); they pass
//! `ed25519-dalek`'s `verify_strict`.
//!
//! # Keys
//!
//! * [`deal`]: a trusted dealer (the coordinator, in memory, for one
//!   moment) draws the key, splits it with Feldman VSS (RFC 9591,
//!   Appendix C) and hands out one [`DealtShare`] per custodian. Each
//!   custodian checks its share against the dealer's commitment with
//!   [`KeyShare::from_dealt`] before acknowledging it.
//! * [`crate::dkg`] with [`crate::dkg::Ed25519`]: distributed key
//!   generation; the key never exists anywhere.
//!
//! # Signing (RFC 9591, Section 5)
//!
//! 1. Round one: each signer calls [`commit`] (or pre-generates a
//!    [`NonceBatch`]) and publishes the [`SigningCommitments`]; the secret
//!    [`SigningNonces`] stay with it.
//! 2. The coordinator builds a [`SigningPackage`] from the message and the
//!    commitments of at least `t` signers.
//! 3. Round two: each signer checks the message (its own policy) and calls
//!    [`sign`], which **consumes** its nonces, giving a [`SignatureShare`].
//! 4. The coordinator checks shares as they arrive with [`verify_share`] and
//!    calls [`aggregate`]; an invalid share is reported as
//!    [`Error::InvalidSignatureShare`](crate::Error::InvalidSignatureShare)
//!    naming its sender.
//!
//! # Nonce reuse
//!
//! Signing twice with the same nonces and different messages or signer sets
//! reveals the signer's key share. Here [`SigningNonces`] is not `Clone`,
//! cannot be built from bytes, and [`sign`] takes it by value, so through
//! this API one nonce pair signs at most once:
//!
//! ```compile_fail,E0382
//! # use symbolon_threshold::ed25519::*;
//! # fn f(share: &KeyShare, nonces: SigningNonces, p: &SigningPackage) {
//! let first = sign(share, nonces, p);
//! let second = sign(share, nonces, p); // error[E0382]: use of moved value
//! # }
//! ```
//!
//! Nonces persist only inside a [`NonceBatch`], from which
//! [`NonceBatch::take`] removes them. The one hazard left is storage: a
//! custodian must durably write the batch *without* the taken nonces before
//! it releases a signature share, and never load an older copy of a batch
//! it has taken from (see [`NonceBatch`]).

mod keys;
mod sign;

pub use keys::{DealtShare, GroupKey, KeyShare, deal};
pub use sign::{
    NonceBatch, Signature, SignatureShare, SigningCommitments, SigningNonces, SigningPackage,
    aggregate, commit, sign, verify_share,
};

/// The frost-core ciphersuite behind this module.
pub(crate) type Suite = frost_ed25519::Ed25519Sha512;
