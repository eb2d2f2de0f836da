//! Canonical binary encoding primitives: big-endian integers, 0/1 option
//! tags, u8-length-prefixed UTF-8 strings, and a bounds-checked reader.
//!
//! Every read is checked: a short input yields [`Error::Truncated`] naming the
//! field, never a panic.

use crate::Error;

/// A cursor over the bytes still to be decoded.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let (head, tail) = self
            .rest
            .split_at_checked(len)
            .ok_or(Error::Truncated { field })?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Error::Truncated { field })
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        let [b] = self.array::<1>(field)?;
        Ok(b)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// An option tag: `0` is absent, `1` is present, anything else is refused.
    pub(crate) fn option_tag(&mut self, field: &'static str) -> Result<bool, Error> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(Error::InvalidTag { field, tag }),
        }
    }

    /// A u8 length followed by that many bytes of UTF-8.
    pub(crate) fn string8(
        &mut self,
        length_field: &'static str,
        field: &'static str,
    ) -> Result<String, Error> {
        let len = self.u8(length_field)?;
        let bytes = self.take(usize::from(len), field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::InvalidUtf8 { field })
    }

    /// Fails with [`Error::TrailingBytes`] unless everything was consumed.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes a u8 length and the string's bytes.
///
/// # Errors
///
/// [`Error::InvalidMetadata`] with `too_long` if the string exceeds 255 bytes
/// (callers validate first, so this is a second line of defence).
pub(crate) fn put_string8(out: &mut Vec<u8>, s: &str, too_long: &'static str) -> Result<(), Error> {
    let len = u8::try_from(s.len()).map_err(|_| Error::InvalidMetadata { reason: too_long })?;
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_the_field_that_ran_out() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(r.u16("b"), Err(Error::Truncated { field: "b" }));
    }

    #[test]
    fn option_tags_are_zero_or_one() {
        assert!(!Reader::new(&[0]).option_tag("t").unwrap());
        assert!(Reader::new(&[1]).option_tag("t").unwrap());
        assert_eq!(
            Reader::new(&[2]).option_tag("t"),
            Err(Error::InvalidTag { field: "t", tag: 2 })
        );
    }

    #[test]
    fn trailing_bytes_are_counted() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("x").unwrap();
        assert_eq!(r.finish(), Err(Error::TrailingBytes { count: 2 }));
    }

    #[test]
    fn strings_are_length_prefixed_utf8() {
        let mut out = Vec::new();
        put_string8(&mut out, "hé", "long").unwrap();
        assert_eq!(out, [3, b'h', 0xc3, 0xa9]);
        assert_eq!(Reader::new(&out).string8("l", "s").unwrap(), "hé");
        assert_eq!(
            Reader::new(&[1, 0xff]).string8("l", "s"),
            Err(Error::InvalidUtf8 { field: "s" })
        );
        assert_eq!(
            put_string8(&mut out, &"x".repeat(256), "long"),
            Err(Error::InvalidMetadata { reason: "long" })
        );
    }
}
