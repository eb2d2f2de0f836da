//! `symbolon combine`: check every shard, name the bad ones, rebuild the secret.
//!
//! Each shard is checked on its own (parse, signature, trusted signer,
//! expiry, opening with an identity, commitment) and then against the first
//! good one (same split, same parameters, same dealer, distinct index). Bad
//! shards are named on standard error and left out; the secret is rebuilt if
//! at least T good shards remain, and nothing is written otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use symbolon_envelope::{Envelope, Identity, Metadata, Recipient, Scheme};
use symbolon_sharing::{SecretBytes, bytes, ssms};
use zeroize::Zeroizing;

use crate::args::CombineArgs;
use crate::error::CliError;
use crate::{expiry, file, keygen};

/// A shard that passed every check.
struct Good {
    path: PathBuf,
    metadata: Metadata,
    signer: [u8; 32],
    payload: Zeroizing<Vec<u8>>,
}

pub(crate) fn run(args: &CombineArgs) -> Result<(), CliError> {
    let identities = args
        .identities
        .iter()
        .map(|p| keygen::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let trusted = args
        .trusted_signers
        .iter()
        .map(|s| parse_signer(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(out) = &args.out {
        file::refuse_overwrite(out, args.force)?;
    }
    let now = expiry::now()?;

    let mut good: Vec<Good> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    for path in &args.shares {
        match check(path, &identities, &trusted, now, &good) {
            Ok(shard) => good.push(shard),
            Err(reason) => rejected.push(format!("{}: {reason}", path.display())),
        }
    }
    let Some(first) = good.first() else {
        return Err(CliError::NotEnoughShares {
            message: format!("no usable shard: {}", rejected.join("; ")),
        });
    };
    let need = usize::from(first.metadata.threshold);
    if good.len() < need {
        let missing = need - good.len();
        let mut message = format!(
            "{} valid shard{} of {need} needed: supply {missing} more from the same split",
            good.len(),
            if good.len() == 1 { "" } else { "s" },
        );
        if !rejected.is_empty() {
            message = format!("{}; {message}", rejected.join("; "));
        }
        return Err(CliError::NotEnoughShares { message });
    }
    // Enough good shards: the bad ones are named as warnings, not errors.
    for reason in &rejected {
        eprintln!("warning: {reason}; left out");
    }
    if trusted.is_empty() {
        eprintln!(
            "note: signer {} was not pinned; pass --trust-signer to require a known dealer",
            crate::inspect::hex(&first.signer)
        );
    }
    let secret = rebuild(good, need)?;
    match &args.out {
        Some(path) => file::write_private(path, &[secret.expose_secret()])?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(secret.expose_secret())
                .and_then(|()| stdout.flush())
                .map_err(CliError::WriteStdout)?;
        }
    }
    Ok(())
}

/// A trusted signer: a recipient string, or the 64-hex-digit Ed25519 key
/// that `inspect` shows.
fn parse_signer(arg: &str) -> Result<[u8; 32], CliError> {
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut key = [0u8; 32];
        for (byte, pair) in key.iter_mut().zip(arg.as_bytes().chunks_exact(2)) {
            let text = std::str::from_utf8(pair).unwrap_or("");
            *byte = u8::from_str_radix(text, 16).unwrap_or(0);
        }
        return Ok(key);
    }
    arg.parse::<Recipient>()
        .map(|r| r.signing_key_bytes())
        .map_err(|source| CliError::TrustedSigner {
            arg: arg.to_owned(),
            source,
        })
}

/// Checks one shard on its own and against the shards accepted so far.
/// Returns the reason as text, to be printed after the file name.
fn check(
    path: &Path,
    identities: &[Identity],
    trusted: &[[u8; 32]],
    now: u64,
    accepted: &[Good],
) -> Result<Good, String> {
    let bytes = file::read(path).map_err(|e| match e {
        CliError::Read { source, .. } => format!("cannot read: {source}"),
        other => other.to_string(),
    })?;
    let envelope = Envelope::parse(&bytes).map_err(|e| e.to_string())?;
    envelope.verify_signature().map_err(|e| e.to_string())?;
    let signer = envelope.signer();
    if !trusted.is_empty() && !trusted.contains(&signer) {
        return Err(format!(
            "signed by untrusted key {} (not among --trust-signer)",
            crate::inspect::hex(&signer)
        ));
    }
    let m = envelope.metadata().clone();
    if envelope.is_expired(now) {
        return Err(format!(
            "expired at {}",
            m.expires_at.map_or_else(String::new, expiry::format)
        ));
    }
    if let Some(first) = accepted.first() {
        let other = first.path.display();
        if m.split_id != first.metadata.split_id {
            return Err(format!("belongs to a different split than {other}"));
        }
        if m.threshold != first.metadata.threshold
            || m.shares != first.metadata.shares
            || m.scheme != first.metadata.scheme
            || m.key_id != first.metadata.key_id
            || m.epoch != first.metadata.epoch
        {
            return Err(format!(
                "parameters (t, n, scheme, key, epoch) differ from {other}"
            ));
        }
        if signer != first.signer {
            return Err(format!("signed by a different dealer than {other}"));
        }
        if let Some(dup) = accepted.iter().find(|g| g.metadata.index == m.index) {
            return Err(format!(
                "duplicate share index {} (already given by {})",
                m.index,
                dup.path.display()
            ));
        }
    }
    let identity = match &m.recipient {
        Some(info) => Some(
            identities
                .iter()
                .find(|id| id.recipient().fingerprint() == info.fingerprint)
                .ok_or_else(|| {
                    format!(
                        "sealed to {:?}; pass that recipient's identity with --identity",
                        info.id
                    )
                })?,
        ),
        None => None,
    };
    let payload = envelope.open(identity).map_err(|e| e.to_string())?;
    Ok(Good {
        path: path.to_owned(),
        metadata: m,
        signer,
        payload,
    })
}

/// Rebuilds the secret from the first `need` good shards.
fn rebuild(mut good: Vec<Good>, need: usize) -> Result<SecretBytes, CliError> {
    good.truncate(need);
    let used = good;
    let scheme = used.first().map(|g| g.metadata.scheme);
    // Names the file behind a share index the sharing layer blames.
    let culprit = |used: &[PathBuf], e: symbolon_sharing::Error| -> CliError {
        let blamed = match &e {
            symbolon_sharing::Error::InvalidShare { index }
            | symbolon_sharing::Error::MixedShares { index }
            | symbolon_sharing::Error::Malformed { index, .. } => Some(*index),
            _ => None,
        };
        match blamed.and_then(|i| used.get(usize::from(i).wrapping_sub(1))) {
            Some(path) => CliError::NotEnoughShares {
                message: format!("{}: {e}", path.display()),
            },
            None => CliError::Combine(e),
        }
    };
    match scheme {
        Some(Scheme::Ssms) => {
            let mut by_index: Vec<PathBuf> = Vec::new();
            let mut shares = Vec::with_capacity(used.len());
            for mut g in used {
                // Moves the payload out (no copy of a possibly huge fragment);
                // the key share inside is wiped by `ssms::Share`.
                let payload = std::mem::take(&mut *g.payload);
                let share =
                    ssms::Share::from_vec(payload).map_err(|e| CliError::NotEnoughShares {
                        message: format!("{}: share payload is malformed: {e}", g.path.display()),
                    })?;
                if u16::from(share.index()) != g.metadata.index {
                    return Err(CliError::NotEnoughShares {
                        message: format!(
                            "{}: payload holds share {} but the envelope says {}",
                            g.path.display(),
                            share.index(),
                            g.metadata.index
                        ),
                    });
                }
                let slot = usize::from(share.index());
                if by_index.len() < slot {
                    by_index.resize(slot, PathBuf::new());
                }
                if let Some(entry) = by_index.get_mut(slot.wrapping_sub(1)) {
                    *entry = g.path.clone();
                }
                shares.push(share);
            }
            ssms::combine(&shares, need).map_err(|e| culprit(&by_index, e))
        }
        Some(Scheme::ShamirGf256) => {
            let shares = used
                .iter()
                .map(|g| {
                    let index = u8::try_from(g.metadata.index).unwrap_or(0);
                    bytes::Share::new(index, SecretBytes::from_slice(&g.payload)).map_err(|e| {
                        CliError::NotEnoughShares {
                            message: format!("{}: {e}", g.path.display()),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            bytes::combine(&shares, need).map_err(CliError::Combine)
        }
        Some(other) => Err(CliError::UnsupportedScheme {
            scheme: other.as_str(),
        }),
        None => Err(CliError::NotEnoughShares {
            message: "no usable shard".into(),
        }),
    }
}
