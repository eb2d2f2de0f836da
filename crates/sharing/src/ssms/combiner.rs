//! Combining shares piece by piece, for secrets too large to hold in memory
//! alongside their shares: [`super::combine`], fed a few stripes of every
//! fragment at a time.
//!
//! The caller reads each share's header ([`ShareHeader::parse`]), builds a
//! [`Combiner`] from the headers, and then hands it the next piece of each
//! used fragment together with a buffer for the matching plaintext. Every
//! STREAM segment is authenticated before its plaintext is written, so any
//! plaintext handed out is authentic; but only [`Combiner::finish`] says
//! that the secret is complete. On [`Error::Decryption`], a
//! [`FragmentCheck`] of each used share names the corrupt one.

use chacha20poly1305::ChaCha20Poly1305;
use rayon::prelude::*;

use super::dispersal::{self, DecodePlan, Scratch, ShardDigest};
use super::layout::{Layout, Stripe};
use super::share::{ShareHeader, fingerprint};
use super::stream::{self, AAD_LEN};
use super::{new_cipher, select};
use crate::{Error, bytes};

/// `(stripes, piece length)` for the next `plain_len` plaintext bytes of
/// `layout` from stripe `next` on; see [`super::Splitter::piece_len`].
pub(super) fn pieces_for(
    layout: &Layout,
    next: usize,
    plain_len: usize,
) -> Result<(usize, usize), Error> {
    let remaining = remaining(layout, next);
    let stripe_len = layout.stripe_plain();
    if plain_len == 0
        || plain_len > remaining
        || (plain_len < remaining && !plain_len.is_multiple_of(stripe_len))
    {
        return Err(Error::LengthMismatch {
            index: 0,
            len: plain_len,
            expected: remaining.min(stripe_len),
        });
    }
    let stripes = plain_len.div_ceil(stripe_len);
    let first = layout.stripe(next);
    let last = layout.stripe(next + stripes - 1);
    Ok((
        stripes,
        last.fragment_offset + last.shard_len - first.fragment_offset,
    ))
}

/// Plaintext bytes of `layout` from stripe `next` on.
pub(super) fn remaining(layout: &Layout, next: usize) -> usize {
    if next >= layout.stripes() {
        return 0;
    }
    layout
        .secret_len()
        .saturating_sub(layout.stripe(next).plain.start)
}

/// An SSMS combination in progress: the key is rebuilt from `t` key shares
/// and the secret is opened a few stripes at a time with
/// [`Combiner::open`].
///
/// # Security
///
/// The combiner holds the rebuilt key (inside the cipher, wiped on drop).
/// Plaintext is written only to the caller's buffers, and only after the
/// segments it comes from have authenticated; wipe those buffers.
pub struct Combiner {
    cipher: ChaCha20Poly1305,
    layout: Layout,
    aad: [u8; AAD_LEN],
    plan: Option<DecodePlan>,
    used: Vec<u8>,
    next_stripe: usize,
}

