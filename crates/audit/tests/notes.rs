//! Signed tree heads: round trip, tampering, cosignatures, and malformed
//! notes refused with the precise error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use symbolon_audit::note::{MAX_NOTE_LEN, MAX_SIGNATURES};
use symbolon_audit::{Error, NodeHash, NoteDefect, NoteKey, SignedTreeHead, TreeHead, leaf_hash};

const ORIGIN: &str = "symbolon.example/log";

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn witness(i: u8) -> (SigningKey, NoteKey) {
    let sk = SigningKey::from_bytes(&[10 + i; 32]);
    let vk = NoteKey::new(&format!("witness.example/w{i}"), sk.verifying_key()).unwrap();
    (sk, vk)
}

fn log_verifier() -> NoteKey {
    NoteKey::new(ORIGIN, log_key().verifying_key()).unwrap()
}

fn head(size: u64) -> TreeHead {
    TreeHead {
        size,
        root_hash: leaf_hash(&size.to_be_bytes()),
        timestamp_ms: 1_700_000_000_000 + size,
    }
}

fn signed(size: u64, witnesses: u8) -> SignedTreeHead {
    let mut s = head(size).sign(ORIGIN, ORIGIN, &log_key()).unwrap();
    for i in 0..witnesses {
        s.cosign(&format!("witness.example/w{i}"), &witness(i).0)
            .unwrap();
    }
    s
}

fn err(line: usize, defect: NoteDefect) -> Result<SignedTreeHead, Error> {
    Err(Error::MalformedNote { line, defect })
}

#[test]
fn round_trip_and_verify() {
    let s = signed(42, 3);
    let note = s.to_note();
    assert_eq!(note, s.to_string());
    let parsed = SignedTreeHead::parse(&note).unwrap();
    assert_eq!(parsed, s);
    assert_eq!(parsed.to_note(), note);
    assert_eq!(parsed.origin(), ORIGIN);
    assert_eq!(*parsed.verify(&log_verifier()).unwrap(), head(42));
    assert_eq!(parsed.signatures().len(), 4);
}

#[test]
fn cosignatures_are_counted_once_per_valid_witness() {
    let s = signed(7, 3);
    let all: Vec<NoteKey> = (0..5).map(|i| witness(i).1).collect();
    assert_eq!(s.count_valid_cosignatures(&all), 3);
    assert_eq!(s.count_valid_cosignatures(&all[..1]), 1);
    assert_eq!(s.count_valid_cosignatures(&all[3..]), 0);
    // The same key listed twice counts once.
    assert_eq!(
        s.count_valid_cosignatures(&[all[0].clone(), all[0].clone()]),
        1
    );
    // A key under a name it did not sign with does not count.
    let renamed = NoteKey::new("other.example", witness(0).0.verifying_key()).unwrap();
    assert_eq!(s.count_valid_cosignatures(&[renamed]), 0);
    // A witness signature on a different tree head does not count.
    let mut other = signed(8, 0);
    other.cosign("witness.example/w0", &witness(0).0).unwrap();
    let mut mixed = s.to_note();
    let foreign = other.to_note().lines().last().unwrap().to_owned();
    mixed = mixed.replace(s.to_note().lines().nth(6).unwrap(), &foreign);
    let mixed = SignedTreeHead::parse(&mixed).unwrap();
    assert_eq!(mixed.count_valid_cosignatures(&all), 2);
    // Cosigning twice with the same key is refused.
    let mut again = s.clone();
    assert_eq!(
        again.cosign("witness.example/w0", &witness(0).0),
        Err(Error::AlreadySigned {
            key_name: "witness.example/w0".into()
        })
    );
}

