#![doc = include_str!("../README.md")]
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