impl core::fmt::Debug for Combiner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Combiner")
            .field("params", self.layout.params())
            .field("used", &self.used)
            .field("next_stripe", &self.next_stripe)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Combiner {
    /// Checks `headers` as [`super::combine`] checks shares, picks the
    /// `threshold` with the lowest indices ([`Combiner::used`]) and rebuilds
    /// the key.
    ///
    /// # Errors
    ///
    /// As [`super::combine`]: [`Error::InvalidThreshold`],
    /// [`Error::NotEnoughShares`], [`Error::MixedShares`],
    /// [`Error::DuplicateIndex`].
    pub fn new(headers: &[ShareHeader], threshold: usize) -> Result<Self, Error> {
        let used = select(headers, threshold, |h| {
            (h.index(), h.threshold(), h.split_id())
        })?;
        let first = used.first().ok_or(Error::NotEnoughShares {
            have: 0,
            need: threshold,
        })?;
        let layout = first.layout()?;
        let key_shares = used
            .iter()
            .map(|h| bytes::Share::new(h.index(), h.key_share().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let key = bytes::combine(&key_shares, layout.threshold())?;
        drop(key_shares);
        let cipher = new_cipher(key.expose_secret())?;
        drop(key);
        let positions = used
            .iter()
            .map(|h| usize::from(h.index()).checked_sub(1))
            .collect::<Option<Vec<usize>>>()
            .ok_or(Error::InvalidIndex { index: 0 })?;
        let plan = DecodePlan::new(&layout, &positions)?;
        Ok(Self {
            cipher,
            aad: stream::associated_data(layout.params()),
            plan,
            used: used.iter().map(|h| h.index()).collect(),
            layout,
            next_stripe: 0,
        })
    }

    /// The indices of the shares used, in the order [`Combiner::open`]
    /// wants their pieces.
    pub fn used(&self) -> &[u8] {
        &self.used
    }

    /// Length of the secret.
    pub fn secret_len(&self) -> usize {
        self.layout.secret_len()
    }

    /// Plaintext bytes per stripe: [`Combiner::open`] produces a whole
    /// number of stripes at a time (the last stripe may be shorter).
    pub fn stripe_len(&self) -> usize {
        self.layout.stripe_plain()
    }

    /// Plaintext bytes not opened yet.
    pub fn remaining(&self) -> usize {
        remaining(&self.layout, self.next_stripe)
    }

    /// Length of each used share's piece that [`Combiner::open`] needs to
    /// produce the next `plain_len` bytes of the secret.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] (index 0) when `plain_len` is neither a
    /// positive multiple of [`Combiner::stripe_len`] within the rest of the
    /// secret nor exactly the rest of the secret.
    pub fn piece_len(&self, plain_len: usize) -> Result<usize, Error> {
        pieces_for(&self.layout, self.next_stripe, plain_len).map(|(_, piece)| piece)
    }

    /// Rebuilds and opens the next `out.len()` bytes of the secret from
    /// `pieces`, the next piece of each used share's fragment (in
    /// [`Combiner::used`] order, each [`Combiner::piece_len`] long), stripes
    /// in parallel.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] for wrong lengths (nothing is opened);
    /// [`Error::Decryption`] when a segment fails to authenticate or the
    /// padding is not zero: some used share is corrupt (check each with a
    /// [`FragmentCheck`]). `out` may then hold authentic plaintext of the
    /// stripes before the bad one; wipe it.
    pub fn open(&mut self, pieces: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        let (stripes, piece_len) = pieces_for(&self.layout, self.next_stripe, out.len())?;
        if pieces.len() != self.used.len() {
            return Err(Error::LengthMismatch {
                index: 0,
                len: pieces.len(),
                expected: self.used.len(),
            });
        }
        for (&index, piece) in self.used.iter().zip(pieces) {
            if piece.len() != piece_len {
                return Err(Error::LengthMismatch {
                    index,
                    len: piece.len(),
                    expected: piece_len,
                });
            }
        }
        let first = self.next_stripe;
        let base = self.layout.stripe(first).fragment_offset;
        let fragments: Vec<(u8, &[u8])> = self
            .used
            .iter()
            .copied()
            .zip(pieces.iter().copied())
            .collect();
        let (cipher, aad, layout, plan) =
            (&self.cipher, &self.aad, &self.layout, self.plan.as_ref());
        out.par_chunks_mut(layout.stripe_plain())
            .enumerate()
            .try_for_each_init(Scratch::default, |scratch, (s, out)| {
                let stripe = layout.stripe(first + s);
                // The pieces start at the first stripe's shard.
                let stripe = Stripe {
                    fragment_offset: stripe.fragment_offset - base,
                    ..stripe
                };
                dispersal::open_stripe(cipher, aad, layout, plan, &stripe, &fragments, out, scratch)
            })?;
        self.next_stripe += stripes;
        Ok(())
    }

    /// Ends the combination.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] (index 0) unless the whole secret was opened.
    pub fn finish(self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            remaining => Err(Error::LengthMismatch {
                index: 0,
                len: self.layout.secret_len() - remaining,
                expected: self.layout.secret_len(),
            }),
        }
    }
}

/// Checks a share's fragment, fed piece by piece in order, against the
/// share's own fingerprint: [`super::Share::verify`] without holding the
/// fragment. Made by [`ShareHeader::fragment_check`].
pub struct FragmentCheck {
    header: ShareHeader,
    layout: Layout,
    digests: Vec<ShardDigest>,
    hasher: blake3::Hasher,
    /// Bytes of the current shard hashed so far.
    filled: usize,
    /// Bytes fed beyond the fragment.
    excess: bool,
}

impl core::fmt::Debug for FragmentCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FragmentCheck")
            .field("index", &self.header.index())
            .field("shards", &self.digests.len())
            .finish_non_exhaustive()
    }
}

impl FragmentCheck {
    pub(super) fn new(header: &ShareHeader, layout: &Layout) -> Result<Self, Error> {
        Ok(Self {
            header: header.clone(),
            layout: layout.clone(),
            digests: Vec::with_capacity(layout.stripes()),
            hasher: blake3::Hasher::new(),
            filled: 0,
            excess: false,
        })
    }

