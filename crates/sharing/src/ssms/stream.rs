//! The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
//! CRYPTO 2015, §7) over ChaCha20-Poly1305 (RFC 8439).
//!
//! Segment `i` of `N` is sealed under the nonce
//!
//! ```text
//! 0x00 * 7 || i (u32, big-endian) || (0x01 if i == N - 1 else 0x00)
//! ```
//!
//! with the split's parameters as associated data. The counter stops
//! reordering and dropping segments from the middle; the last-segment flag
//! stops truncation and extension. This is the nonce layout of RustCrypto's
//! `aead-stream` `StreamBE32`, but that crate drives segments one after the
//! other through a stateful encryptor, while we seal stripes in parallel on
//! every core; the schedule is a few lines, so it is written out here.
//!
//! The 7-byte nonce prefix is all zeros rather than random: the key is drawn
//! fresh for every split and encrypts exactly one stream, so the (key, nonce)
//! pairs are already unique through the counter alone. A random prefix only
//! matters when one key encrypts several streams, which never happens here.

use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, Nonce, Tag, aead::inout::InOutBuf};

use super::layout::{PARAMS_LEN, Params, TAG_LEN};
use crate::Error;

/// Domain separator at the head of the associated data.
const AAD_DOMAIN: &[u8; 24] = b"symbolon-sharing ssms v1";

/// Length of [`associated_data`].
pub(crate) const AAD_LEN: usize = AAD_DOMAIN.len() + PARAMS_LEN;

/// The associated data of every segment: a domain separator and the split's
/// parameters (version, `t`, `n`, secret length, segment and stripe sizes),
/// so a share cannot be reinterpreted under other parameters.
pub(crate) fn associated_data(params: &Params) -> [u8; AAD_LEN] {
    let mut aad = [0u8; AAD_LEN];
    let (domain, rest) = aad.split_at_mut(AAD_DOMAIN.len());
    domain.copy_from_slice(AAD_DOMAIN);
    rest.copy_from_slice(&params.encode());
    aad
}

/// The nonce of segment `counter`; `last` marks the final segment.
pub(crate) fn nonce(counter: u32, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    let (_prefix, tail) = nonce.split_at_mut(7);
    let (count, flag) = tail.split_at_mut(4);
    count.copy_from_slice(&counter.to_be_bytes());
    flag.copy_from_slice(&[u8::from(last)]);
    Nonce::from(nonce)
}

/// Seals one segment: reads `plain`, writes `ciphertext || tag` to `out`,
/// which must be exactly `plain.len() + 16` bytes. `out` never holds plaintext.
pub(crate) fn seal_segment(
    cipher: &ChaCha20Poly1305,
    aad: &[u8],
    counter: u32,
    last: bool,
    plain: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let (body, tag_out) = out
        .split_at_mut_checked(plain.len())
        .ok_or(Error::Decryption)?;
    let buffer = InOutBuf::new(plain, body).map_err(|_| Error::Decryption)?;
    let tag = cipher
        .encrypt_inout_detached(&nonce(counter, last), aad, buffer)
        .map_err(|_| Error::Decryption)?;
    if tag_out.len() != TAG_LEN {
        return Err(Error::Decryption);
    }
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// Opens one segment: checks the tag at the end of `sealed`, then writes the
/// plaintext to `out` (exactly `sealed.len() - 16` bytes). Nothing is written
/// to `out` when authentication fails.
pub(crate) fn open_segment(
    cipher: &ChaCha20Poly1305,
    aad: &[u8],
    counter: u32,
    last: bool,
    sealed: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let (body, tag) = sealed
        .split_at_checked(out.len())
        .ok_or(Error::Decryption)?;
    let tag = Tag::try_from(tag).map_err(|_| Error::Decryption)?;
    let buffer = InOutBuf::new(body, out).map_err(|_| Error::Decryption)?;
    cipher
        .decrypt_inout_detached(&nonce(counter, last), aad, buffer, &tag)
        .map_err(|_| Error::Decryption)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::{Key, KeyInit};

    fn params() -> Params {
        Params {
            threshold: 2,
            shares: 3,
            secret_len: 5,
            segment_size: 4,
            stripe_segments: 1,
        }
    }

    #[test]
    fn nonce_layout() {
        assert_eq!(
            nonce(0x0102_0304, true).as_slice(),
            &[0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 1]
        );
        assert_eq!(
            nonce(7, false).as_slice(),
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0]
        );
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let cipher = ChaCha20Poly1305::new(&Key::from([9u8; 32]));
        let aad = associated_data(&params());
        let mut sealed = [0u8; 4 + TAG_LEN];
        seal_segment(&cipher, &aad, 3, false, b"abcd", &mut sealed).unwrap();
        let mut plain = [0u8; 4];
        open_segment(&cipher, &aad, 3, false, &sealed, &mut plain).unwrap();
        assert_eq!(&plain, b"abcd");

        // Wrong position, wrong last flag, other parameters, flipped byte:
        // all refused, and nothing is written.
        let mut out = [0u8; 4];
        assert!(open_segment(&cipher, &aad, 4, false, &sealed, &mut out).is_err());
        assert!(open_segment(&cipher, &aad, 3, true, &sealed, &mut out).is_err());
        let other = associated_data(&Params {
            secret_len: 6,
            ..params()
        });
        assert!(open_segment(&cipher, &other, 3, false, &sealed, &mut out).is_err());
        sealed[0] ^= 1;
        assert!(open_segment(&cipher, &aad, 3, false, &sealed, &mut out).is_err());
        assert_eq!(out, [0u8; 4]);
    }

    /// RFC 8439 §2.8.2: our segment sealing is plain ChaCha20-Poly1305.
    #[test]
    fn rfc8439_aead_vector() {
        let key: [u8; 32] = core::array::from_fn(|i| 0x80 + i as u8);
        let cipher = ChaCha20Poly1305::new(&Key::from(key));
        let nonce = Nonce::from([
            0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ]);
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut body = plain.to_vec();
        let tag = cipher
            .encrypt_inout_detached(&nonce, &aad, body.as_mut_slice().into())
            .unwrap();
        assert_eq!(hex::encode(&body[..16]), "d31a8d34648e60db7b86afbc53ef7ec2");
        assert_eq!(hex::encode(tag), "1ae10b594f09e26a7e902ecbd0600691");
    }
}
