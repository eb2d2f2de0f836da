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

/// Secret bytes on the wire (a secret to import, a plaintext): base64 in
/// JSON, wiped when dropped, and `<redacted>` under `Debug`, so a request
/// or answer that carries one can be logged or dropped without leaking it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretData(zeroize::Zeroizing<Vec<u8>>);

impl SecretData {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(zeroize::Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<zeroize::Zeroizing<Vec<u8>>> for SecretData {
    fn from(bytes: zeroize::Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for SecretData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretData(<redacted {} bytes>)", self.0.len())
    }
}

impl serde::Serialize for SecretData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        let text =
            zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*self.0));
        s.serialize_str(&text)
    }
}

impl<'de> serde::Deserialize<'de> for SecretData {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        b64::deserialize(d).map(Self::new)
    }
}

impl utoipa::PartialSchema for SecretData {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Byte,
            )))
            .description(Some("base64; secret"))
            .into()
    }
}

impl utoipa::ToSchema for SecretData {}

/// Appends `s` to a canonical encoding (signed or digested bytes): a
/// big-endian `u16` length, then the bytes. A string longer than the prefix
/// can say is cut at its limit; every string encoded here is a name or id
/// far shorter, and a cut one only fails to match what its peer encodes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
}

#[cfg(test)]
mod tests {
    use super::SecretData;

    #[test]
    fn secret_data_is_base64_and_redacted() {
        let data = SecretData::new(b"hunter2".to_vec());
        let json = serde_json::to_string(&data).unwrap();
        assert_eq!(json, "\"aHVudGVyMg==\"");
        assert_eq!(serde_json::from_str::<SecretData>(&json).unwrap(), data);
        let debug = format!("{data:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("redacted"),
            "{debug}"
        );
        assert!(serde_json::from_str::<SecretData>("\"!!\"").is_err());
    }
}
