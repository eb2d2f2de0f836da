//! Krawczyk's computationally secure secret sharing for large secrets:
//! H. Krawczyk, "Secret Sharing Made Short", CRYPTO '93, LNCS 773, pp. 136–146.
//!
//! Shamir sharing makes every share as long as the secret; for a 1 GiB
//! secret at 3-of-5 that is 5 GiB. Krawczyk's scheme encrypts the secret
//! under a fresh key, disperses the ciphertext with an erasure code so any
//! `t` fragments rebuild it, and Shamir-shares only the short key. Each
//! share is then about `|secret| / t` bytes.
//!
//! # Construction
//!
//! [`split`]`(secret, t, n)`:
//!
//! 1. Draw a uniformly random 256-bit key `K` from the caller's CSPRNG.
//! 2. Encrypt the secret with ChaCha20-Poly1305 (RFC 8439) in the STREAM
//!    construction of Hoang, Reyhanitabar, Rogaway and Vizár (CRYPTO 2015):
//!    [`SEGMENT_SIZE`]-byte segments (64 KiB once sealed), segment `i` of `N`
//!    under the nonce `0^56 || i (u32 BE) || [i == N - 1]`, every segment
//!    with the split's parameters (version, `t`, `n`, secret length, segment
//!    and stripe sizes) as associated data. The all-zero nonce prefix is safe
//!    because `K` is fresh for every split and encrypts exactly one stream.
//! 3. Cut the ciphertext into stripes of `2 t` whole segments
//!    ([`stripe_len`]), zero-pad each stripe to `t` equal shards (a multiple
//!    of 64 bytes; full stripes need no padding), and extend them with
//!    `n - t` recovery shards of a systematic Reed-Solomon code over
//!    GF(2^16) (`reed-solomon-simd`): any `t` of the `n` shards rebuild the
//!    stripe (Rabin's information dispersal). Share `i`'s fragment is shard
//!    `i - 1` of every stripe. Stripes are sealed and coded in parallel, so
//!    the working memory is a few stripes per core and every core is busy.
//! 4. Shamir-share `K` byte-wise over GF(2^8) ([`crate::bytes::split`]),
//!    fingerprint every share (BLAKE3 over its key share and fragment) and
//!    give every share all `n` fingerprints; wipe `K`.
//!
//! [`combine`] checks that the shares agree on the split (the split
//! identifier, a digest of the parameters and fingerprints), rebuilds `K`
//! from `t` key shares, rebuilds each stripe from `t` fragments, checks the
//! padding and opens every segment, stripes in parallel. Missing original
//! shards are rebuilt as fixed linear combinations of the received ones,
//! with coefficients found once per call (see `dispersal::DecodePlan`). If
//! anything fails to authenticate, it checks each share it used against its
//! fingerprint to name the corrupt one.
//!
//! # Security
//!
//! Computational, not information-theoretic: `t - 1` shares reveal nothing
//! about the key (Shamir), but they do reveal their ciphertext fragments, so
//! the secret's confidentiality rests on ChaCha20 under a key the adversary
//! does not know (Krawczyk's theorem reduces the scheme's security to the
//! cipher's). The length of the secret is public. An adversary with
//! unbounded computation could decrypt the fragments. Use [`crate::bytes`]
//! when information-theoretic secrecy is required.
//!
//! Authenticity comes from the AEAD: a combined secret is returned only if
//! every STREAM segment authenticates under the rebuilt key, so a corrupt
//! share, a reordered, truncated or extended ciphertext, or shares of
//! different parameters yield an error, never a wrong secret. The
//! fingerprints only serve to name the culprit; they are not needed for
//! authenticity.
//!
//! [`split`] holds the key and the plaintext only in the caller's buffers
//! and in zeroizing temporaries; all stripe and erasure-coding buffers hold
//! ciphertext. [`combine`] writes plaintext only into the returned
//! [`SecretBytes`], which is wiped if combining fails.

mod combiner;
mod dispersal;
mod layout;
mod share;
mod splitter;
mod stream;

use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit};
use rand_core::CryptoRng;
use rayon::prelude::*;

