//! `symbolon inspect`: a shard's metadata, never its share.

use serde::Serialize;
use symbolon_envelope::Envelope;

use crate::args::InspectArgs;
use crate::error::CliError;
use crate::{expiry, file};

#[derive(Serialize)]
struct Report {
    format: &'static str,
    split_id: String,
    key_id: String,
    epoch: u64,
    scheme: &'static str,
    index: u16,
    threshold: u16,
    shares: u16,
    recipient: Option<RecipientReport>,
    created_at: String,
    expires_at: Option<String>,
    expired: bool,
    commitment: String,
    label: String,
    sealed: bool,
    payload_bytes: usize,
    signer: String,
    signature_valid: bool,
}

#[derive(Serialize)]
struct RecipientReport {
    id: String,
    fingerprint: String,
}

pub(crate) fn run(args: &InspectArgs) -> Result<(), CliError> {
    let bytes = file::read(&args.share)?;
    let envelope = Envelope::parse(&bytes).map_err(|source| CliError::Shard {
        path: args.share.clone(),
        source,
    })?;
    let now = expiry::now()?;
    let m = envelope.metadata();
    let report = Report {
        format: "symbolon shard v1",
        split_id: hex(&m.split_id),
        key_id: m.key_id.clone(),
        epoch: m.epoch,
        scheme: m.scheme.as_str(),
        index: m.index,
        threshold: m.threshold,
        shares: m.shares,
        recipient: m.recipient.as_ref().map(|r| RecipientReport {
            id: r.id.clone(),
            fingerprint: hex(&r.fingerprint),
        }),
        created_at: expiry::format(m.created_at),
        expires_at: m.expires_at.map(expiry::format),
        expired: envelope.is_expired(now),
        commitment: hex(&m.commitment),
        label: m.label.clone(),
        sealed: envelope.is_sealed(),
        payload_bytes: envelope.payload_len(),
        signer: hex(&envelope.signer()),
        signature_valid: envelope.verify_signature().is_ok(),
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(CliError::Json)?;
        println!("{text}");
        return Ok(());
    }
    let r = &report;
    println!("file:        {}", args.share.display());
    println!("format:      {}", r.format);
    println!("split id:    {}", r.split_id);
    if !r.key_id.is_empty() {
        println!("key id:      {} (epoch {})", r.key_id, r.epoch);
    }
    if !r.label.is_empty() {
        println!("label:       {}", r.label);
    }
    println!("scheme:      {}", r.scheme);
    println!(
        "share:       {} of {} (any {} rebuild)",
        r.index, r.shares, r.threshold
    );
    match &r.recipient {
        Some(rec) => println!("sealed to:   {} (fingerprint {})", rec.id, rec.fingerprint),
        None => println!("sealed to:   nobody (share in the clear)"),
    }
    println!("created:     {}", r.created_at);
    match &r.expires_at {
        Some(t) if r.expired => println!("expires:     {t} (EXPIRED)"),
        Some(t) => println!("expires:     {t}"),
        None => println!("expires:     never"),
    }
    println!("commitment:  {}", r.commitment);
    println!("payload:     {} bytes", r.payload_bytes);
    println!("signer:      {}", r.signer);
    println!(
        "signature:   {}",
        if r.signature_valid {
            "valid"
        } else {
            "INVALID"
        }
    );
    Ok(())
}

/// Lower-case hex of public bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
