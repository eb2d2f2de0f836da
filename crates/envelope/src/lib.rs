#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`identity`] | [`Identity`] (X25519 + Ed25519 secret keys, armored file) and [`Recipient`] (`symbolon1...` bech32m string) |
//! | [`metadata`] | [`Metadata`], [`Scheme`], [`RecipientInfo`], [`share_commitment`] (blinded, [`BLINDING_LEN`]) and the canonical metadata encoding |
//! | crate root | [`Envelope`]: seal, sign, encode, decode, verify, open, armor; [`ShardWriter`], [`EnvelopeHead`], [`PayloadCheck`]: the same clear envelopes written and checked piece by piece |
//!
//! # Standards
//!
//! HPKE: RFC 9180 (base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20-Poly1305). Signatures: Ed25519, RFC 8032, verified with
//! `verify_strict`. Hashing: BLAKE3 `derive_key` with a distinct context per
//! use. Recipient strings: bech32m, BIP 350. Armor: base64, RFC 4648 §4.
#![forbid(unsafe_code)]

mod armor;
mod envelope;
mod error;
pub mod identity;
pub mod metadata;
mod payload;
mod stream;
mod wire;

pub use envelope::{Envelope, FORMAT_VERSION, MAGIC, SIGNATURE_DOMAIN, verify_plaintext};
pub use error::Error;
pub use identity::{Identity, Recipient};
pub use metadata::{BLINDING_LEN, Metadata, RecipientInfo, Scheme, share_commitment};
pub use payload::HPKE_INFO;
pub use stream::{
    CheckedPayload, EnvelopeHead, METADATA_OFFSET, PayloadCheck, ShardTail, ShardWriter,
};
