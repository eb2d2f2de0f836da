//! CCA-secure threshold decryption on ristretto255: TDH2 of Shoup and
//! Gennaro, as a hybrid (KEM/DEM) scheme.
//!
//! Reference: V. Shoup and R. Gennaro, *Securing Threshold Cryptosystems
//! against Chosen Ciphertext Attack*, EUROCRYPT '98 (LNCS 1403) and
//! J. Cryptology 15(2), 2002 — scheme TDH2.
//!
//! # Keys
//!
//! The secret key `x` is Shamir-shared over the ristretto255 scalar field:
//! participant `i` holds `x_i = f(i)` for a random polynomial `f` of degree
//! `t − 1` with `f(0) = x`, and publishes `Y_i = x_i·G`; the group key is
//! `Y = x·G` ([`GroupPublic`]). Keys come from the trusted dealer [`deal`],
//! or from FROST's DKG over ristretto255 ([`crate::dkg`] with
//! [`crate::dkg::Ristretto255`], or frost-ristretto255's own output via
//! [`KeyShare::from_frost_bytes`] and [`GroupPublic::from_frost_bytes`]):
//! FROST(ristretto255, SHA-512) uses the same group and generator, so its
//! signing shares are TDH2 key shares.
//!
//! # Construction
//!
//! `G` is the ristretto255 generator, `Ḡ` a second generator derived by
//! hashing to the group (RFC 9496's one-way map of SHA-512 of a domain
//! string), so nobody knows `log_G Ḡ`. `H_c` and `H_s` are SHA-512 reduced to
//! a scalar, each with its own domain string and every input
//! length-prefixed. `KDF` is HKDF-SHA256 and `AEAD` ChaCha20-Poly1305.
//!
//! * [`encrypt`]`(Y, L, m)`: `r` random; `U = r·G`, `Ū = r·Ḡ`,
//!   `K = r·Y`; `k = KDF(salt = domain, ikm = K, info = Y ‖ U ‖ L)`;
//!   `c = AEAD_k(nonce = 0, ad = format header, m)`. Proof: `s` random,
//!   `W = s·G`, `W̄ = s·Ḡ`, `e = H_c(Y, L, c, Ḡ, U, Ū, W, W̄)`, `f = s + r·e`.
//!   The ciphertext is `(U, Ū, e, f, c)`.
//! * Validity ([`Ciphertext::verify`]): `e = H_c(Y, L, c, Ḡ, U, Ū, f·G − e·U,
//!   f·Ḡ − e·Ū)`.
//! * [`decrypt_share`] by participant `i`: refuse unless valid; then
//!   `U_i = x_i·U` and a Chaum–Pedersen proof: `s_i` random, `A = s_i·G`,
//!   `B = s_i·U`, `e_i = H_s(i, U, Y_i, U_i, A, B)`, `f_i = s_i + x_i·e_i`.
//! * [`verify_decryption_share`]: `e_i = H_s(i, U, Y_i, U_i, f_i·G − e_i·Y_i,
//!   f_i·U − e_i·U_i)`.
//! * [`combine`]: refuse unless valid and every share verifies; with `t`
//!   shares from the set `S`, `K = Σ_{i∈S} λ_i·U_i = x·U = r·Y` (Lagrange
//!   at 0), derive `k`, open `c`.
//!
//! The random scalars `r`, `s`, `s_i` are *hedged*: hashed together with
//! the secret (`x_i`, or for `r` the key, label and plaintext), so a
//! failing RNG alone cannot repeat them across different inputs.
//!
//! # Differences from the paper, and why they are harmless
//!
//! * **Hybrid encryption.** The paper masks `m` with `H_1(K)`; here `K`
//!   keys an AEAD through HKDF. The key is fresh for every ciphertext
//!   (fresh `r`), so the fixed all-zero nonce is used once per key. The
//!   AEAD's own integrity is not what gives CCA security (the proof does),
//!   but it makes a wrong recombination fail closed.
//! * **More context in the hashes.** `H_c` also binds `Y` (a ciphertext is
//!   valid for one group key only) and `Ḡ`; `H_s` binds the index `i`, `U`
//!   and `Y_i`. Adding public context to a Fiat–Shamir hash only narrows
//!   what a proof can be replayed for.
//!
//! # Security
//!
//! In the random-oracle model (for `H_c`, `H_s` and the KDF), assuming the
//! decisional Diffie–Hellman problem is hard in ristretto255, TDH2 is secure
//! against adaptive chosen-ciphertext attacks by an adversary that
//! statically corrupts up to `t − 1` participants (Shoup–Gennaro). The
//! mechanism: `(e, f)` is a non-interactive proof that whoever made
//! `(U, Ū)` knows `r`, bound to the label and the body, so participants
//! that refuse invalid ciphertexts only ever answer queries whose answer
//! the asker could compute itself, and a challenge ciphertext cannot be
//! mauled into a valid one with another body or label. Decryption shares
//! carry proofs, so the combiner detects and names a cheating participant
//! ([`crate::Error::InvalidDecryptionShare`]) instead of producing garbage.
//!
//! Assumptions beyond the paper's: that nobody knows `log_G Ḡ` (it is a
//! hash output); that keys come from an honest dealer or from FROST's DKG
//! (Pedersen's DKG lets a rushing adversary bias the group key's
//! distribution, Gennaro–Jarecki–Krawczyk–Rabin 1999; this is not known to
//! help against TDH2 but is outside the paper's proof); and that the
//! combiner is entitled to the plaintext, since it learns it.
//!
//! # Encodings
//!
//! Each starts with 4 magic bytes and a version byte (1): `SYTC`
//! [`Ciphertext`], `SYTD` [`DecryptionShare`], `SYTK` [`KeyShare`], `SYTG`
//! [`GroupPublic`]; integers big-endian, scalars canonical little-endian,
//! points ristretto255-compressed. Decoding refuses wrong lengths, trailing
//! bytes, non-canonical scalars and invalid points.

mod ciphertext;
mod keys;
mod proof;
mod share;

pub use ciphertext::{CIPHERTEXT_OVERHEAD, Ciphertext, encrypt, encrypt_to};
pub use keys::{EncryptionKey, GroupPublic, KEY_SHARE_LEN, KeyShare, deal};
pub use share::{
    CheckedShare, Combiner, DECRYPTION_SHARE_LEN, DecryptionShare, combine, decrypt_share,
    verify_decryption_share,
};
