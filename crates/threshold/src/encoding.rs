//! Decoding helpers: frost-core's encodings made strict (header checked,
//! canonical re-encoding required) and a reader for this crate's own
//! fixed-layout formats.
//!
//! frost-core 3 encodes its messages with postcard behind a 5-byte header:
//! a format version (0) and the CRC-32 of the ciphersuite ID, big-endian
//! (`FROST-ED25519-SHA512-v1`, `FROST-RISTRETTO255-SHA512-v1`). postcard
//! ignores trailing bytes; we refuse them, and refuse anything that does not
//! re-encode to the same bytes, so every accepted value has exactly one
//! encoding. frost-core's DKG secret packages have no header; we wrap them
//! in `magic || version 1 || frost header || frost encoding`.

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::{RistrettoPoint, Scalar};
use frost_core::Ciphersuite;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::error::from_frost_decode;

/// Length of frost-core's serialization header.
const FROST_HEADER_LEN: usize = 5;

/// CRC-32 (IEEE 802.3, reflected, as in zlib) of `data`.
const fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    let mut i = 0;
    while i < data.len() {
        // Indexing a const slice inside the bounds of the loop condition.
        #[allow(clippy::indexing_slicing)]
        let byte = data[i];
        crc ^= byte as u32;
        let mut bit = 0;
        while bit < 8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
            bit += 1;
        }
        i += 1;
    }
    !crc
}

/// frost-core's header for ciphersuite `C`.
fn frost_header<C: Ciphersuite>() -> [u8; FROST_HEADER_LEN] {
    let [a, b, c, d] = crc32(C::ID.as_bytes()).to_be_bytes();
    [0, a, b, c, d]
}

/// Decodes a frost-core encoding of `what` strictly: header first, then
/// frost's decoder, then a check that the value re-encodes to exactly the
/// input (constant-time, since the input may be secret).
pub(crate) fn decode_frost<C: Ciphersuite, T>(
    what: &'static str,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, frost_core::Error<C>>,
    encode: impl FnOnce(&T) -> Result<Vec<u8>, frost_core::Error<C>>,
) -> Result<T, Error> {
    let Some(header) = bytes.get(..FROST_HEADER_LEN) else {
        return Err(Error::Truncated {
            what,
            len: bytes.len(),
            min: FROST_HEADER_LEN,
        });
    };
    let expected = frost_header::<C>();
    if header.first() != expected.first() {
        return Err(Error::UnsupportedVersion {
            what,
            version: header.first().copied().unwrap_or_default(),
        });
    }
    if header != expected {
        return Err(Error::Malformed {
            what,
            reason: "encoded for another ciphersuite",
        });
    }
    decode_canonical(what, bytes, decode, encode)
}

/// frost-core's decoder, then the check that the value re-encodes to exactly
/// `bytes`.
fn decode_canonical<C: Ciphersuite, T>(
    what: &'static str,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, frost_core::Error<C>>,
    encode: impl FnOnce(&T) -> Result<Vec<u8>, frost_core::Error<C>>,
) -> Result<T, Error> {
    let value = decode(bytes).map_err(from_frost_decode(what))?;
    let again = Zeroizing::new(encode(&value).map_err(from_frost_decode(what))?);
    match bytes.get(..again.len()) {
        Some(prefix) if bool::from(prefix.ct_eq(again.as_slice())) => {
            if bytes.len() == again.len() {
                Ok(value)
            } else {
                Err(Error::TrailingBytes {
                    what,
                    extra: bytes.len() - again.len(),
                })
            }
        }
        _ => Err(Error::Malformed {
            what,
            reason: "not the canonical encoding",
        }),
    }
}

/// Version of the wrapper around frost-core's header-less encodings.
const WRAPPED_VERSION: u8 = 1;

/// Wraps a frost-core encoding that has no header of its own (the DKG's
/// secret packages): `magic || version 1 || frost header of C || bytes`.
pub(crate) fn wrap_frost<C: Ciphersuite>(
    magic: &[u8; 4],
    bytes: Result<Vec<u8>, frost_core::Error<C>>,
) -> Zeroizing<Vec<u8>> {
    let bytes = encode_frost(bytes);
    let mut out = Zeroizing::new(Vec::with_capacity(4 + 1 + FROST_HEADER_LEN + bytes.len()));
    out.extend_from_slice(magic);
    out.push(WRAPPED_VERSION);
    out.extend_from_slice(&frost_header::<C>());
    out.extend_from_slice(&bytes);
    out
}

/// Decodes [`wrap_frost`]'s output strictly.
pub(crate) fn unwrap_frost<C: Ciphersuite, T>(
    what: &'static str,
    magic: &[u8; 4],
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, frost_core::Error<C>>,
    encode: impl FnOnce(&T) -> Result<Vec<u8>, frost_core::Error<C>>,
) -> Result<T, Error> {
    let mut reader = Reader::new(what, bytes, magic, WRAPPED_VERSION)?;
    if reader.take(FROST_HEADER_LEN)? != frost_header::<C>() {
        return Err(Error::Malformed {
            what,
            reason: "encoded for another ciphersuite",
        });
    }
    decode_canonical(what, reader.rest(), decode, encode)
}

/// Encodes with frost-core; its serializers fail only on identity elements,
/// which no value built by this crate contains.
pub(crate) fn encode_frost<C: Ciphersuite>(
    result: Result<Vec<u8>, frost_core::Error<C>>,
) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(result.unwrap_or_default())
}

/// A 32-byte point encoding from one of frost-core's serializers (both
/// suites' elements are 32 bytes).
pub(crate) fn frost_point_bytes<C: Ciphersuite>(
    what: &'static str,
    bytes: Result<Vec<u8>, frost_core::Error<C>>,
) -> Result<[u8; 32], Error> {
    bytes
        .map_err(from_frost_decode(what))?
        .try_into()
        .map_err(|_| Error::InvalidPoint { what })
}

