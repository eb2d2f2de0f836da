#![doc = include_str!("../README.md")]

pub mod dkg;
pub mod ed25519;
mod encoding;
mod error;
mod lagrange;
mod participant;
mod rng;
pub mod tdh2;

pub use error::Error;
