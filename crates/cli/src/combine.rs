//! `symbolon combine`: check every shard, name the bad ones, rebuild the secret.
//!
//! Each shard is checked on its own (parse, signature, trusted signer,
//! expiry, opening with an identity, commitment) and then against the first
//! good one (same split, same parameters, same dealer, distinct index). Bad
//! shards are named on standard error and left out; the secret is rebuilt if
//! at least T good shards remain, and nothing is written otherwise.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use symbolon_envelope::{
    CheckedPayload, Envelope, EnvelopeHead, Identity, Metadata, Recipient, Scheme,
};
use symbolon_sharing::{SecretBytes, bytes, ssms};
use symbolon_transport::{Existing, StagedFile};
use zeroize::Zeroizing;

use crate::args::CombineArgs;
use crate::error::CliError;
use crate::{expiry, file, keygen, progress};

/// A shard that passed every check.
struct Good {
    path: PathBuf,
    metadata: Metadata,
    signer: [u8; 32],
    payload: Payload,
}

/// The share of a good shard: in memory, or left in its (clear, binary)
/// file and read piece by piece.
enum Payload {
    Memory(Zeroizing<Vec<u8>>),
    File {
        /// Offset and length of the share (after the blinding) in the file.
        offset: u64,
        len: u64,
        /// The share's first bytes (its SSMS header; holds the key share).
        prefix: Zeroizing<Vec<u8>>,
    },
}

/// Bytes read from the start of a shard file to parse its head (the head
/// of any envelope fits).
const HEAD_PREFIX: u64 = 64 * 1024;

/// Bytes read per step when hashing or combining from files.
const READ_BLOCK: usize = 1 << 20;

/// Stripes opened per step of a streaming combine (6 MiB at threshold 3).
const STRIPES_PER_STEP: usize = 16;

/// A shard read for checking: whole, or its head and hashed payload.
enum Shard {
    Whole(Envelope),
    Streamed {
        head: EnvelopeHead,
        checked: CheckedPayload,
        signature: [u8; 64],
        prefix: Zeroizing<Vec<u8>>,
    },
}

impl Shard {
    /// Reads `path`: a clear binary SSMS shard is hashed piece by piece,
    /// anything else is read whole and parsed.
    fn read(path: &Path) -> Result<Self, String> {
        let cannot_read = |e: std::io::Error| format!("cannot read: {e}");
        let file = File::open(path).map_err(cannot_read)?;
        let len = file.metadata().map_err(cannot_read)?.len();
        // A clear shard's first bytes include its share's header (the key
        // share): wiped when dropped.
        let mut prefix = Zeroizing::new(vec![
            0u8;
            usize::try_from(len.min(HEAD_PREFIX)).unwrap_or(0)
        ]);
        file.read_exact_at(&mut prefix, 0).map_err(cannot_read)?;
        let streamable =
            !prefix.starts_with(b"-") && !prefix.first().is_some_and(u8::is_ascii_whitespace);
        if streamable
            && let Ok(head) = EnvelopeHead::parse(&prefix, len)
            && !head.is_sealed()
            && head.metadata().scheme == Scheme::Ssms
        {
            return Self::stream(&file, head, len).map_err(cannot_read);
        }
        let bytes = file::read(path).map_err(|e| match e {
            CliError::Read { source, .. } => format!("cannot read: {source}"),
            other => other.to_string(),
        })?;
        Envelope::parse(&bytes)
            .map(Self::Whole)
            .map_err(|e| e.to_string())
    }

    fn stream(file: &File, head: EnvelopeHead, len: u64) -> std::io::Result<Self> {
        let mut check = head.payload_check();
        // Holds share bytes (the header with the key share among them):
        // wiped when dropped, on error paths too.
        let mut block = Zeroizing::new(vec![0u8; READ_BLOCK]);
        // Sized once: growing would free copies of the key share unwiped.
        let mut keep = Zeroizing::new(Vec::with_capacity(MAX_SHARE_HEADER));
        let (start, end) = (head.payload_offset(), head.signature_offset());
        let share_start = start + head.blinding_len() as u64;
        let mut at = start;
        while at < end {
            let take = usize::try_from(end - at)
                .unwrap_or(READ_BLOCK)
                .min(READ_BLOCK);
            let block = block.get_mut(..take).unwrap_or_default();
            file.read_exact_at(block, at)?;
            check.update(block);
            // Keep the share's first bytes (its header) for the combine.
            if keep.len() < MAX_SHARE_HEADER {
                let skip = usize::try_from(share_start.saturating_sub(at)).unwrap_or(take);
                let want = MAX_SHARE_HEADER - keep.len();
                if let Some(part) = block.get(skip.min(take)..) {
                    keep.extend_from_slice(part.get(..want.min(part.len())).unwrap_or_default());
                }
            }
            at += take as u64;
        }
        let mut signature = [0u8; 64];
        file.read_exact_at(&mut signature, len.saturating_sub(64))?;
        Ok(Self::Streamed {
            checked: check.finish(),
            head,
            signature,
            prefix: keep,
        })
    }

