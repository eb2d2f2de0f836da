//! Splitting a secret piece by piece, for secrets too large to hold twice in
//! memory: the same construction and the same shares as [`super::split`],
//! produced stripe by stripe into the caller's buffers.
//!
//! Every share's encoding is its header, then its fragment. The fragment is
//! the concatenation of the share's shard of every stripe, so sealing the
//! next few stripes of plaintext yields the next piece of every fragment.
//! The header holds the fingerprints, which hash every piece, so it comes
//! last, from [`Splitter::finish`]; a caller writing files reserves
//! [`Splitter::header_len`] bytes in front of each fragment and fills them
//! in at the end.

use std::sync::Arc;

use chacha20poly1305::ChaCha20Poly1305;
use rand_core::CryptoRng;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::combiner::{pieces_for, remaining};
use super::dispersal::{self, Scratch, ShardDigest};
use super::layout::{Layout, LayoutError, MAX_SEGMENTS, Params};
use super::share::{self, Fingerprint, KEY_LEN, ShareHeader, fingerprint};
use super::stream::{self, AAD_LEN};
use super::{SEGMENT_SIZE, SEGMENTS_PER_SHARD, new_cipher};
use crate::{Error, MAX_SHARES, SecretBytes, bytes};

/// An SSMS split in progress: the key is drawn and shared, the plaintext is
/// sealed and dispersed a few stripes at a time with [`Splitter::seal`], and
/// [`Splitter::finish`] returns every share's header.
///
/// Shares assembled from the headers and the pieces (header, then the
/// pieces in order) are exactly what [`super::split`] would have made with
/// the same generator, and [`super::combine`] reads them.
///
/// # Security
///
/// The splitter holds the encryption key (in the cipher) and the key
/// shares; both are wiped on drop. It never keeps plaintext: the caller's
/// plaintext is read once and only ciphertext is written to the pieces.
pub struct Splitter {
    cipher: ChaCha20Poly1305,
    layout: Layout,
    aad: [u8; AAD_LEN],
    key_shares: Vec<bytes::Share>,
    /// The digest of every shard sealed so far, `[stripe][share]`.
    digests: Vec<Vec<ShardDigest>>,
    /// The first stripe not sealed yet.
    next_stripe: usize,
}

