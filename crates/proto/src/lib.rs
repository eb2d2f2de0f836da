//! Symbolon's wire types, shared by the coordinator, the custodians and the
//! `symbolon` client.
//!
//! * [`api`]: the coordinator's public JSON API (`/v1/...`), used by clients.
//! * [`audit`]: the audit log API, custodians' evidence that a request is in
//!   the log, and the canonical request statement the log records.
//! * [`custodian`]: the protocol between the coordinator and custodians —
//!   registration, signed heartbeats, share storage and share release.
//! * [`release`]: how a custodian seals a released share to the request's
//!   ephemeral key (HPKE, RFC 9180), bound to the request.
//! * [`dkg`]: distributed key generation among custodians, relayed by the
//!   coordinator.
//! * [`scalar`]: the share package a custodian is dealt for a threshold
//!   key, and the checks it runs before acknowledging it.
//! * [`ciphertext`]: the format of `symbolon encrypt` output, which names the
//!   key and version that made it.
//! * [`Problem`]: RFC 9457 problem details, the error body of every API.
//!
//! Every type here is public data: no secret crosses the wire in the clear.
//! Released shares travel HPKE-sealed, and plaintexts/ciphertexts of
//! `encrypt`/`decrypt` travel inside the mutually authenticated TLS channel.

pub mod api;
pub mod audit;
pub mod ciphertext;
pub mod custodian;
pub mod dkg;
mod encoding;
mod error;
mod names;
mod problem;
pub mod release;
pub mod scalar;

pub use encoding::{SecretData, b64, hex32, hex64};
pub use error::Error;
pub use names::{MAX_NAME_LEN, validate_name};
pub use problem::{CustodianFailure, PROBLEM_CONTENT_TYPE, Problem};
