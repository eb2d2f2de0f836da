//! Regenerates the known-answer vectors in `tests/data/`.
//!
//! ```sh
//! cargo run -p symbolon-envelope --example gen_vectors
//! ```
//!
//! Everything is deterministic: identities, blinding values and HPKE
//! ephemeral keys come from `ChaCha20Rng`s with fixed seeds, Ed25519
//! signatures are deterministic. The `fail_*` vectors that need a *valid*
//! signature over tampered content are re-signed here with a signer written
//! from `docs/envelope-format.md` alone (not the crate's own code), and the
//! blinded commitments are recomputed from the spec too, which cross-checks
//! it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use symbolon_envelope::{Envelope, Identity, Metadata, RecipientInfo, SIGNATURE_DOMAIN, Scheme};

const DEALER_SEED: [u8; 32] = [0x01; 32];
const CUSTODIAN_SEED: [u8; 32] = [0x02; 32];
const OTHER_SEED: [u8; 32] = [0x03; 32];
/// `rng` seeds of `Envelope::seal` (blinding, then HPKE ephemeral key).
const CLEAR_RNG_SEED: [u8; 32] = [0x0c; 32];
const SEALED_RNG_SEED: [u8; 32] = [0x10; 32];
const OTHER_RNG_SEED: [u8; 32] = [0x11; 32];
const FELDMAN_RNG_SEED: [u8; 32] = [0x0f; 32];

/// 2026-01-01T00:00:00Z.
const CREATED_AT: u64 = 1_767_225_600;

fn identity(seed: [u8; 32]) -> Identity {
    Identity::generate(&mut ChaCha20Rng::from_seed(seed))
}

fn share(len: u8, mul: u8, add: u8) -> Vec<u8> {
    (0..len)
        .map(|i| i.wrapping_mul(mul).wrapping_add(add))
        .collect()
}

/// `Envelope::seal` computes hash commitments itself; this placeholder is
/// overwritten.
const PLACEHOLDER_COMMITMENT: [u8; 32] = [0; 32];

fn clear_metadata() -> Metadata {
    Metadata {
        split_id: core::array::from_fn(|i| i as u8),
        key_id: "kat-key".into(),
        epoch: 1,
        scheme: Scheme::ShamirGf256,
        index: 2,
        threshold: 3,
        shares: 5,
        recipient: None,
        created_at: CREATED_AT,
        expires_at: Some(CREATED_AT + 365 * 86_400),
        commitment: PLACEHOLDER_COMMITMENT,
        label: "known-answer vector: clear".into(),
    }
}

fn sealed_metadata(id: &str, fingerprint: [u8; 32]) -> Metadata {
    Metadata {
        split_id: [0xa5; 16],
        key_id: "kat-key".into(),
        epoch: 7,
        scheme: Scheme::Ssms,
        index: 1,
        threshold: 2,
        shares: 3,
        recipient: Some(RecipientInfo {
            id: id.into(),
            fingerprint,
        }),
        created_at: CREATED_AT,
        expires_at: Some(CREATED_AT + 90 * 86_400),
        commitment: PLACEHOLDER_COMMITMENT,
        label: "known-answer vector: sealed".into(),
    }
}

fn feldman_metadata() -> Metadata {
    Metadata {
        split_id: [0xff; 16],
        key_id: "kat-feldman".into(),
        epoch: 0,
        scheme: Scheme::FeldmanRistretto255,
        index: 300,
        threshold: 500,
        shares: 1000,
        recipient: None,
        created_at: CREATED_AT,
        expires_at: None,
        commitment: blake3::derive_key("symbolon kat feldman commitment", b""),
        label: String::new(),
    }
}

/// The dealer's Ed25519 key, read from the identity file's documented
/// layout: `SYMI`, version, 32-byte X25519 secret, 32-byte Ed25519 seed.
fn signing_key_from_identity_file(armored: &str) -> SigningKey {
    let body: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let binary = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(&binary[..5], b"SYMI\x01");
    SigningKey::from_bytes(&binary[37..69].try_into().unwrap())
}

/// Positions of the parts of a version-1 envelope whose canonical metadata
/// is `metadata_len` bytes long.
struct Layout {
    metadata: std::ops::Range<usize>,
    signer: std::ops::Range<usize>,
    payload: std::ops::Range<usize>,
    signature: std::ops::Range<usize>,
}

