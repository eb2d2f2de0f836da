//! SSMS shares, their fingerprints and their canonical encoding.
//!
//! # Share encoding (version 1)
//!
//! All integers big-endian; `n` is the share count.
//!
//! ```text
//! offset      size  field
//! 0           1     version = 1
//! 1           1     index i (1..=n)
//! 2           1     threshold t (1..=n)
//! 3           1     share count n (1..=255)
//! 4           8     secret length (>= 1)
//! 12          4     segment size (plaintext bytes per STREAM segment, 1..=16 MiB)
//! 16          4     stripe segments (STREAM segments per dispersal stripe, >= 1;
//!                   segment size * stripe segments <= 64 MiB)
//! 20          32    key share: Shamir share of the 256-bit key at x = i (secret)
//! 52          32*n  fingerprints F_1 .. F_n of all shares of the split
//! 52+32n      8     fragment length (must equal the length the parameters imply)
//! 60+32n      ...   fragment: shard i-1 of every stripe, stripe after stripe
//! ```
//!
//! Nothing may follow the fragment. Decoding checks every length with
//! checked arithmetic and never allocates more than the input's own size.
//!
//! # Fingerprints
//!
//! `F_i = BLAKE3-derive_key("symbolon-sharing ssms v1 share fingerprint",
//! params || i || key share || BLAKE3(chunk_{i,0}) || ... || BLAKE3(chunk_{i,S-1}))`,
//! where `params` is bytes 0 and 2..20 of the encoding above and `chunk_{i,s}` is
//! share `i`'s shard of stripe `s`. Every share carries all `n`
//! fingerprints, so any one share can be checked against what the others
//! say, which names a corrupt share instead of only reporting a failed
//! decryption (Krawczyk's "distributed fingerprints", PODC 1993). Including
//! the key share commits to it too; it is a share of a uniformly random
//! 256-bit key, so its hash reveals nothing short of a 2^256 search.
//!
//! The split identifier is `BLAKE3-derive_key("symbolon-sharing ssms v1 split
//! id", params || F_1 || ... || F_n)`: equal for all shares of one split,
//! different (with overwhelming probability) for any two splits.

use std::sync::Arc;

use rayon::prelude::*;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::SHARE_VERSION;
use super::dispersal::ShardDigest;
use super::layout::{Layout, LayoutError, PARAMS_LEN, Params};
use crate::{Error, SecretBytes};

/// Length of a key share (the key is 256 bits).
pub(crate) const KEY_LEN: usize = 32;

/// Length of one fingerprint.
pub(crate) const FINGERPRINT_LEN: usize = 32;

/// A share fingerprint.
pub(crate) type Fingerprint = [u8; FINGERPRINT_LEN];

/// BLAKE3 key-derivation context of the share fingerprints.
const FINGERPRINT_CONTEXT: &str = "symbolon-sharing ssms v1 share fingerprint";

/// BLAKE3 key-derivation context of the split identifier.
const SPLIT_ID_CONTEXT: &str = "symbolon-sharing ssms v1 split id";

/// Length of the fixed header before the fingerprints.
const HEADER_LEN: usize = 4 + 8 + 4 + 4 + KEY_LEN;

/// Computes share `index`'s fingerprint from its key share and the digests
/// of its chunks (stripe order).
pub(crate) fn fingerprint<'a>(
    params: &Params,
    index: u8,
    key_share: &[u8],
    digests: impl IntoIterator<Item = &'a ShardDigest>,
) -> Fingerprint {
    let mut hasher = blake3::Hasher::new_derive_key(FINGERPRINT_CONTEXT);
    hasher.update(&params.encode());
    hasher.update(&[index]);
    hasher.update(key_share);
    for digest in digests {
        hasher.update(digest);
    }
    // At least one 32-byte digest follows the key share, so the block that
    // holds it is compressed and BLAKE3 clears its input buffer before we
    // finish: no copy of the key share stays in the hasher. (BLAKE3's own
    // `zeroize` feature would let us wipe the whole state.)
    *hasher.finalize().as_bytes()
}

/// The split identifier of a parameter set and its fingerprints.
fn split_id(params: &Params, fingerprints: &[Fingerprint]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(SPLIT_ID_CONTEXT);
    hasher.update(&params.encode());
    for fingerprint in fingerprints {
        hasher.update(fingerprint);
    }
    *hasher.finalize().as_bytes()
}