    fn verify_signature(&self) -> Result<(), symbolon_envelope::Error> {
        match self {
            Self::Whole(e) => e.verify_signature(),
            Self::Streamed {
                checked, signature, ..
            } => checked.verify_signature(signature),
        }
    }

    fn signer(&self) -> [u8; 32] {
        match self {
            Self::Whole(e) => e.signer(),
            Self::Streamed { head, .. } => head.signer(),
        }
    }

    fn metadata(&self) -> &Metadata {
        match self {
            Self::Whole(e) => e.metadata(),
            Self::Streamed { head, .. } => head.metadata(),
        }
    }

    fn is_expired(&self, now: u64) -> bool {
        match self {
            Self::Whole(e) => e.is_expired(now),
            Self::Streamed { head, .. } => head.is_expired(now),
        }
    }

    /// As [`Envelope::open`]; a streamed shard stays in its file.
    fn open(self, identity: Option<&Identity>) -> Result<Payload, symbolon_envelope::Error> {
        match self {
            Self::Whole(e) => e.open(identity).map(Payload::Memory),
            Self::Streamed {
                head,
                checked,
                signature,
                prefix,
            } => {
                checked.verify_signature(&signature)?;
                checked.check_commitment()?;
                let offset = head.payload_offset() + head.blinding_len() as u64;
                Ok(Payload::File {
                    offset,
                    len: head.signature_offset() - offset,
                    prefix,
                })
            }
        }
    }
}