fn layout(bytes: &[u8], metadata_len: usize) -> Layout {
    let m_end = 5 + metadata_len;
    Layout {
        metadata: 5..m_end,
        signer: m_end..m_end + 32,
        payload: m_end + 32..bytes.len() - 64,
        signature: bytes.len() - 64..bytes.len(),
    }
}

/// Signs `bytes` again, from the spec: Ed25519 over
/// `DOMAIN || metadata || signer || kind || BLAKE3-derive_key("symbolon shard payload v1", payload)`.
fn resign(bytes: &mut [u8], metadata_len: usize, key: &SigningKey) {
    let l = layout(bytes, metadata_len);
    let message = spec_message(bytes, &l);
    let signature = key.sign(&message).to_bytes();
    bytes[l.signature].copy_from_slice(&signature);
}

fn spec_message(bytes: &[u8], l: &Layout) -> Vec<u8> {
    let payload = &bytes[l.payload.clone()];
    let mut message = b"symbolon shard signature v1".to_vec();
    message.extend_from_slice(&bytes[l.metadata.clone()]);
    message.extend_from_slice(&bytes[l.signer.clone()]);
    message.push(payload[0]);
    message.extend_from_slice(&blake3::derive_key("symbolon shard payload v1", payload));
    message
}

/// The blinding `Envelope::seal` uses, from the spec: the first 32 bytes its
/// `rng` yields.
fn spec_blinding(rng_seed: [u8; 32]) -> [u8; 32] {
    let mut blinding = [0u8; 32];
    ChaCha20Rng::from_seed(rng_seed).fill_bytes(&mut blinding);
    blinding
}

/// The blinded commitment, from the spec: `BLAKE3-KDF("symbolon share
/// commitment v2", split_id || epoch || scheme || index || blinding || share)`.
fn spec_commitment(m: &Metadata, blinding: &[u8; 32], share: &[u8]) -> [u8; 32] {
    let mut input = m.split_id.to_vec();
    input.extend_from_slice(&m.epoch.to_be_bytes());
    input.push(m.scheme.code());
    input.extend_from_slice(&m.index.to_be_bytes());
    input.extend_from_slice(blinding);
    input.extend_from_slice(share);
    blake3::derive_key("symbolon share commitment v2", &input)
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Writes `key = value` (`key =` for an empty value: no trailing blanks).
fn kv(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let value = value.to_string();
    if value.is_empty() {
        writeln!(out, "{key} =").unwrap();
    } else {
        writeln!(out, "{key} = {value}").unwrap();
    }
}

/// How an envelope was made and what it opens to.
struct Made<'a> {
    share: &'a [u8],
    opened_by: &'a str,
    rng_seed: [u8; 32],
    /// For hash-committed schemes.
    blinding: Option<[u8; 32]>,
}