/// One share of a secret split with [`super::split`].
///
/// It holds the share's index, the public parameters of the split, a
/// Shamir share of the encryption key (secret: zeroized on drop, redacted
/// under `Debug`), the fingerprints of all shares, and this share's fragment
/// of the ciphertext (public: it is encrypted under a key no fewer than `t`
/// shares reveal).
///
/// A `Share` is immutable; one obtained from [`super::split`] or
/// [`Share::from_bytes`] always has a fragment of the length its parameters
/// imply.
///
/// The fragment is stored after room for the encoded header, so
/// [`Share::into_bytes`] and [`Share::from_vec`] convert to and from the
/// encoding without copying it (which, for a gigabyte secret, saves
/// allocating and faulting in another gigabyte).
#[derive(Clone)]
pub struct Share {
    index: u8,
    params: Params,
    key_share: SecretBytes,
    fingerprints: Arc<[Fingerprint]>,
    split_id: [u8; 32],
    /// `header_len` bytes reserved for the header (holding no secret),
    /// then the fragment.
    data: Vec<u8>,
    header_len: usize,
}

impl PartialEq for Share {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.params == other.params
            && self.fingerprints == other.fingerprints
            && self.fragment() == other.fragment()
            && self.key_share == other.key_share
    }
}

impl Eq for Share {}

/// Offset of the key share in the encoding.
const KEY_SHARE_OFFSET: usize = 20;

/// Length of the encoded header of a share of an `n`-share split.
pub(crate) fn header_len(shares: u8) -> usize {
    HEADER_LEN + usize::from(shares) * FINGERPRINT_LEN + 8
}

/// Wipes the key share inside an encoding (if it is long enough to hold one).
fn wipe_key_share(bytes: &mut [u8]) {
    if let Some(key_share) = bytes.get_mut(KEY_SHARE_OFFSET..KEY_SHARE_OFFSET + KEY_LEN) {
        key_share.zeroize();
    }
}

/// Writes the encoded header of share `index` (everything before a fragment
/// of `fragment_len` bytes) to `out`, which is exactly [`header_len`] bytes long.
fn write_header(
    index: u8,
    params: &Params,
    key_share: &SecretBytes,
    fingerprints: &[Fingerprint],
    fragment_len: usize,
    out: &mut [u8],
) -> Result<(), Error> {
    let params = params.encode();
    let (version, rest) = params.split_at(1);
    let fragment_len = u64::try_from(fragment_len).map_err(|_| Error::Internal {
        operation: "fragment length",
    })?;
    let mut parts: Vec<&[u8]> = vec![version, core::slice::from_ref(&index), rest];
    parts.push(key_share.expose_secret());
    parts.extend(fingerprints.iter().map(|f| f.as_slice()));
    let fragment_len = fragment_len.to_be_bytes();
    parts.push(&fragment_len);
    let mut rest = out;
    for part in parts {
        let (head, tail) = rest
            .split_at_mut_checked(part.len())
            .ok_or(Error::Internal {
                operation: "share header",
            })?;
        head.copy_from_slice(part);
        rest = tail;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal {
            operation: "share header",
        })
    }
}

/// Everything of a share but its fragment: its index, the split's
/// parameters, its key share (secret) and the fingerprints of all shares.
///
/// [`super::Splitter::finish`] returns one per share, to be written in
/// front of the fragment the splitter wrote piece by piece;
/// [`ShareHeader::parse`] reads one from the start of an encoding without
/// the fragment, for [`super::Combiner`].
#[derive(Clone)]
pub struct ShareHeader {
    index: u8,
    params: Params,
    key_share: SecretBytes,
    fingerprints: Arc<[Fingerprint]>,
    split_id: [u8; 32],
}

impl ShareHeader {
    pub(crate) fn new(
        index: u8,
        params: Params,
        key_share: SecretBytes,
        fingerprints: Arc<[Fingerprint]>,
    ) -> Self {
        let split_id = split_id(&params, &fingerprints);
        Self {
            index,
            params,
            key_share,
            fingerprints,
            split_id,
        }
    }

    /// Decodes the header at the start of a share encoding ([`Share::to_bytes`])
    /// from `prefix`, its first bytes (at least [`ShareHeader::encoded_len`]
    /// of them; more are ignored), given the length `total_len` of the whole
    /// encoding.
    ///
    /// # Errors
    ///
    /// As [`Share::from_bytes`] for the same encoding: [`Error::Malformed`]
    /// for an unknown version, a bad index or parameters, a fragment length
    /// that does not match them, or a `total_len` that is too short
    /// (truncation) or too long (trailing bytes).
    pub fn parse(prefix: &[u8], total_len: u64) -> Result<Self, Error> {
        let header = parse_header(prefix, total_len)?;
        Ok(Self::new(
            header.index,
            header.params,
            header.key_share,
            header.fingerprints,
        ))
    }