pub use self::combiner::{Combiner, FragmentCheck};
use self::dispersal::{DecodePlan, Scratch};
use self::layout::Layout;
pub use self::share::{Share, ShareHeader};
pub use self::splitter::Splitter;
use crate::{Error, SecretBytes, bytes};

/// Version byte of the [`Share`] encoding, and the scheme version bound into
/// the associated data and the fingerprints.
pub const SHARE_VERSION: u8 = 1;

/// Secrets at least this long are shared with SSMS by default (the CLI's
/// `auto` scheme); shorter ones with plain Shamir ([`crate::bytes`]).
pub const DEFAULT_MIN_SIZE: usize = 64 * 1024;

/// Plaintext bytes per STREAM segment used by [`split`]: 64 KiB less the
/// 16-byte tag, so that a sealed segment is exactly 64 KiB. ([`combine`]
/// accepts whatever segment size the shares declare, up to 16 MiB.)
pub const SEGMENT_SIZE: usize = 64 * 1024 - 16;

/// Sealed segments per shard in the stripes [`split`] makes.
const SEGMENTS_PER_SHARD: usize = 2;

/// Plaintext bytes per dispersal stripe [`split`] uses at threshold `t`:
/// `2 t` segments, so every full stripe is exactly `t` shards of two sealed
/// segments (128 KiB): no padding, no segment straddling two shards, and a
/// working set that stays in the L2 cache while the stripe is coded.
pub const fn stripe_len(threshold: usize) -> usize {
    SEGMENT_SIZE * SEGMENTS_PER_SHARD * threshold
}

/// Splits `secret` into `shares` shares, any `threshold` of which rebuild it
/// with [`combine`]; each share is about `secret.len() / threshold` bytes.
///
/// Share `i` (0-based position in the result) has index `i + 1`.
///
/// # Errors
///
/// [`Error::TooManyShares`], [`Error::InvalidThreshold`] for bad parameters;
/// [`Error::EmptySecret`] for an empty secret; [`Error::SecretTooLong`] for a
/// secret of more than 2^32 segments (about 256 TiB).
///
/// # Security
///
/// Computationally secure only (see the [module docs](self)). `rng` must be
/// a cryptographically secure generator: it supplies the key and the Shamir
/// coefficients.
pub fn split<R: CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    shares: usize,
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    split_with_layout(
        secret,
        threshold,
        shares,
        SEGMENT_SIZE,
        SEGMENTS_PER_SHARD * threshold,
        rng,
    )
}

/// [`split`] with an explicit segment size and stripe length (tests use
/// small ones to exercise many segments and stripes cheaply).
pub(crate) fn split_with_layout<R: CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    shares: usize,
    segment_size: usize,
    stripe_segments: usize,
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    let len = u64::try_from(secret.len()).map_err(|_| Error::Internal {
        operation: "secret length",
    })?;
    let mut splitter =
        Splitter::with_layout(len, threshold, shares, segment_size, stripe_segments, rng)?;
    let header_len = splitter.header_len();
    let data_len = header_len
        .checked_add(splitter.fragment_len())
        .ok_or(Error::Internal {
            operation: "fragment length",
        })?;
    let mut fragments: Vec<Vec<u8>> = (0..shares).map(|_| vec![0u8; data_len]).collect();
    {
        let mut chunks: Vec<&mut [u8]> = fragments
            .iter_mut()
            .map(|f| f.get_mut(header_len..).unwrap_or_default())
            .collect();
        splitter.seal(secret, &mut chunks)?;
    }
    let headers = splitter.finish()?;
    Ok(headers
        .into_iter()
        .zip(fragments)
        .map(|(header, fragment)| header.into_share(fragment))
        .collect())
}

/// ChaCha20-Poly1305 under `key` (32 bytes).
///
/// The cipher keeps a copy of the key; it is wiped on drop only when
/// `chacha20poly1305`'s `zeroize` feature is enabled.
fn new_cipher(key: &[u8]) -> Result<ChaCha20Poly1305, Error> {
    let key = <&Key>::try_from(key).map_err(|_| Error::Internal {
        operation: "key length",
    })?;
    Ok(ChaCha20Poly1305::new(key))
}

