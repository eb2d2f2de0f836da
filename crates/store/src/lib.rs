#![doc = include_str!("../README.md")]

mod audit;
mod column;
mod custodian;
mod error;
mod key;
mod principal;
mod request;
mod store;
mod tx;

pub use audit::{AuditAppend, AuditRow};
pub use custodian::{CustodianKind, CustodianRow, NewCustodian};
pub use error::{Error, Result};
pub use key::{
    DistinctLabel, KeyKind, KeyRow, KeyVersionRow, NewKey, NewKeyVersion, NewPlacement,
    PlacementRow,
};
pub use principal::PrincipalRow;
pub use request::{NewRequest, RequestOutcome, RequestRow};
pub use store::{Backend, Store};
pub use tx::{Savepoint, StoreTx};