    /// The share's index (`1..=n`; public).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The threshold `t` of the split (public).
    pub fn threshold(&self) -> usize {
        usize::from(self.params.threshold)
    }

    /// The number of shares `n` of the split (public).
    pub fn share_count(&self) -> usize {
        usize::from(self.params.shares)
    }

    /// Length of the shared secret in bytes (public).
    pub fn secret_len(&self) -> u64 {
        self.params.secret_len
    }

    /// The split identifier (see [`Share::split_id`]).
    pub fn split_id(&self) -> [u8; 32] {
        self.split_id
    }

    /// Length of the encoded header, the offset of the fragment in the encoding.
    pub fn encoded_len(&self) -> usize {
        header_len(self.params.shares)
    }

    /// Length of the fragment that follows the header.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] if the parameters are invalid (impossible for a
    /// parsed or freshly made header).
    pub fn fragment_len(&self) -> Result<usize, Error> {
        Ok(self.layout()?.fragment_len())
    }

    /// The encoded header, to be followed by the fragment. Zeroized on drop,
    /// as it contains the key share.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] if the parameters are invalid (impossible for a
    /// parsed or freshly made header).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut out = Zeroizing::new(vec![0u8; self.encoded_len()]);
        write_header(
            self.index,
            &self.params,
            &self.key_share,
            &self.fingerprints,
            self.fragment_len()?,
            &mut out,
        )?;
        Ok(out)
    }

    /// Starts checking a fragment, fed piece by piece, against this share's
    /// fingerprint (what [`Share::verify`] does for a whole share).
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] if the parameters are invalid.
    pub fn fragment_check(&self) -> Result<super::FragmentCheck, Error> {
        super::FragmentCheck::new(self, &self.layout()?)
    }

    pub(crate) fn layout(&self) -> Result<Layout, Error> {
        Layout::new(self.params).map_err(|_| Error::Internal {
            operation: "share parameters",
        })
    }

    pub(crate) fn params(&self) -> &Params {
        &self.params
    }

    pub(crate) fn key_share(&self) -> &SecretBytes {
        &self.key_share
    }

    /// Whether `fingerprint` is the one the split recorded for this share,
    /// compared in constant time.
    pub(crate) fn matches_fingerprint(&self, fingerprint: &Fingerprint) -> bool {
        self.fingerprints
            .get(usize::from(self.index).wrapping_sub(1))
            .is_some_and(|expected| bool::from(fingerprint.ct_eq(expected)))
    }

    /// The share with `data` (room for the header, then the fragment).
    pub(crate) fn into_share(self, data: Vec<u8>) -> Share {
        Share::from_parts(
            self.index,
            self.params,
            self.key_share,
            self.fingerprints,
            data,
        )
    }
}

impl core::fmt::Debug for ShareHeader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShareHeader")
            .field("index", &self.index)
            .field("threshold", &self.params.threshold)
            .field("shares", &self.params.shares)
            .field("secret_len", &self.params.secret_len)
            .field("key_share", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The decoded header of an encoding whose length has been checked.
struct Header {
    index: u8,
    params: Params,
    key_share: SecretBytes,
    fingerprints: Arc<[Fingerprint]>,
}

/// Shorthand for a decoding error.
fn malformed(index: u8, reason: &'static str) -> Error {
    Error::Malformed { index, reason }
}

/// A cursor over an encoding that only ever hands out checked sub-slices.
struct Reader<'a> {
    rest: &'a [u8],
    index: u8,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let (head, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(malformed(self.index, what))?;
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let bytes = self.take(N, what)?;
        bytes.try_into().map_err(|_| malformed(self.index, what))
    }
}

impl Share {
    /// Assembles a share from `data`: [`header_len`] reserved bytes, then the
    /// fragment. The caller guarantees consistency.
    pub(crate) fn from_parts(
        index: u8,
        params: Params,
        key_share: SecretBytes,
        fingerprints: Arc<[Fingerprint]>,
        data: Vec<u8>,
    ) -> Self {
        let split_id = split_id(&params, &fingerprints);
        Self {
            index,
            params,
            key_share,
            fingerprints,
            split_id,
            data,
            header_len: header_len(params.shares),
        }
    }