/// Longest SSMS share header (255 fingerprints).
const MAX_SHARE_HEADER: usize = 60 + 32 * 255;

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
    let existing = file::existing(args.force);
    let Some(secret) = rebuild(good, need, args.out.as_deref(), existing)? else {
        return Ok(());
    };
    match &args.out {
        Some(path) => file::write_private_as(path, &[secret.expose_secret()], existing)?,
        None => file::write_stdout(secret.expose_secret())?,
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
    let envelope = Shard::read(path)?;
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

/// Rebuilds the secret from the first `need` good shards. Clear binary SSMS
/// shards are combined piece by piece straight into `out` when it is given
/// (then `None` is returned); otherwise the secret is returned.
fn rebuild(
    mut good: Vec<Good>,
    need: usize,
    out: Option<&Path>,
    existing: Existing,
) -> Result<Option<SecretBytes>, CliError> {
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
    if scheme == Some(Scheme::Ssms)
        && used
            .iter()
            .all(|g| matches!(g.payload, Payload::File { .. }))
    {
        return combine_streaming(&used, need, out, existing, culprit);
    }
    let used = used
        .into_iter()
        .map(Good::into_memory)
        .collect::<Result<Vec<_>, _>>()?;
    match scheme {
        Some(Scheme::Ssms) => {
            let mut by_index: Vec<PathBuf> = Vec::new();
            let mut shares = Vec::with_capacity(used.len());
            for mut g in used {
                // Moves the payload out (no copy of a possibly huge fragment);
                // the key share inside is wiped by `ssms::Share`.
                let payload = match &mut g.payload {
                    Payload::Memory(bytes) => std::mem::take(&mut **bytes),
                    Payload::File { .. } => Vec::new(),
                };
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
            ssms::combine(&shares, need)
                .map(Some)
                .map_err(|e| culprit(&by_index, e))
        }
        Some(Scheme::ShamirGf256) => {
            let shares = used
                .iter()
                .map(|g| {
                    let index = u8::try_from(g.metadata.index).unwrap_or(0);
                    let value = match &g.payload {
                        Payload::Memory(bytes) => SecretBytes::from_slice(bytes),
                        Payload::File { .. } => SecretBytes::default(),
                    };
                    bytes::Share::new(index, value).map_err(|e| CliError::NotEnoughShares {
                        message: format!("{}: {e}", g.path.display()),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            bytes::combine(&shares, need)
                .map(Some)
                .map_err(CliError::Combine)
        }
        Some(other) => Err(CliError::UnsupportedScheme {
            scheme: other.as_str(),
        }),
        None => Err(CliError::NotEnoughShares {
            message: "no usable shard".into(),
        }),
    }
}

impl Good {
    /// The same shard with its share read into memory.
    fn into_memory(self) -> Result<Self, CliError> {
        let Payload::File { offset, len, .. } = &self.payload else {
            return Ok(self);
        };
        let mut bytes = Zeroizing::new(vec![0u8; usize::try_from(*len).unwrap_or(0)]);
        File::open(&self.path)
            .and_then(|f| f.read_exact_at(&mut bytes, *offset))
            .map_err(|source| CliError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(Self {
            payload: Payload::Memory(bytes),
            ..self
        })
    }
}

/// Where a streaming combine writes the secret.
enum Sink {
    File(StagedFile),
    Memory(SecretBytes),
}

/// Combines clear binary SSMS shards piece by piece from their files.
fn combine_streaming(
    used: &[Good],
    need: usize,
    out: Option<&Path>,
    existing: Existing,
    culprit: impl Fn(&[PathBuf], symbolon_sharing::Error) -> CliError,
) -> Result<Option<SecretBytes>, CliError> {
    let mut by_index: Vec<PathBuf> = Vec::new();
    let mut headers = Vec::with_capacity(used.len());
    let mut sources = Vec::with_capacity(used.len());
    for g in used {
        let Payload::File {
            offset,
            len,
            prefix,
        } = &g.payload
        else {
            return Err(CliError::NotEnoughShares {
                message: "no usable shard".into(),
            });
        };
        let header =
            ssms::ShareHeader::parse(prefix, *len).map_err(|e| CliError::NotEnoughShares {
                message: format!("{}: share payload is malformed: {e}", g.path.display()),
            })?;
        if u16::from(header.index()) != g.metadata.index {
            return Err(CliError::NotEnoughShares {
                message: format!(
                    "{}: payload holds share {} but the envelope says {}",
                    g.path.display(),
                    header.index(),
                    g.metadata.index
                ),
            });
        }
        let slot = usize::from(header.index());
        if by_index.len() < slot {
            by_index.resize(slot, PathBuf::new());
        }
        if let Some(entry) = by_index.get_mut(slot.wrapping_sub(1)) {
            *entry = g.path.clone();
        }
        let file = File::open(&g.path).map_err(|source| CliError::Read {
            path: g.path.clone(),
            source,
        })?;
        sources.push((
            header.index(),
            file,
            offset + header.encoded_len() as u64,
            g.path.clone(),
        ));
        headers.push(header);
    }
    let mut combiner = ssms::Combiner::new(&headers, need).map_err(|e| culprit(&by_index, e))?;
    // The used shares' files, in the order the combiner wants their pieces.
    let readers = combiner
        .used()
        .iter()
        .map(|&i| {
            let (_, file, start, path) = sources.iter().find(|(index, ..)| *index == i)?;
            let header = headers.iter().find(|h| h.index() == i)?;
            Some((file, *start, path, header))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(CliError::NotEnoughShares {
            message: "no usable shard".into(),
        })?;

    let total = combiner.secret_len();
    let mut sink = match out {
        Some(path) => Sink::File(file::stage(path)?),
        None => Sink::Memory(SecretBytes::new(Vec::with_capacity(total))),
    };
    let bar = progress::bytes("combining", total as u64);
    let step = combiner.stripe_len().saturating_mul(STRIPES_PER_STEP);
    let mut plain = Zeroizing::new(vec![0u8; step.min(total)]);
    let mut pieces: Vec<Vec<u8>> = vec![Vec::new(); readers.len()];
    let mut read_at = 0u64;
    while combiner.remaining() > 0 {
        let take = combiner.remaining().min(step);
        let piece_len = combiner.piece_len(take).map_err(CliError::Combine)?;
        for (piece, (file, start, path, _)) in pieces.iter_mut().zip(&readers) {
            piece.resize(piece_len, 0);
            file.read_exact_at(piece, start + read_at)
                .map_err(|source| CliError::Read {
                    path: (*path).clone(),
                    source,
                })?;
        }
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        let plain = plain.get_mut(..take).unwrap_or_default();
        match combiner.open(&refs, plain) {
            Ok(()) => {}
            Err(symbolon_sharing::Error::Decryption) => {
                // Name the culprit if a share does not match its fingerprint.
                for (file, start, path, header) in &readers {
                    let mut check = header.fragment_check().map_err(CliError::Combine)?;
                    let len = header.fragment_len().map_err(CliError::Combine)? as u64;
                    // Ciphertext, but wiped like every share buffer.
                    let mut block = Zeroizing::new(vec![0u8; READ_BLOCK]);
                    let mut at = 0u64;
                    while at < len {
                        let n = usize::try_from(len - at)
                            .unwrap_or(READ_BLOCK)
                            .min(READ_BLOCK);
                        let block = block.get_mut(..n).unwrap_or_default();
                        file.read_exact_at(block, start + at)
                            .map_err(|source| CliError::Read {
                                path: (*path).clone(),
                                source,
                            })?;
                        check.update(block);
                        at += n as u64;
                    }
                    check.finish().map_err(|e| culprit(&by_index, e))?;
                }
                return Err(CliError::Combine(symbolon_sharing::Error::Decryption));
            }
            Err(e) => return Err(culprit(&by_index, e)),
        }
        match &mut sink {
            Sink::File(f) => {
                let mut w = f.file();
                w.write_all(plain).map_err(|e| file::write_error(f, e))?;
            }
            Sink::Memory(secret) => secret.expose_secret_mut().extend_from_slice(plain),
        }
        read_at += piece_len as u64;
        bar.inc(take as u64);
    }
    bar.finish_and_clear();
    combiner.finish().map_err(CliError::Combine)?;
    match sink {
        Sink::File(f) => Ok(f.commit(existing).map(|()| None)?),
        Sink::Memory(secret) => Ok(Some(secret)),
    }
}