/// Rebuilds the secret from at least `threshold` shares of one split.
///
/// With more than `threshold` shares, the ones with the lowest indices are
/// used (original shards first, so no erasure decoding is needed when
/// shares `1..=t` are present); the others are only checked to belong to
/// the same split.
///
/// # Errors
///
/// - [`Error::InvalidThreshold`] when `threshold` is zero;
/// - [`Error::NotEnoughShares`] when fewer than `threshold` shares are given;
/// - [`Error::MixedShares`] naming a share whose split identifier differs
///   from the one most of the shares carry (the first such on a tie), or the
///   first share when the shares were made for another threshold;
/// - [`Error::DuplicateIndex`] when an index repeats;
/// - [`Error::InvalidShare`] naming a share whose key share or fragment does
///   not match its fingerprint (found when decryption fails);
/// - [`Error::Decryption`] when the ciphertext fails authentication and no
///   share can be blamed (the fingerprints themselves were forged consistently).
///
/// # Security
///
/// The returned secret is authentic (every segment passed Poly1305 under the
/// rebuilt key). On any error nothing is returned and the partial plaintext
/// is wiped.
pub fn combine(shares: &[Share], threshold: usize) -> Result<SecretBytes, Error> {
    let used = select(shares, threshold, |s| {
        (s.index(), s.threshold(), s.split_id())
    })?;
    let first = used.first().ok_or(Error::NotEnoughShares {
        have: 0,
        need: threshold,
    })?;
    let layout = Layout::new(*first.params()).map_err(|_| Error::Internal {
        operation: "share parameters",
    })?;
    match open(&layout, &used) {
        Err(Error::Decryption) => {
            // Name the culprit if a share does not match its fingerprint.
            for share in &used {
                share.verify()?;
            }
            Err(Error::Decryption)
        }
        other => other,
    }
}

/// Checks that `items` (of which `key` gives the index, threshold and split
/// identifier) are at least `threshold` distinct shares of one split, and
/// returns the `threshold` of them with the lowest indices, sorted by index.
/// The errors are those of [`combine`].
pub(crate) fn select<T>(
    items: &[T],
    threshold: usize,
    key: impl Fn(&T) -> (u8, usize, [u8; 32]),
) -> Result<Vec<&T>, Error> {
    if threshold == 0 {
        return Err(Error::InvalidThreshold {
            threshold,
            shares: items.len(),
        });
    }
    if items.len() < threshold {
        return Err(Error::NotEnoughShares {
            have: items.len(),
            need: threshold,
        });
    }
    let reference = majority_split_id(items, |s| key(s).2)?;
    if let Some(odd) = items.iter().find(|s| key(s).2 != reference) {
        return Err(Error::MixedShares { index: key(odd).0 });
    }
    let need = threshold;
    let first = items
        .first()
        .ok_or(Error::NotEnoughShares { have: 0, need })?;
    let (first_index, first_threshold, _) = key(first);
    if first_threshold != threshold {
        return Err(Error::MixedShares { index: first_index });
    }
    let mut seen = [false; 256];
    for item in items {
        let index = key(item).0;
        let slot = seen
            .get_mut(usize::from(index))
            .ok_or(Error::InvalidIndex {
                index: usize::from(index),
            })?;
        if *slot {
            return Err(Error::DuplicateIndex { index });
        }
        *slot = true;
    }
    let mut used: Vec<&T> = items.iter().collect();
    used.sort_unstable_by_key(|s| key(s).0);
    used.truncate(threshold);
    Ok(used)
}

/// The split identifier carried by most of `items` (the earliest on a tie).
fn majority_split_id<T>(items: &[T], id_of: impl Fn(&T) -> [u8; 32]) -> Result<[u8; 32], Error> {
    let mut best: Option<([u8; 32], usize)> = None;
    for item in items {
        let id = id_of(item);
        let count = items.iter().filter(|s| id_of(s) == id).count();
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((id, count));
        }
    }
    best.map(|(id, _)| id)
        .ok_or(Error::NotEnoughShares { have: 0, need: 1 })
}