#[test]
fn log_signature_missing_or_bad() {
    let s = signed(3, 1);
    let (_, w) = witness(0);
    // The witness key is not the log key.
    let wrong = NoteKey::new(ORIGIN, witness(0).0.verifying_key()).unwrap();
    assert_eq!(
        s.verify(&wrong),
        Err(Error::LogSignatureMissing {
            key_name: ORIGIN.into()
        })
    );
    // A note signed only by a witness.
    let note = s.to_note();
    let only_witness: String = note
        .lines()
        .filter(|l| !l.starts_with(&format!("\u{2014} {ORIGIN} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    let parsed = SignedTreeHead::parse(&only_witness).unwrap();
    assert_eq!(
        parsed.verify(&log_verifier()),
        Err(Error::LogSignatureMissing {
            key_name: ORIGIN.into()
        })
    );
    assert_eq!(parsed.count_valid_cosignatures(&[w]), 1);
}

#[test]
fn malformed_notes_name_line_and_defect() {
    let good = signed(8, 1).to_note();
    let sig = good.lines().nth(5).unwrap().to_owned();
    let body =
        "symbolon.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp_ms 5\n";
    let with = |body: &str| format!("{body}\n{sig}\n");

    assert_eq!(
        SignedTreeHead::parse(&"x".repeat(MAX_NOTE_LEN + 1)),
        err(0, NoteDefect::TooLarge)
    );
    assert_eq!(
        SignedTreeHead::parse(&good.replace("\n8\n", "\n8\r\n")),
        err(2, NoteDefect::ControlCharacter)
    );
    assert_eq!(
        SignedTreeHead::parse(&good.replace("timestamp_ms", "timestamp_ms\t")),
        err(4, NoteDefect::ControlCharacter)
    );
    assert_eq!(
        SignedTreeHead::parse(good.trim_end_matches('\n')),
        err(7, NoteDefect::NoFinalNewline)
    );
    assert_eq!(
        SignedTreeHead::parse(&good.replacen("\n\n", "\n", 1)),
        err(0, NoteDefect::NoSeparator)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n")),
        err(6, NoteDefect::NoSignatures)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n- {}\n", &sig[4..])),
        err(6, NoteDefect::SignatureLinePrefix)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n\u{2014} nospace\n")),
        err(6, NoteDefect::KeyName)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n\u{2014} a+b AAAAAAA=\n")),
        err(6, NoteDefect::KeyName)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n\u{2014} k not*base64\n")),
        err(6, NoteDefect::SignatureBase64)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n\u{2014} k AAAA\n")),
        err(6, NoteDefect::SignatureTooShort)
    );
    assert_eq!(
        SignedTreeHead::parse(&format!("{good}{sig}\n")),
        err(8, NoteDefect::DuplicateSignature)
    );
    let many: String = (0..=MAX_SIGNATURES)
        .map(|i| format!("\u{2014} k{i} AAAAAAA=\n"))
        .collect();
    assert_eq!(
        SignedTreeHead::parse(&format!("{body}\n{many}")),
        err(6 + MAX_SIGNATURES, NoteDefect::TooManySignatures)
    );

    assert_eq!(
        SignedTreeHead::parse(&with("symbolon.example/log\n8\n")),
        err(3, NoteDefect::MissingLine)
    );
    assert_eq!(
        SignedTreeHead::parse(&with(&format!("{body}x\n"))),
        err(5, NoteDefect::ExtraLine)
    );
    assert_eq!(
        SignedTreeHead::parse(&with(&body.replace("symbolon.example/log", "a log"))),
        err(1, NoteDefect::Origin)
    );
    assert_eq!(
        SignedTreeHead::parse(&with(&body.replace("symbolon.example/log", "a+log"))),
        err(1, NoteDefect::Origin)
    );
    for size in ["08", "-8", "8 ", "", "18446744073709551616", "0x8"] {
        let b = body.replace("\n8\n", &format!("\n{size}\n"));
        assert_eq!(
            SignedTreeHead::parse(&with(&b)),
            err(2, NoteDefect::TreeSize),
            "{size:?}"
        );
    }
    for root in [
        "",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=",
    ] {
        let b = body.replace("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", root);
        assert_eq!(
            SignedTreeHead::parse(&with(&b)),
            err(3, NoteDefect::RootHash),
            "{root:?}"
        );
    }
    for ts in [
        "timestamp_ms  5",
        "timestamp_ms 05",
        "timestamp 5",
        "timestamp_ms",
        "5",
    ] {
        let b = body.replace("timestamp_ms 5", ts);
        assert_eq!(
            SignedTreeHead::parse(&with(&b)),
            err(4, NoteDefect::Timestamp),
            "{ts:?}"
        );
    }
    // Unknown keys' lines of other lengths are kept (and ignored).
    let parsed =
        SignedTreeHead::parse(&format!("{good}\u{2014} pq.example/k AAAAAAAAAAAA\n")).unwrap();
    assert_eq!(parsed.signatures().len(), 3);
    assert!(parsed.verify(&log_verifier()).is_ok());
}

#[test]
fn origins_and_names_are_checked_when_signing() {
    assert!(matches!(
        head(1).sign("a log", ORIGIN, &log_key()),
        Err(Error::InvalidOrigin { .. })
    ));
    assert!(matches!(
        head(1).sign(ORIGIN, "", &log_key()),
        Err(Error::InvalidKeyName { .. })
    ));
}

#[test]
fn root_hash_round_trips_through_base64() {
    let root = NodeHash::from_bytes([0xff; 32]);
    let h = TreeHead {
        size: 0,
        root_hash: root,
        timestamp_ms: 0,
    };
    let s = h.sign(ORIGIN, ORIGIN, &log_key()).unwrap();
    assert_eq!(
        *SignedTreeHead::parse(&s.to_note())
            .unwrap()
            .verify(&log_verifier())
            .unwrap(),
        h
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Flipping any bit of the note: the parser refuses it, or the log
    /// signature no longer verifies, or (a flip inside a witness line) the
    /// cosignature count drops. Never is a different head accepted.
    #[test]
    fn any_flipped_bit_is_caught(size: u64, pick: prop::sample::Index, bit in 0u8..8) {
        let s = signed(size, 1);
        let note = s.to_note().into_bytes();
        let i = pick.index(note.len());
        let mut flipped = note.clone();
        flipped[i] ^= 1 << bit;
        let Ok(text) = String::from_utf8(flipped) else { return Ok(()); };
        let Ok(parsed) = SignedTreeHead::parse(&text) else { return Ok(()); };
        let witnesses = [witness(0).1];
        match parsed.verify(&log_verifier()) {
            Ok(h) => {
                prop_assert_eq!(*h, head(size));
                prop_assert_eq!(parsed.text(), s.text());
                prop_assert_eq!(parsed.count_valid_cosignatures(&witnesses), 0);
            }
            Err(e) => prop_assert!(matches!(e, Error::BadSignature { .. } | Error::LogSignatureMissing { .. }), "{:?}", e),
        }
    }

    #[test]
    fn round_trip_any_head(size: u64, root: [u8; 32], timestamp_ms: u64) {
        let h = TreeHead { size, root_hash: NodeHash::from_bytes(root), timestamp_ms };
        let s = h.sign(ORIGIN, ORIGIN, &log_key()).unwrap();
        let parsed = SignedTreeHead::parse(&s.to_note()).unwrap();
        prop_assert_eq!(*parsed.verify(&log_verifier()).unwrap(), h);
    }
}
