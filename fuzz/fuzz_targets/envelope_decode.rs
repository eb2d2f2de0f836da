//! Fuzzes the shard decoder: `Envelope::parse` on arbitrary bytes must never
//! panic; whatever it accepts must re-encode canonically, and verifying and
//! opening it must not panic either. Text inputs are also fed to the
//! recipient and identity parsers.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use symbolon_envelope::{Envelope, Identity, Recipient};

/// The known-answer custodian, so mutations of `kat_sealed.sym` reach the
/// HPKE decryption path.
static CUSTODIAN: LazyLock<Identity> = LazyLock::new(|| {
    Identity::from_armored(include_str!(
        "../../crates/envelope/tests/data/kat_identity_custodian.asc"
    ))
    .expect("the known-answer identity parses")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(recipient) = text.parse::<Recipient>() {
            let again: Recipient = recipient.to_string().parse().expect("recipient round trip");
            assert_eq!(again, recipient);
        }
        if let Ok(identity) = Identity::from_armored(text) {
            let again =
                Identity::from_armored(&identity.to_armored()).expect("identity round trip");
            assert_eq!(again.recipient(), identity.recipient());
        }
    }

    let Ok(envelope) = Envelope::parse(data) else {
        return;
    };
    let encoded = envelope.encode();
    if data.starts_with(b"SYMB") {
        assert_eq!(encoded, data, "decode accepted a non-canonical encoding");
    } else {
        let again =
            Envelope::from_armored(&envelope.to_armored()).expect("re-armored envelope parses");
        assert_eq!(
            again.encode(),
            encoded,
            "armor round trip changed the envelope"
        );
    }
    let decoded = Envelope::decode(&encoded).expect("encoded envelope decodes");
    assert_eq!(decoded.encode(), encoded);

    let verified = envelope.verify_signature();
    let opened = envelope.open(None);
    let opened_by_custodian = envelope.open(Some(&CUSTODIAN));
    // Fail closed: nothing opens without a valid signature.
    if verified.is_err() {
        assert!(opened.is_err() && opened_by_custodian.is_err());
    }
    // An opened share is exactly the announced length: the blinding of a
    // hash-committed payload is stripped, and the share is never empty.
    for share in [&opened, &opened_by_custodian].into_iter().flatten() {
        assert_eq!(share.len(), envelope.share_len());
        assert!(!share.is_empty());
    }
    let _ = envelope.is_expired(u64::MAX);
    let _ = envelope.check_expiry(0);
    let _ = format!("{envelope:?}");
});