/// Rebuilds the key from `used` (exactly `t` shares, sorted by index) and
/// opens every stripe in parallel.
fn open(layout: &Layout, used: &[&Share]) -> Result<SecretBytes, Error> {
    let key_shares = used
        .iter()
        .map(|s| bytes::Share::new(s.index(), s.key_share().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let key = bytes::combine(&key_shares, layout.threshold())?;
    drop(key_shares);
    let cipher = new_cipher(key.expose_secret())?;
    drop(key);

    let aad = stream::associated_data(layout.params());
    let fragments: Vec<(u8, &[u8])> = used.iter().map(|s| (s.index(), s.fragment())).collect();
    let positions = used
        .iter()
        .map(|s| usize::from(s.index()).checked_sub(1))
        .collect::<Option<Vec<usize>>>()
        .ok_or(Error::InvalidIndex { index: 0 })?;
    let plan = DecodePlan::new(layout, &positions)?;
    let mut secret = SecretBytes::new(vec![0u8; layout.secret_len()]);
    secret
        .expose_secret_mut()
        .par_chunks_mut(layout.stripe_plain())
        .enumerate()
        .try_for_each_init(Scratch::default, |scratch, (s, out)| {
            dispersal::open_stripe(
                &cipher,
                &aad,
                layout,
                plan.as_ref(),
                &layout.stripe(s),
                &fragments,
                out,
                scratch,
            )
        })?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::dispersal::ShardDigest;
    use super::share::{Fingerprint, fingerprint};
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    use std::sync::Arc;

    fn random_secret(len: usize, seed: u64) -> Vec<u8> {
        let mut secret = vec![0u8; len];
        ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut secret);
        secret
    }

    /// Every subset of `t` shares, as index lists.
    fn subsets(n: usize, t: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n)
            .filter(|mask| mask.count_ones() as usize == t)
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
            .collect()
    }

    #[test]
    fn any_t_of_n_with_many_segments_and_stripes() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        // Segments of 7 bytes, 3 per stripe: lengths around every boundary.
        for len in [1, 6, 7, 8, 20, 21, 22, 23, 100, 257] {
            let secret = random_secret(len, len as u64);
            for (t, n) in [(1, 1), (1, 3), (2, 2), (2, 3), (3, 5), (4, 4)] {
                let shares = split_with_layout(&secret, t, n, 7, 3, &mut rng).unwrap();
                assert_eq!(shares.len(), n);
                for subset in subsets(n, t) {
                    let picked: Vec<Share> = subset.iter().map(|&i| shares[i].clone()).collect();
                    let combined = combine(&picked, t).unwrap();
                    assert_eq!(
                        combined.expose_secret(),
                        &secret[..],
                        "len {len} {t}-of-{n} {subset:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_flipped_fragment_byte_names_the_share() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let secret = random_secret(50, 3);
        let shares = split_with_layout(&secret, 2, 4, 7, 2, &mut rng).unwrap();
        for victim in 0..4 {
            let fragment_len = shares[victim].fragment().len();
            for pos in 0..fragment_len {
                let mut bytes = shares[victim].to_bytes();
                let at = bytes.len() - fragment_len + pos;
                bytes[at] ^= 0x20;
                let bad = Share::from_bytes(&bytes).unwrap();
                assert_eq!(
                    bad.verify(),
                    Err(Error::InvalidShare { index: bad.index() })
                );
                for partner in (0..4).filter(|&p| p != victim) {
                    let set = [bad.clone(), shares[partner].clone()];
                    assert_eq!(
                        combine(&set, 2),
                        Err(Error::InvalidShare { index: bad.index() }),
                        "victim {victim} pos {pos} partner {partner}"
                    );
                }
            }
        }
    }

    #[test]
    fn flipped_key_share_names_the_share() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let secret = random_secret(30, 5);
        let shares = split_with_layout(&secret, 3, 5, 8, 2, &mut rng).unwrap();
        let mut bytes = shares[4].to_bytes();
        bytes[20] ^= 1;
        let bad = Share::from_bytes(&bytes).unwrap();
        let set = [shares[0].clone(), bad, shares[2].clone()];
        assert_eq!(combine(&set, 3), Err(Error::InvalidShare { index: 5 }));
    }

    #[test]
    fn consistently_forged_fingerprints_give_decryption_error() {
        // An attacker who rewrites the fingerprints in every share cannot be
        // named, but still cannot get a wrong secret accepted.
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let secret = random_secret(40, 7);
        let shares = split_with_layout(&secret, 2, 3, 8, 2, &mut rng).unwrap();
        let mut a = shares[0].to_bytes();
        let b = shares[1].to_bytes();
        let fragment_start = a.len() - shares[0].fragment().len();
        a[fragment_start] ^= 1;
        let a = Share::from_bytes(&a).unwrap();
        let b = Share::from_bytes(&b).unwrap();
        let forged = |s: &Share, fingerprints: Arc<[Fingerprint]>| {
            Share::from_parts(
                s.index(),
                *s.params(),
                s.key_share().clone(),
                fingerprints,
                [
                    vec![0; share::header_len(s.params().shares)],
                    s.fragment().to_vec(),
                ]
                .concat(),
            )
        };
        let mut fps: Vec<Fingerprint> = shares[0].fingerprints_for_tests().to_vec();
        let layout = Layout::new(*a.params()).unwrap();
        let digests: Vec<ShardDigest> = a
            .fragment()
            .chunks(layout.full_shard())
            .map(|c| *blake3::hash(c).as_bytes())
            .collect();
        fps[0] = fingerprint(a.params(), 1, a.key_share().expose_secret(), &digests);
        let fps: Arc<[Fingerprint]> = fps.into();
        let set = [forged(&a, Arc::clone(&fps)), forged(&b, fps)];
        assert_eq!(set[0].verify(), Ok(()));
        assert_eq!(combine(&set, 2), Err(Error::Decryption));
    }

    #[test]
    fn refuses_bad_parameters() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        assert_eq!(
            split(b"x", 0, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 0,
                shares: 3
            }
        );
        assert_eq!(
            split(b"x", 4, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 4,
                shares: 3
            }
        );
        assert_eq!(
            split(b"x", 2, 256, &mut rng).unwrap_err(),
            Error::TooManyShares {
                shares: 256,
                max: 255
            }
        );
        assert_eq!(split(b"", 2, 3, &mut rng).unwrap_err(), Error::EmptySecret);
        assert_eq!(
            split_with_layout(b"x", 2, 3, 0, 1, &mut rng).unwrap_err(),
            Error::Internal {
                operation: "stripe layout"
            }
        );
    }

    #[test]
    fn debug_redacts_key_share() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let shares = split(b"top secret", 1, 1, &mut rng).unwrap();
        let key_hex = hex::encode(shares[0].key_share().expose_secret());
        let shown = format!("{:?}", shares[0]);
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&key_hex));
        assert!(!shown.contains(&format!("{:?}", shares[0].key_share().expose_secret())));
    }

    #[test]
    fn fft_decoder_and_combination_decoder_agree() {
        // t * missing <= 48 uses the linear combinations, above the FFT
        // decoder; both must rebuild the same secret.
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let secret = random_secret(5000, 13);
        let shares = split_with_layout(&secret, 8, 16, 100, 24, &mut rng).unwrap();
        for used in [0..8, 8..16, 4..12, 1..9, 7..15] {
            let picked = shares[used.clone()].to_vec();
            let combined = combine(&picked, 8).unwrap();
            assert_eq!(combined.expose_secret(), &secret[..], "{used:?}");
        }
        let positions: Vec<usize> = (8..16).collect();
        let layout = Layout::new(*shares[0].params()).unwrap();
        assert!(DecodePlan::new(&layout, &positions).unwrap().is_none());
        let positions: Vec<usize> = (0..8).filter(|&p| p != 3).chain([12]).collect();
        assert!(DecodePlan::new(&layout, &positions).unwrap().is_some());
    }

    #[test]
    fn threshold_one_key_share_is_the_key() {
        // t = 1: every share alone rebuilds the secret.
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let secret = random_secret(1000, 11);
        let shares = split_with_layout(&secret, 1, 4, 64, 4, &mut rng).unwrap();
        for share in &shares {
            assert_eq!(
                combine(core::slice::from_ref(share), 1)
                    .unwrap()
                    .expose_secret(),
                &secret[..]
            );
        }
    }
}