/// A canonical scalar (below the group order) from exactly 32 bytes, which
/// may be secret: the copy made for decoding is wiped.
pub(crate) fn decode_scalar(what: &'static str, bytes: &[u8]) -> Result<Scalar, Error> {
    let mut array = Zeroizing::new([0u8; 32]);
    if bytes.len() != array.len() {
        return Err(Error::InvalidScalar { what });
    }
    array.copy_from_slice(bytes);
    Option::from(Scalar::from_canonical_bytes(*array)).ok_or(Error::InvalidScalar { what })
}

/// Fills `out` with `fields`, in order (a fixed-layout encoding; the fields
/// add up to `out.len()`).
pub(crate) fn write_fields(out: &mut [u8], fields: &[&[u8]]) {
    let mut rest = out;
    for field in fields {
        let Some((slot, tail)) = core::mem::take(&mut rest).split_at_mut_checked(field.len())
        else {
            debug_assert!(false, "fields longer than the encoding");
            return;
        };
        slot.copy_from_slice(field);
        rest = tail;
    }
    debug_assert!(rest.is_empty(), "fields shorter than the encoding");
}

/// A point with its canonical encoding, kept together so transcripts and
/// encoders need not re-compress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) point: RistrettoPoint,
    pub(crate) bytes: [u8; 32],
}

impl Point {
    /// Wraps `point`, computing its encoding.
    pub(crate) fn new(point: RistrettoPoint) -> Self {
        Self {
            point,
            bytes: point.compress().to_bytes(),
        }
    }

    /// Decodes a canonical ristretto255 encoding.
    pub(crate) fn decode(what: &'static str, bytes: [u8; 32]) -> Result<Self, Error> {
        let point = CompressedRistretto(bytes)
            .decompress()
            .ok_or(Error::InvalidPoint { what })?;
        Ok(Self { point, bytes })
    }
}

/// Lower-case hex under `Debug`, for public values.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Reads this crate's own fixed-layout formats: `magic || version || fields`.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the 4-byte magic and the version byte.
    pub(crate) fn new(
        what: &'static str,
        bytes: &'a [u8],
        magic: &[u8; 4],
        version: u8,
    ) -> Result<Self, Error> {
        let mut reader = Self {
            what,
            bytes,
            pos: 0,
        };
        if reader.take(4)? != magic {
            return Err(Error::BadMagic { what });
        }
        let found = reader.u8()?;
        if found != version {
            return Err(Error::UnsupportedVersion {
                what,
                version: found,
            });
        }
        Ok(reader)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.saturating_add(n);
        let out = self.bytes.get(self.pos..end).ok_or(Error::Truncated {
            what: self.what,
            len: self.bytes.len(),
            min: end,
        })?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// A big-endian `u16`.
    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A canonical ristretto255 point.
    pub(crate) fn point(&mut self) -> Result<Point, Error> {
        Point::decode(self.what, self.array()?)
    }

    /// A canonical scalar (below the group order).
    pub(crate) fn scalar(&mut self) -> Result<Scalar, Error> {
        decode_scalar(self.what, self.take(32)?)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        out
    }

    /// Refuses trailing bytes.
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            extra => Err(Error::TrailingBytes {
                what: self.what,
                extra,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_answer() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn frost_header_matches_frost() {
        use frost_core::keys::SigningShare;
        use frost_core::keys::dkg::round2::Package;
        fn check<C: Ciphersuite>() {
            let one = frost_core::Identifier::<C>::try_from(1u16)
                .unwrap()
                .serialize();
            let share = SigningShare::<C>::deserialize(&one).unwrap();
            let bytes = Package::new(share).serialize().unwrap();
            assert_eq!(bytes[..FROST_HEADER_LEN], frost_header::<C>());
        }
        check::<frost_ed25519::Ed25519Sha512>();
        check::<frost_ristretto255::Ristretto255Sha512>();
    }

    #[test]
    fn reader_errors() {
        let e = Reader::new("x", b"ABC", b"ABCD", 1).err();
        assert_eq!(
            e,
            Some(Error::Truncated {
                what: "x",
                len: 3,
                min: 4
            })
        );
        let e = Reader::new("x", b"ABCE\x01", b"ABCD", 1).err();
        assert_eq!(e, Some(Error::BadMagic { what: "x" }));
        let e = Reader::new("x", b"ABCD\x02", b"ABCD", 1).err();
        assert_eq!(
            e,
            Some(Error::UnsupportedVersion {
                what: "x",
                version: 2
            })
        );
        let mut r = Reader::new("x", b"ABCD\x01\x00\x07z", b"ABCD", 1).unwrap();
        assert_eq!(r.u16().unwrap(), 7);
        assert_eq!(
            r.finish(),
            Err(Error::TrailingBytes {
                what: "x",
                extra: 1
            })
        );
        let mut r = Reader::new("x", &[b'A', b'B', b'C', b'D', 1, 0xff], b"ABCD", 1).unwrap();
        assert_eq!(
            r.scalar(),
            Err(Error::Truncated {
                what: "x",
                len: 6,
                min: 37
            })
        );
        let mut bad = vec![b'A', b'B', b'C', b'D', 1];
        bad.extend_from_slice(&[0xff; 32]);
        let mut r = Reader::new("x", &bad, b"ABCD", 1).unwrap();
        assert_eq!(r.scalar(), Err(Error::InvalidScalar { what: "x" }));
        let mut r = Reader::new("x", &bad, b"ABCD", 1).unwrap();
        assert_eq!(r.point().err(), Some(Error::InvalidPoint { what: "x" }));
    }
}