    /// Feeds the next bytes of the fragment.
    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let stripe = self.digests.len();
            if stripe >= self.layout.stripes() {
                self.excess = true;
                return;
            }
            let shard_len = self.layout.stripe(stripe).shard_len;
            let take = (shard_len - self.filled).min(bytes.len());
            let (head, tail) = bytes.split_at(take);
            self.hasher.update(head);
            self.filled += take;
            if self.filled == shard_len {
                self.digests.push(*self.hasher.finalize().as_bytes());
                self.hasher.reset();
                self.filled = 0;
            }
            bytes = tail;
        }
    }

    /// Whether the fragment fed matches the share's fingerprint.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidShare`] naming the share when it does not (or when
    /// the fragment fed was too short or too long).
    pub fn finish(self) -> Result<(), Error> {
        let index = self.header.index();
        if self.excess || self.filled != 0 || self.digests.len() != self.layout.stripes() {
            return Err(Error::InvalidShare { index });
        }
        let actual = fingerprint(
            self.header.params(),
            index,
            self.header.key_share().expose_secret(),
            &self.digests,
        );
        if self.header.matches_fingerprint(&actual) {
            Ok(())
        } else {
            Err(Error::InvalidShare { index })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Share, split_with_layout};
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    /// Combines `encodings` piece by piece, `stripes_per_call` stripes at a time.
    fn combine_in_pieces(
        encodings: &[Vec<u8>],
        t: usize,
        stripes_per_call: usize,
    ) -> Result<Vec<u8>, Error> {
        let headers: Vec<ShareHeader> = encodings
            .iter()
            .map(|e| ShareHeader::parse(e, e.len() as u64))
            .collect::<Result<_, _>>()?;
        let mut combiner = Combiner::new(&headers, t)?;
        let fragments: Vec<&[u8]> = combiner
            .used()
            .iter()
            .map(|&i| {
                let (h, e) = headers
                    .iter()
                    .zip(encodings)
                    .find(|(h, _)| h.index() == i)
                    .unwrap();
                &e[h.encoded_len()..]
            })
            .collect();
        let mut out = Vec::new();
        let mut offset = 0;
        while combiner.remaining() > 0 {
            let take = combiner
                .remaining()
                .min(combiner.stripe_len() * stripes_per_call);
            let piece_len = combiner.piece_len(take)?;
            let pieces: Vec<&[u8]> = fragments
                .iter()
                .map(|f| &f[offset..offset + piece_len])
                .collect();
            let mut plain = vec![0u8; take];
            combiner.open(&pieces, &mut plain)?;
            out.extend_from_slice(&plain);
            offset += piece_len;
        }
        combiner.finish()?;
        Ok(out)
    }

    #[test]
    fn pieces_combine_like_combine() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for len in [1usize, 21, 22, 100, 257] {
            let mut secret = vec![0u8; len];
            rng.fill_bytes(&mut secret);
            for (t, n) in [(1, 2), (2, 3), (3, 5)] {
                let shares = split_with_layout(&secret, t, n, 7, 3, &mut rng).unwrap();
                let encodings: Vec<Vec<u8>> =
                    shares.iter().map(|s| s.to_bytes().to_vec()).collect();
                for skip in 0..n {
                    let picked: Vec<Vec<u8>> = encodings
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != skip || n == t)
                        .map(|(_, e)| e.clone())
                        .collect();
                    for per_call in [1, 3] {
                        assert_eq!(combine_in_pieces(&picked, t, per_call).unwrap(), secret);
                    }
                }
            }
        }
    }

    #[test]
    fn corrupt_piece_fails_and_fragment_check_names_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let secret = vec![3u8; 200];
        let shares = split_with_layout(&secret, 2, 3, 7, 3, &mut rng).unwrap();
        let mut encodings: Vec<Vec<u8>> = shares.iter().map(|s| s.to_bytes().to_vec()).collect();
        let last = encodings[1].len() - 1;
        encodings[1][last - 40] ^= 4;
        let used = &encodings[..2];
        assert_eq!(combine_in_pieces(used, 2, 2), Err(Error::Decryption));
        for (i, e) in used.iter().enumerate() {
            let header = ShareHeader::parse(e, e.len() as u64).unwrap();
            let mut check = header.fragment_check().unwrap();
            for piece in e[header.encoded_len()..].chunks(13) {
                check.update(piece);
            }
            let expected = Share::from_bytes(e).unwrap().verify();
            assert_eq!(check.finish(), expected);
            assert_eq!(expected.is_err(), i == 1);
        }
        // Too short or too long a fragment never matches.
        let e = &encodings[0];
        let header = ShareHeader::parse(e, e.len() as u64).unwrap();
        let mut short = header.fragment_check().unwrap();
        short.update(&e[header.encoded_len()..e.len() - 1]);
        assert_eq!(short.finish(), Err(Error::InvalidShare { index: 1 }));
        let mut long = header.fragment_check().unwrap();
        long.update(&e[header.encoded_len()..]);
        long.update(&[0]);
        assert_eq!(long.finish(), Err(Error::InvalidShare { index: 1 }));
    }

    #[test]
    fn header_parse_matches_share_decoding() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let shares = split_with_layout(&[9u8; 60], 2, 3, 7, 3, &mut rng).unwrap();
        let bytes = shares[2].to_bytes();
        let header =
            ShareHeader::parse(&bytes[..200.min(bytes.len())], bytes.len() as u64).unwrap();
        assert_eq!(header.index(), 3);
        assert_eq!(header.split_id(), shares[2].split_id());
        assert_eq!(&*header.to_bytes().unwrap(), &bytes[..header.encoded_len()]);
        for total in [bytes.len() - 1, bytes.len() + 1] {
            let whole = if total < bytes.len() {
                bytes[..total].to_vec()
            } else {
                [&bytes[..], &[0]].concat()
            };
            assert_eq!(
                ShareHeader::parse(&bytes, total as u64).map(|_| ()),
                Share::from_bytes(&whole).map(|_| ())
            );
        }
        assert!(format!("{header:?}").contains("<redacted>"));
    }
}