fn section(out: &mut String, file: &str, env: &Envelope, made: &Made<'_>) {
    let m = env.metadata();
    writeln!(out, "\n[{file}]").unwrap();
    kv(out, "split_id", hex(&m.split_id));
    kv(out, "key_id", &m.key_id);
    kv(out, "epoch", m.epoch);
    kv(out, "scheme", m.scheme);
    kv(out, "index", m.index);
    kv(out, "threshold", m.threshold);
    kv(out, "shares", m.shares);
    match &m.recipient {
        None => kv(out, "recipient", "none"),
        Some(r) => {
            kv(out, "recipient.id", &r.id);
            kv(out, "recipient.fingerprint", hex(&r.fingerprint));
        }
    }
    kv(out, "created_at", m.created_at);
    match m.expires_at {
        None => kv(out, "expires_at", "none"),
        Some(e) => kv(out, "expires_at", e),
    }
    kv(out, "commitment", hex(&m.commitment));
    kv(out, "label", &m.label);
    kv(out, "signer", hex(&env.signer()));
    kv(out, "sealed", env.is_sealed());
    kv(out, "payload_len", env.payload_len());
    kv(out, "opened_by", made.opened_by);
    kv(out, "share", hex(made.share));
    kv(out, "rng_seed", hex(&made.rng_seed));
    if let Some(blinding) = made.blinding {
        kv(out, "blinding", hex(&blinding));
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| fs::write(dir.join(name), bytes).unwrap();

    let dealer = identity(DEALER_SEED);
    let custodian = identity(CUSTODIAN_SEED);
    let other = identity(OTHER_SEED);

    let mut expected = String::from(
        "# Known-answer values for tests/data/kat_*; written by examples/gen_vectors.rs.\n\
         # Identities: Identity::generate(ChaCha20Rng::from_seed([seed; 32])).\n\
         # Shards: Envelope::seal(metadata, share, recipient, dealer, ChaCha20Rng::from_seed(rng_seed));\n\
         # blinding = its first 32 bytes (hash-committed schemes), then the HPKE ephemeral key (sealed).\n",
    );
    for (name, seed, id) in [
        ("dealer", DEALER_SEED, &dealer),
        ("custodian", CUSTODIAN_SEED, &custodian),
        ("other", OTHER_SEED, &other),
    ] {
        let r = id.recipient();
        write(
            &format!("kat_identity_{name}.asc"),
            id.to_armored().as_bytes(),
        );
        writeln!(expected, "\n[kat_identity_{name}.asc]").unwrap();
        writeln!(expected, "seed = {}", hex(&seed)).unwrap();
        writeln!(expected, "recipient = {r}").unwrap();
        writeln!(expected, "fingerprint = {}", hex(&r.fingerprint())).unwrap();
        writeln!(expected, "signing_key = {}", hex(&r.signing_key_bytes())).unwrap();
        writeln!(
            expected,
            "encryption_key = {}",
            hex(&r.encryption_key_bytes())
        )
        .unwrap();
    }

    // kat_clear.sym: a clear GF(2^8) Shamir share.
    let clear_share = share(32, 7, 3);
    let clear = Envelope::seal(
        clear_metadata(),
        &clear_share,
        None,
        &dealer,
        &mut ChaCha20Rng::from_seed(CLEAR_RNG_SEED),
    )
    .unwrap();
    let clear_bytes = clear.encode();
    let clear_blinding = spec_blinding(CLEAR_RNG_SEED);
    assert_eq!(
        clear.metadata().commitment,
        spec_commitment(clear.metadata(), &clear_blinding, &clear_share)
    );
    write("kat_clear.sym", &clear_bytes);
    let made = Made {
        share: &clear_share,
        opened_by: "none",
        rng_seed: CLEAR_RNG_SEED,
        blinding: Some(clear_blinding),
    };
    section(&mut expected, "kat_clear.sym", &clear, &made);

    // kat_sealed.sym / .asc: an SSMS share sealed to the custodian.
    let sealed_share = share(48, 13, 0x80);
    let to = custodian.recipient();
    let sealed = Envelope::seal(
        sealed_metadata("custodian-a", to.fingerprint()),
        &sealed_share,
        Some(&to),
        &dealer,
        &mut ChaCha20Rng::from_seed(SEALED_RNG_SEED),
    )
    .unwrap();
    let sealed_bytes = sealed.encode();
    let sealed_blinding = spec_blinding(SEALED_RNG_SEED);
    assert_eq!(
        sealed.metadata().commitment,
        spec_commitment(sealed.metadata(), &sealed_blinding, &sealed_share)
    );
    write("kat_sealed.sym", &sealed_bytes);
    write("kat_sealed.asc", sealed.to_armored().as_bytes());
    let made = Made {
        share: &sealed_share,
        opened_by: "custodian",
        rng_seed: SEALED_RNG_SEED,
        blinding: Some(sealed_blinding),
    };
    for file in ["kat_sealed.sym", "kat_sealed.asc"] {
        section(&mut expected, file, &sealed, &made);
    }

    // kat_feldman.sym: a clear scalar share with more than 255 shares (no
    // blinding; the commitment is the caller's).
    let feldman_share = share(32, 29, 1);
    let feldman = Envelope::seal(
        feldman_metadata(),
        &feldman_share,
        None,
        &dealer,
        &mut ChaCha20Rng::from_seed(FELDMAN_RNG_SEED),
    )
    .unwrap();
    assert_eq!(feldman.metadata().commitment, feldman_metadata().commitment);
    write("kat_feldman.sym", &feldman.encode());
    let made = Made {
        share: &feldman_share,
        opened_by: "none",
        rng_seed: FELDMAN_RNG_SEED,
        blinding: None,
    };
    section(&mut expected, "kat_feldman.sym", &feldman, &made);

    write("kat_expected.txt", expected.as_bytes());

    // The spec's signed message matches the crate's.
    let key = signing_key_from_identity_file(&dealer.to_armored());
    let clear_len = clear.metadata().to_canonical_bytes().unwrap().len();
    let sealed_len = sealed.metadata().to_canonical_bytes().unwrap().len();
    let cl = layout(&clear_bytes, clear_len);
    assert_eq!(spec_message(&clear_bytes, &cl), clear.signed_message());
    // A clear hash-committed payload is blinding || share.
    assert_eq!(
        clear_bytes[cl.payload.start + 1 + 8..cl.payload.end],
        [&clear_blinding[..], &clear_share].concat()
    );
    assert_eq!(
        spec_message(&sealed_bytes, &layout(&sealed_bytes, sealed_len)),
        sealed.signed_message()
    );
    assert!(SIGNATURE_DOMAIN == b"symbolon shard signature v1");

    write_failures(
        &dir,
        &clear_bytes,
        clear_len,
        &sealed_bytes,
        sealed_len,
        &key,
    );

    // A valid shard, but sealed to someone else than the custodian.
    let to_other = other.recipient();
    let for_other = Envelope::seal(
        sealed_metadata("other", to_other.fingerprint()),
        &sealed_share,
        Some(&to_other),
        &dealer,
        &mut ChaCha20Rng::from_seed(OTHER_RNG_SEED),
    )
    .unwrap();
    write("fail_sealed_to_other.sym", &for_other.encode());

    // Malformed identities and recipient strings.
    let identity_binary = {
        let text = custodian.to_armored();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let armor_identity = |binary: &[u8]| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(binary);
        let mut text = String::from("-----BEGIN SYMBOLON IDENTITY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
        text.push_str("-----END SYMBOLON IDENTITY-----\n");
        text
    };
    let mut unclamped = identity_binary.clone();
    unclamped[5] |= 0x07;
    write(
        "fail_identity_unclamped.asc",
        armor_identity(&unclamped).as_bytes(),
    );
    let mut version = identity_binary.clone();
    version[4] = 2;
    write(
        "fail_identity_version.asc",
        armor_identity(&version).as_bytes(),
    );

    let r = custodian.recipient().to_string();
    let mut typo = r.clone().into_bytes();
    let i = typo.len() - 10;
    typo[i] = if typo[i] == b'q' { b'p' } else { b'q' };
    let mut typo = String::from_utf8(typo).unwrap();
    typo.push('\n');
    write("fail_recipient_typo.txt", typo.as_bytes());
    let hrp = bech32::Hrp::parse("symbolon").unwrap();
    let bech32_not_m =
        bech32::encode::<bech32::Bech32>(hrp, &custodian.recipient().to_bytes()).unwrap();
    write(
        "fail_recipient_bech32.txt",
        format!("{bech32_not_m}\n").as_bytes(),
    );

    println!("wrote vectors to {}", dir.display());
}

fn write_failures(
    dir: &Path,
    clear: &[u8],
    clear_len: usize,
    sealed: &[u8],
    sealed_len: usize,
    dealer: &SigningKey,
) {
    let write = |name: &str, bytes: &[u8]| fs::write(dir.join(name), bytes).unwrap();
    let patched = |base: &[u8], at: usize, with: &[u8]| {
        let mut b = base.to_vec();
        b[at..at + with.len()].copy_from_slice(with);
        b
    };
    // Offsets in kat_clear.sym (key_id "kat-key", no recipient).
    let key_id = 5 + 16 + 1;
    let scheme = key_id + 7 + 8;
    let index = scheme + 1;
    let threshold = index + 2;
    let recipient_tag = threshold + 4;
    let created_at = recipient_tag + 1;
    let expires_tag = created_at + 8;
    let commitment = expires_tag + 9;
    let cl = layout(clear, clear_len);
    let sl = layout(sealed, sealed_len);

    write("fail_bad_magic.sym", &patched(clear, 0, b"X"));
    write("fail_unknown_version.sym", &patched(clear, 4, &[2]));
    write("fail_truncated.sym", &clear[..clear.len() - 1]);
    write("fail_trailing_bytes.sym", &[clear, &[0]].concat());
    write("fail_unknown_scheme.sym", &patched(clear, scheme, &[0x7f]));
    write("fail_index_zero.sym", &patched(clear, index, &[0, 0]));
    write(
        "fail_threshold_gt_shares.sym",
        &patched(clear, threshold, &[0, 6]),
    );
    write(
        "fail_bad_option_tag.sym",
        &patched(clear, expires_tag, &[2]),
    );
    write(
        "fail_invalid_utf8.sym",
        &patched(clear, key_id + 1, &[0xff]),
    );
    write(
        "fail_expiry_before_creation.sym",
        &patched(clear, expires_tag + 1, &CREATED_AT.to_be_bytes()),
    );
    // The Edwards identity point (y = 1): small order.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    write(
        "fail_signer_small_order.sym",
        &patched(clear, cl.signer.start, &identity_point),
    );
    // y = p + 3: a non-canonical encoding of a point (y = 3) of large order.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xf0;
    non_canonical[31] = 0x7f;
    write(
        "fail_signer_non_canonical.sym",
        &patched(clear, cl.signer.start, &non_canonical),
    );
    write(
        "fail_payload_length.sym",
        &patched(clear, cl.payload.start + 1, &u64::MAX.to_be_bytes()),
    );
    write(
        "fail_unknown_payload_kind.sym",
        &patched(clear, cl.payload.start, &[2]),
    );
    let mut sig = clear.to_vec();
    sig[cl.signature.start + 5] ^= 0x01;
    write("fail_bad_signature.sym", &sig);
    let mut flipped = sealed.to_vec();
    flipped[sl.payload.start + 1 + 32 + 8 + 3] ^= 0x01;
    write("fail_flipped_payload.sym", &flipped);
    let mut flipped_enc = sealed.to_vec();
    flipped_enc[sl.payload.start + 1] ^= 0x01;
    write("fail_flipped_encapsulated_key.sym", &flipped_enc);
    // Signed by someone else than the key named.
    let mut other_signer = clear.to_vec();
    resign(
        &mut other_signer,
        clear_len,
        &SigningKey::from_bytes(&[0x42; 32]),
    );
    write("fail_wrong_signer.sym", &other_signer);

    // Validly signed by the dealer, but wrong underneath.
    let mut ct = flipped.clone();
    resign(&mut ct, sealed_len, dealer);
    write("fail_resigned_ciphertext.sym", &ct);
    // Metadata changed after sealing: the HPKE AAD no longer matches.
    let mut meta = sealed.to_vec();
    let label_start = sl.signer.start - "known-answer vector: sealed".len();
    meta[label_start] = b'K';
    resign(&mut meta, sealed_len, dealer);
    write("fail_resigned_metadata.sym", &meta);
    let mut commit = clear.to_vec();
    commit[commitment] ^= 0x01;
    resign(&mut commit, clear_len, dealer);
    write("fail_commitment.sym", &commit);
    // The blinding (first payload byte after kind and length) altered.
    let blinding = cl.payload.start + 1 + 8;
    let mut blind = clear.to_vec();
    blind[blinding + 5] ^= 0x01;
    resign(&mut blind, clear_len, dealer);
    write("fail_commitment_blinding.sym", &blind);
    // Payload and commitment moved to another slot (index 1 of 5).
    let mut moved = patched(clear, index, &[0, 1]);
    resign(&mut moved, clear_len, dealer);
    write("fail_commitment_moved.sym", &moved);
    // A hash-committed payload holding a blinding and no share.
    let mut blinding_only = clear[..cl.payload.start].to_vec();
    blinding_only.push(0);
    blinding_only.extend_from_slice(&32u64.to_be_bytes());
    blinding_only.extend_from_slice(&clear[blinding..blinding + 32]);
    blinding_only.extend_from_slice(&[0; 64]);
    resign(&mut blinding_only, clear_len, dealer);
    write("fail_blinding_only.sym", &blinding_only);
    // An empty clear payload.
    let mut empty = clear[..cl.payload.start].to_vec();
    empty.push(0);
    empty.extend_from_slice(&0u64.to_be_bytes());
    empty.extend_from_slice(&[0; 64]);
    resign(&mut empty, clear_len, dealer);
    write("fail_empty_share.sym", &empty);

    // Armor.
    let armored = |bytes: &[u8], label: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut text = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
        text.push_str(&format!("-----END {label}-----\n"));
        text
    };
    let good = armored(sealed, "SYMBOLON SHARD");
    write(
        "fail_armor_missing_end.asc",
        good.replace("-----END SYMBOLON SHARD-----\n", "")
            .as_bytes(),
    );
    let mut bad_b64 = good.clone().into_bytes();
    let pos = good.find('\n').unwrap() + 10;
    bad_b64[pos] = b'*';
    write("fail_armor_bad_base64.asc", &bad_b64);
    write(
        "fail_armor_wrong_label.asc",
        armored(sealed, "SYMBOLON IDENTITY").as_bytes(),
    );
    write(
        "fail_armor_truncated.asc",
        armored(&sealed[..sealed.len() - 3], "SYMBOLON SHARD").as_bytes(),
    );
}
