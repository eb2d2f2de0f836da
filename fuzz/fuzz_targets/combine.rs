//! Fuzz target: the combine paths must never panic, whatever shares they get.
//!
//! The input is read as: threshold (1 byte), then records of
//! `index (1 byte) | len (1 byte) | len bytes`. GF(2^8) shares are combined
//! directly; each record is also parsed as an SSMS share encoding, and the
//! ones that parse are combined.
#![no_main]

use libfuzzer_sys::fuzz_target;
use symbolon_sharing::{SecretBytes, bytes, ssms};

fuzz_target!(|data: &[u8]| {
    let Some((&threshold, mut rest)) = data.split_first() else {
        return;
    };
    let mut gf = Vec::new();
    let mut ss = Vec::new();
    while let [index, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (value, tail) = tail.split_at(len);
        if let Ok(share) = bytes::Share::new(*index, SecretBytes::from_slice(value)) {
            gf.push(share);
        }
        if let Ok(share) = ssms::Share::from_bytes(value) {
            ss.push(share);
        }
        rest = tail;
    }
    let threshold = usize::from(threshold);
    if let Ok(secret) = bytes::combine(&gf, threshold) {
        // A result always has the shares' length.
        assert_eq!(Some(secret.len()), gf.first().map(bytes::Share::len));
    }
    let _ = ssms::combine(&ss, threshold);
});