    /// The share's index (its Shamir x-coordinate, `1..=n`; public).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The threshold `t` of the split (public).
    pub fn threshold(&self) -> usize {
        usize::from(self.params.threshold)
    }

    /// The number of shares `n` of the split (public).
    pub fn share_count(&self) -> usize {
        usize::from(self.params.shares)
    }

    /// Length of the shared secret in bytes (public).
    pub fn secret_len(&self) -> u64 {
        self.params.secret_len
    }

    /// The split identifier: the same for every share of one split and
    /// different for shares of different splits (public; see the module docs).
    pub fn split_id(&self) -> [u8; 32] {
        self.split_id
    }

    /// This share's fragment of the ciphertext (public).
    pub fn fragment(&self) -> &[u8] {
        self.data.get(self.header_len..).unwrap_or_default()
    }

    /// The key share (secret).
    pub(crate) fn key_share(&self) -> &SecretBytes {
        &self.key_share
    }

    /// The public parameters.
    pub(crate) fn params(&self) -> &Params {
        &self.params
    }

    /// The fingerprints of all shares of the split.
    #[cfg(test)]
    pub(crate) fn fingerprints_for_tests(&self) -> &[Fingerprint] {
        &self.fingerprints
    }

    /// Checks this share against its own fingerprint: its key share and
    /// fragment are what the split recorded for index [`Share::index`].
    ///
    /// [`super::combine`] runs this on the shares it used whenever
    /// decryption fails, to name the culprit; a custodian can run it to
    /// check its stored share. It hashes the whole fragment (in parallel).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidShare`] naming this share when it does not match.
    pub fn verify(&self) -> Result<(), Error> {
        let layout = Layout::new(self.params).map_err(|_| Error::Internal {
            operation: "share parameters",
        })?;
        let digests: Vec<ShardDigest> = self
            .fragment()
            .par_chunks(layout.full_shard())
            .map(|chunk| *blake3::hash(chunk).as_bytes())
            .collect();
        let actual = fingerprint(
            &self.params,
            self.index,
            self.key_share.expose_secret(),
            &digests,
        );
        let expected = self
            .fingerprints
            .get(usize::from(self.index).wrapping_sub(1))
            .ok_or(Error::InvalidShare { index: self.index })?;
        if bool::from(actual.ct_eq(expected)) {
            Ok(())
        } else {
            Err(Error::InvalidShare { index: self.index })
        }
    }

    /// Length of [`Share::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        self.header_len + self.fragment().len()
    }

    /// Writes the encoded header (everything before a fragment of
    /// `fragment_len` bytes) to `out`, which is exactly [`header_len`] bytes long.
    fn write_header(&self, fragment_len: usize, out: &mut [u8]) -> Result<(), Error> {
        write_header(
            self.index,
            &self.params,
            &self.key_share,
            &self.fingerprints,
            fragment_len,
            out,
        )
    }

    /// The canonical encoding (see the module docs), as a copy. Zeroized on
    /// drop, as it contains the key share.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.encoded_len()]);
        let (header, fragment) = out.split_at_mut(self.header_len);
        // The header always has exactly `header_len` bytes.
        if self.write_header(fragment.len(), header).is_ok() {
            fragment.copy_from_slice(self.fragment());
        } else {
            out.clear();
        }
        out
    }

    /// The canonical encoding, like [`Share::to_bytes`], without copying the
    /// fragment: the header is written into the room reserved in front of
    /// it. Zeroized on drop, as it contains the key share.
    pub fn into_bytes(mut self) -> Zeroizing<Vec<u8>> {
        let mut data = core::mem::take(&mut self.data);
        let fragment_len = data.len().saturating_sub(self.header_len);
        let header = data.get_mut(..self.header_len).unwrap_or_default();
        if self.write_header(fragment_len, header).is_err() {
            data.clear();
        }
        Zeroizing::new(data)
    }

    /// Decodes [`Share::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] (naming the index once it is readable, 0 before)
    /// for an unknown version, an index outside `1..=n`, invalid parameters,
    /// a fragment length that does not match the parameters, truncation or
    /// trailing bytes. Only the structure is checked here; see
    /// [`Share::verify`] for the fingerprint.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let header = parse_header(bytes, bytes.len() as u64)?;
        let mut data = bytes.to_vec();
        wipe_key_share(&mut data);
        Ok(Self::from_header(header, data))
    }

    /// Decodes [`Share::to_bytes`] in place, keeping `bytes`' allocation for
    /// the fragment (no copy). The key share is moved into a zeroizing
    /// buffer and wiped from `bytes`, also when decoding fails.
    ///
    /// # Errors
    ///
    /// As [`Share::from_bytes`].
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<Self, Error> {
        let header = parse_header(&bytes, bytes.len() as u64);
        wipe_key_share(&mut bytes);
        Ok(Self::from_header(header?, bytes))
    }

    fn from_header(header: Header, data: Vec<u8>) -> Self {
        Self::from_parts(
            header.index,
            header.params,
            header.key_share,
            header.fingerprints,
            data,
        )
    }
}

