//! Decoding stored columns into typed values without ever panicking: a
//! value that does not fit its Rust type is [`Error::Corrupt`].

use sqlx::any::AnyRow;
use sqlx::{Decode, Row as _, Type};

use crate::error::{Error, Result};

/// Reads column `name`, naming `what` (`"table.column"`) and the row `id`
/// in the error if it does not decode.
pub(crate) fn get<'r, T>(
    row: &'r AnyRow,
    name: &'static str,
    what: &'static str,
    id: &str,
) -> Result<T>
where
    T: Decode<'r, sqlx::Any> + Type<sqlx::Any>,
{
    row.try_get(name).map_err(|err| Error::Corrupt {
        what,
        detail: format!("row {id:?}: {err}"),
    })
}

/// Reads a fixed-length blob column.
pub(crate) fn bytes<const N: usize>(
    row: &AnyRow,
    name: &'static str,
    what: &'static str,
    id: &str,
) -> Result<[u8; N]> {
    let value: Vec<u8> = get(row, name, what, id)?;
    <[u8; N]>::try_from(value.as_slice()).map_err(|_| Error::Corrupt {
        what,
        detail: format!("row {id:?}: {} bytes, expected {N}", value.len()),
    })
}

/// Reads a text column holding one of a closed set of names.
pub(crate) fn name<T: StoredName>(
    row: &AnyRow,
    name: &'static str,
    what: &'static str,
    id: &str,
) -> Result<T> {
    let text: String = get(row, name, what, id)?;
    T::from_name(&text).ok_or_else(|| Error::Corrupt {
        what,
        detail: format!("row {id:?}: unknown value {text:?}"),
    })
}

/// Reads a nullable text column holding one of a closed set of names.
pub(crate) fn optional_name<T: StoredName>(
    row: &AnyRow,
    name: &'static str,
    what: &'static str,
    id: &str,
) -> Result<Option<T>> {
    let text: Option<String> = get(row, name, what, id)?;
    text.map(|text| {
        T::from_name(&text).ok_or_else(|| Error::Corrupt {
            what,
            detail: format!("row {id:?}: unknown value {text:?}"),
        })
    })
    .transpose()
}

/// An enum stored as a lowercase name.
pub(crate) trait StoredName: Sized {
    fn from_name(name: &str) -> Option<Self>;
}

/// Declares a public enum stored as lowercase text, with `as_str`,
/// `from_name`, `Display` and serde in the same spelling.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and used on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses [`Self::as_str`]'s output; `None` for anything else.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::column::StoredName for $name {
            fn from_name(name: &str) -> Option<Self> {
                $name::from_name(name)
            }
        }
    };
}

pub(crate) use stored_enum;
