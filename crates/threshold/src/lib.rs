#![doc = include_str!("../README.md")]

mod dealer;
pub mod dkg;
pub mod ed25519;
mod encoding;
mod error;
mod lagrange;
mod participant;
mod rng;
pub mod tdh2;

pub use error::Error;
pub use participant::MAX_PARTICIPANTS;
