//! Serde helpers for byte fields in JSON: base64 (standard alphabet, with
//! padding) for variable-length data, lowercase hex for keys and digests.

/// `Vec<u8>` as a base64 string.
pub mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer};

    /// Serializes bytes as base64.
    ///
    /// # Errors
    ///
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Deserializes base64 into bytes.
    ///
    /// # Errors
    ///
    /// A serde error naming the bad base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format_args!("invalid base64: {e}")))
    }
}

macro_rules! hex_array {
    ($name:ident, $len:literal) => {
        #[doc = concat!("`[u8; ", stringify!($len), "]` as lowercase hex.")]
        pub mod $name {
            use serde::{Deserialize as _, Deserializer, Serializer};

            /// Serializes the array as hex.
            ///
            /// # Errors
            ///
            /// Only the serializer's own errors.
            pub fn serialize<S: Serializer>(bytes: &[u8; $len], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(bytes))
            }

            /// Deserializes exactly
            #[doc = concat!(stringify!($len), " hex-encoded bytes.")]
            ///
            /// # Errors
            ///
            /// A serde error for bad hex or a wrong length.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; $len], D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                let mut out = [0u8; $len];
                hex::decode_to_slice(text.as_bytes(), &mut out).map_err(|e| {
                    serde::de::Error::custom(format_args!(
                        "expected {} hex characters: {e}",
                        2 * $len
                    ))
                })?;
                Ok(out)
            }
        }
    };
}

hex_array!(hex32, 32);
hex_array!(hex64, 64);