impl core::fmt::Debug for Splitter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Splitter")
            .field("params", self.layout.params())
            .field("next_stripe", &self.next_stripe)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Splitter {
    /// Starts splitting a secret of `secret_len` bytes into `shares` shares,
    /// any `threshold` of which rebuild it; draws the key and its Shamir
    /// shares from `rng`.
    ///
    /// # Errors
    ///
    /// As [`super::split`]: [`Error::TooManyShares`],
    /// [`Error::InvalidThreshold`], [`Error::EmptySecret`] (for a zero
    /// length), [`Error::SecretTooLong`].
    ///
    /// # Security
    ///
    /// `rng` must be a cryptographically secure generator.
    pub fn new<R: CryptoRng + ?Sized>(
        secret_len: u64,
        threshold: usize,
        shares: usize,
        rng: &mut R,
    ) -> Result<Self, Error> {
        Self::with_layout(
            secret_len,
            threshold,
            shares,
            SEGMENT_SIZE,
            SEGMENTS_PER_SHARD.saturating_mul(threshold),
            rng,
        )
    }

    /// [`Splitter::new`] with an explicit segment size and stripe length.
    pub(crate) fn with_layout<R: CryptoRng + ?Sized>(
        secret_len: u64,
        threshold: usize,
        shares: usize,
        segment_size: usize,
        stripe_segments: usize,
        rng: &mut R,
    ) -> Result<Self, Error> {
        if shares > MAX_SHARES {
            return Err(Error::TooManyShares {
                shares,
                max: MAX_SHARES,
            });
        }
        if threshold == 0 || threshold > shares {
            return Err(Error::InvalidThreshold { threshold, shares });
        }
        if secret_len == 0 {
            return Err(Error::EmptySecret);
        }
        let internal = |operation| move |_| Error::Internal { operation };
        let params = Params {
            threshold: u8::try_from(threshold).map_err(internal("threshold"))?,
            shares: u8::try_from(shares).map_err(internal("share count"))?,
            secret_len,
            segment_size: u32::try_from(segment_size).map_err(internal("segment size"))?,
            stripe_segments: u32::try_from(stripe_segments).map_err(internal("stripe size"))?,
        };
        let layout = Layout::new(params).map_err(|e| match e {
            LayoutError::TooLong => Error::SecretTooLong {
                len: secret_len,
                max: MAX_SEGMENTS.saturating_mul(u64::from(params.segment_size)),
            },
            LayoutError::Invalid(_) => Error::Internal {
                operation: "stripe layout",
            },
        })?;

        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(key.as_mut_slice());
        let key_shares = bytes::split(key.as_slice(), threshold, shares, rng)?;
        let cipher = new_cipher(key.as_slice())?;
        drop(key);
        // Share `i` (0-based) has index `i + 1`, as its fragment's position.
        if key_shares
            .iter()
            .enumerate()
            .any(|(i, key_share)| usize::from(key_share.index()) != i + 1)
        {
            return Err(Error::Internal {
                operation: "key share order",
            });
        }
        Ok(Self {
            cipher,
            aad: stream::associated_data(layout.params()),
            digests: Vec::with_capacity(layout.stripes()),
            layout,
            key_shares,
            next_stripe: 0,
        })
    }

    /// The number of shares `n`.
    pub fn share_count(&self) -> usize {
        self.layout.shares()
    }

    /// Plaintext bytes per stripe: [`Splitter::seal`] takes a whole number
    /// of stripes at a time (the secret's last stripe may be shorter).
    pub fn stripe_len(&self) -> usize {
        self.layout.stripe_plain()
    }

    /// Length of every share's header, which precedes its fragment in the
    /// encoding.
    pub fn header_len(&self) -> usize {
        share::header_len(self.layout.params().shares)
    }

    /// Length of every share's fragment.
    pub fn fragment_len(&self) -> usize {
        self.layout.fragment_len()
    }

    /// Plaintext bytes still to be sealed.
    pub fn remaining(&self) -> usize {
        remaining(&self.layout, self.next_stripe)
    }

    /// Length of each share's piece for the next `plain_len` bytes of
    /// plaintext.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] (index 0) when `plain_len` is neither a
    /// positive multiple of [`Splitter::stripe_len`] within the rest of the
    /// secret nor exactly the rest of the secret.
    pub fn piece_len(&self, plain_len: usize) -> Result<usize, Error> {
        self.stripes_for(plain_len).map(|(_, piece)| piece)
    }

    fn stripes_for(&self, plain_len: usize) -> Result<(usize, usize), Error> {
        pieces_for(&self.layout, self.next_stripe, plain_len)
    }

    /// Seals and disperses the next `plain.len()` bytes of the secret
    /// (a whole number of stripes, or the rest of the secret), writing share
    /// `i`'s piece to `pieces[i]`, each exactly [`Splitter::piece_len`]
    /// bytes long. Stripes are sealed in parallel.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] for a plaintext or piece of the wrong
    /// length (index 0 for the plaintext, else the share's index) or the
    /// wrong number of pieces; nothing is sealed then.
    pub fn seal(&mut self, plain: &[u8], pieces: &mut [&mut [u8]]) -> Result<(), Error> {
        let (stripes, piece_len) = self.stripes_for(plain.len())?;
        if pieces.len() != self.layout.shares() {
            return Err(Error::LengthMismatch {
                index: 0,
                len: pieces.len(),
                expected: self.layout.shares(),
            });
        }
        for (i, piece) in pieces.iter().enumerate() {
            if piece.len() != piece_len {
                return Err(Error::LengthMismatch {
                    index: u8::try_from(i + 1).unwrap_or(u8::MAX),
                    len: piece.len(),
                    expected: piece_len,
                });
            }
        }
        // Each stripe gets its own shard of every piece to write to.
        let first = self.next_stripe;
        let full_shard = self.layout.full_shard();
        let mut shards: Vec<Vec<&mut [u8]>> = (0..stripes)
            .map(|_| Vec::with_capacity(self.layout.shares()))
            .collect();
        for piece in pieces.iter_mut() {
            for (stripe, shard) in shards.iter_mut().zip(piece.chunks_mut(full_shard)) {
                stripe.push(shard);
            }
        }
        let (cipher, aad, layout) = (&self.cipher, &self.aad, &self.layout);
        let digests = plain
            .par_chunks(layout.stripe_plain())
            .zip(shards.into_par_iter())
            .enumerate()
            .map_init(Scratch::default, |scratch, (s, (plain, mut shards))| {
                dispersal::seal_stripe(
                    cipher,
                    aad,
                    layout,
                    &layout.stripe(first + s),
                    plain,
                    &mut shards,
                    scratch,
                )
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.digests.extend(digests);
        self.next_stripe += stripes;
        Ok(())
    }

    /// Ends the split once the whole secret is sealed and returns every
    /// share's header (share `i + 1` at position `i`), fingerprints included.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] (index 0) if part of the secret was not
    /// sealed.
    pub fn finish(self) -> Result<Vec<ShareHeader>, Error> {
        let remaining = self.remaining();
        if remaining != 0 || self.digests.len() != self.layout.stripes() {
            return Err(Error::LengthMismatch {
                index: 0,
                len: self.layout.secret_len().saturating_sub(remaining),
                expected: self.layout.secret_len(),
            });
        }
        let params = *self.layout.params();
        let fingerprints: Arc<[Fingerprint]> = self
            .key_shares
            .iter()
            .enumerate()
            .map(|(i, key_share)| {
                fingerprint(
                    &params,
                    key_share.index(),
                    key_share.expose_secret(),
                    self.digests.iter().filter_map(|stripe| stripe.get(i)),
                )
            })
            .collect();
        Ok(self
            .key_shares
            .iter()
            .map(|key_share| {
                ShareHeader::new(
                    key_share.index(),
                    params,
                    SecretBytes::from_slice(key_share.expose_secret()),
                    Arc::clone(&fingerprints),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Share, combine, split_with_layout};
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    /// Splits piece by piece, `stripes_per_call` stripes at a time, and
    /// assembles the share encodings.
    fn split_in_pieces(
        secret: &[u8],
        t: usize,
        n: usize,
        segment: usize,
        stripe_segments: usize,
        stripes_per_call: usize,
        seed: u64,
    ) -> Vec<Vec<u8>> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut splitter = Splitter::with_layout(
            secret.len() as u64,
            t,
            n,
            segment,
            stripe_segments,
            &mut rng,
        )
        .unwrap();
        let mut fragments: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut rest = secret;
        while !rest.is_empty() {
            let take = rest.len().min(splitter.stripe_len() * stripes_per_call);
            let (plain, tail) = rest.split_at(take);
            let piece_len = splitter.piece_len(take).unwrap();
            let mut pieces = vec![vec![0xAAu8; piece_len]; n];
            let mut refs: Vec<&mut [u8]> = pieces.iter_mut().map(|p| p.as_mut_slice()).collect();
            splitter.seal(plain, &mut refs).unwrap();
            for (fragment, piece) in fragments.iter_mut().zip(pieces) {
                fragment.extend_from_slice(&piece);
            }
            rest = tail;
        }
        assert_eq!(splitter.remaining(), 0);
        let header_len = splitter.header_len();
        let fragment_len = splitter.fragment_len();
        let headers = splitter.finish().unwrap();
        headers
            .iter()
            .zip(fragments)
            .map(|(header, fragment)| {
                assert_eq!(fragment.len(), fragment_len);
                let head = header.to_bytes().unwrap();
                assert_eq!(head.len(), header_len);
                [head.as_slice(), &fragment].concat()
            })
            .collect()
    }

    #[test]
    fn pieces_make_the_same_shares_as_split() {
        for len in [1usize, 20, 21, 22, 100, 257] {
            let mut secret = vec![0u8; len];
            ChaCha20Rng::seed_from_u64(len as u64).fill_bytes(&mut secret);
            for (t, n) in [(1, 1), (2, 3), (3, 5)] {
                let whole =
                    split_with_layout(&secret, t, n, 7, 3, &mut ChaCha20Rng::seed_from_u64(9))
                        .unwrap();
                for per_call in [1, 2, 5] {
                    let pieces = split_in_pieces(&secret, t, n, 7, 3, per_call, 9);
                    for (share, encoding) in whole.iter().zip(&pieces) {
                        assert_eq!(&*share.to_bytes(), encoding.as_slice());
                    }
                    let shares: Vec<Share> = pieces
                        .iter()
                        .take(t)
                        .map(|b| Share::from_bytes(b).unwrap())
                        .collect();
                    assert_eq!(combine(&shares, t).unwrap().expose_secret(), &secret[..]);
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let secret = [5u8; 50];
        let mut splitter = Splitter::with_layout(50, 2, 3, 7, 2, &mut rng).unwrap();
        assert_eq!(splitter.stripe_len(), 14);
        // Not a whole stripe, not the rest, empty, too long.
        for bad in [0, 13, 15, 51] {
            assert!(matches!(
                splitter.piece_len(bad),
                Err(Error::LengthMismatch { index: 0, .. })
            ));
        }
        let piece_len = splitter.piece_len(14).unwrap();
        let mut a = vec![0u8; piece_len];
        let mut b = vec![0u8; piece_len];
        let mut c = vec![0u8; piece_len + 1];
        assert_eq!(
            splitter.seal(&secret[..14], &mut [&mut a, &mut b, &mut c]),
            Err(Error::LengthMismatch {
                index: 3,
                len: piece_len + 1,
                expected: piece_len
            })
        );
        assert!(splitter.seal(&secret[..14], &mut [&mut a, &mut b]).is_err());
        // Nothing was sealed by the refused calls; finishing early fails.
        assert_eq!(splitter.remaining(), 50);
        assert!(matches!(
            splitter.finish(),
            Err(Error::LengthMismatch { index: 0, .. })
        ));
        assert_eq!(
            Splitter::new(0, 2, 3, &mut rng).unwrap_err(),
            Error::EmptySecret
        );
    }
}
