//! Pure secret-sharing core of Symbolon.
//!
//! Nothing in this crate performs I/O, spawns tasks or reads clocks: every
//! function takes bytes (and, where randomness is needed, a caller-supplied
//! cryptographically secure RNG) and returns values.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`field`] | GF(2^8) arithmetic (AES polynomial `x^8+x^4+x^3+x+1`) and the constant-time bulk kernels |
//! | [`bytes`] | Shamir secret sharing of byte strings over GF(2^8), with refresh, reshare and repair |
//! | [`scalar`] | Shamir sharing over the ristretto255 scalar field with Feldman commitments, with refresh, reshare and repair |
//! | [`ssms`] | Krawczyk's computationally secure "secret sharing made short" for large secrets |
//!
//! # Security
//!
//! Secret-dependent code is constant-time: no branch and no memory lookup is
//! indexed by secret or coefficient bytes. Secret values are held in types
//! that zeroize on drop and print `<redacted>` under `Debug`; their bytes are
//! reachable only through `expose_secret()`.
#![cfg_attr(not(test), deny(unsafe_code))]

pub mod bytes;
mod error;
pub mod field;
pub mod scalar;
mod secret;
pub mod ssms;

pub use error::Error;
pub use secret::SecretBytes;

/// The largest number of shares any scheme in this crate supports.
///
/// GF(2^8) has 255 non-zero elements, each usable as one share's
/// x-coordinate.
pub const MAX_SHARES: usize = 255;