/// Parses and checks the header at the start of `bytes`, and that the whole
/// encoding, `total_len` bytes long, is exactly as long as the header says.
fn parse_header(bytes: &[u8], total_len: u64) -> Result<Header, Error> {
    let mut reader = Reader {
        rest: bytes,
        index: 0,
    };
    let [version, index, threshold, shares] = reader.array::<4>("truncated header")?;
    if version != SHARE_VERSION {
        return Err(malformed(0, "unknown version"));
    }
    reader.index = index;
    if index == 0 || index > shares {
        return Err(malformed(index, "index is zero or exceeds the share count"));
    }
    let params = Params {
        threshold,
        shares,
        secret_len: u64::from_be_bytes(reader.array("truncated header")?),
        segment_size: u32::from_be_bytes(reader.array("truncated header")?),
        stripe_segments: u32::from_be_bytes(reader.array("truncated header")?),
    };
    let layout = Layout::new(params).map_err(|e| match e {
        LayoutError::TooLong => malformed(index, "secret length too large"),
        LayoutError::Invalid(reason) => malformed(index, reason),
    })?;
    let key_share = SecretBytes::from_slice(reader.take(KEY_LEN, "truncated key share")?);
    let fingerprints: Arc<[Fingerprint]> = reader
        .take(
            usize::from(shares) * FINGERPRINT_LEN,
            "truncated fingerprints",
        )?
        .chunks_exact(FINGERPRINT_LEN)
        .map(|chunk| {
            chunk
                .try_into()
                .map_err(|_| malformed(index, "truncated fingerprints"))
        })
        .collect::<Result<_, _>>()?;
    let declared = u64::from_be_bytes(reader.array("truncated fragment length")?);
    if u64::try_from(layout.fragment_len()).ok() != Some(declared) {
        return Err(malformed(
            index,
            "fragment length does not match the parameters",
        ));
    }
    let consumed = (bytes.len() - reader.rest.len()) as u64;
    let rest = total_len.saturating_sub(consumed);
    if rest < declared {
        return Err(malformed(index, "truncated fragment"));
    }
    if rest > declared {
        return Err(malformed(index, "trailing bytes"));
    }
    Ok(Header {
        index,
        params,
        key_share,
        fingerprints,
    })
}

impl core::fmt::Debug for Share {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .field("threshold", &self.params.threshold)
            .field("shares", &self.params.shares)
            .field("secret_len", &self.params.secret_len)
            .field("key_share", &"<redacted>")
            .field("fragment_len", &self.fragment().len())
            .finish_non_exhaustive()
    }
}

// The header is the parameters with the index after the version byte, then the key share.
const _: () = assert!(HEADER_LEN == PARAMS_LEN + 1 + KEY_LEN);

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn stored_buffer_holds_no_key_share() {
        let shares =
            super::super::split(&[7u8; 1000], 2, 3, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        let bytes = shares[1].to_bytes();
        assert_ne!(
            &bytes[KEY_SHARE_OFFSET..KEY_SHARE_OFFSET + KEY_LEN],
            &[0u8; KEY_LEN]
        );
        for decoded in [
            Share::from_bytes(&bytes).unwrap(),
            Share::from_vec(bytes.to_vec()).unwrap(),
        ] {
            assert_eq!(
                &decoded.data[KEY_SHARE_OFFSET..KEY_SHARE_OFFSET + KEY_LEN],
                &[0u8; KEY_LEN]
            );
            assert_eq!(
                decoded.key_share.expose_secret(),
                &bytes[KEY_SHARE_OFFSET..KEY_SHARE_OFFSET + KEY_LEN]
            );
            assert_eq!(&*decoded.into_bytes(), &*bytes);
        }
        // Fresh shares reserve a zeroed header.
        assert!(
            shares[1].data[..shares[1].header_len]
                .iter()
                .all(|&b| b == 0)
        );
        assert_eq!(shares[1].header_len, header_len(3));
        assert_eq!(header_len(3), 60 + 32 * 3);
    }
}
