//! `symbolon split`: secret → N signed (and optionally sealed) shard files.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use rand::RngExt as _;
use symbolon_envelope::{
    Envelope, Identity, METADATA_OFFSET, Metadata, Recipient, RecipientInfo, Scheme, ShardWriter,
};
use symbolon_sharing::{Error as SharingError, bytes, ssms};
use symbolon_transport::{Existing, StagedFile};
use zeroize::Zeroizing;

use crate::args::{SchemeArg, SplitArgs};
use crate::error::CliError;
use crate::{expiry, file, keygen, progress};

/// Longest `--label` and recipient id accepted (the envelope's string limit).
const MAX_TEXT: usize = 255;

pub(crate) fn run(args: &SplitArgs) -> Result<(), CliError> {
    // Everything that can be checked before touching the secret is checked first.
    let (t, n) = (args.threshold, args.shares);
    if n > 255 {
        return Err(CliError::Parameters(SharingError::TooManyShares {
            shares: usize::from(n),
            max: 255,
        }));
    }
    if t == 0 || t > n {
        return Err(CliError::Parameters(SharingError::InvalidThreshold {
            threshold: usize::from(t),
            shares: usize::from(n),
        }));
    }
    let recipients = parse_recipients(&args.recipients)?;
    if !recipients.is_empty() && recipients.len() != usize::from(n) {
        return Err(CliError::RecipientCount {
            given: recipients.len(),
            shares: n,
        });
    }
    if args.label.len() > MAX_TEXT {
        return Err(CliError::LabelTooLong {
            len: args.label.len(),
        });
    }
    if args.label.chars().any(char::is_control) {
        return Err(CliError::ControlCharacters { what: "--label" });
    }
    let now = expiry::now()?;
    let expires_at = expiry::parse(now, args.expires_in.as_deref(), args.expires_at.as_deref())?;
    let (dealer, one_time) = match &args.sign_with {
        Some(path) => (keygen::load(path)?, false),
        None => (Identity::generate(&mut rand::rng()), true),
    };
    let paths: Vec<PathBuf> = (1..=n)
        .map(|i| args.out_dir.join(format!("share-{i}.sym")))
        .collect();
    for path in &paths {
        file::refuse_overwrite(path, args.force)?;
    }

    let mut source = match &args.input {
        Some(path) => Source::open(path)?,
        None => Source::Memory(file::read_stdin()?),
    };
    let len = source.len();
    if len == 0 {
        return Err(CliError::EmptySecret);
    }
    let total = len;
    let scheme = match args.scheme {
        SchemeArg::Shamir => Scheme::ShamirGf256,
        SchemeArg::Ssms => Scheme::Ssms,
        SchemeArg::Auto if len >= ssms::DEFAULT_MIN_SIZE as u64 => Scheme::Ssms,
        SchemeArg::Auto => Scheme::ShamirGf256,
    };
    let template = Metadata {
        split_id: rand::rng().random(),
        key_id: String::new(),
        epoch: 0,
        scheme,
        index: 0,
        threshold: t,
        shares: n,
        recipient: None,
        created_at: now,
        expires_at,
        commitment: [0; 32],
        label: args.label.clone(),
    };

    if scheme == Scheme::Ssms && recipients.is_empty() && !args.armor {
        // Clear binary SSMS shards are written piece by piece: memory stays
        // a few megabytes whatever the secret's size.
        split_streaming(
            &mut source,
            &template,
            &dealer,
            &paths,
            &args.out_dir,
            file::existing(args.force),
        )?;
    } else {
        let secret = source.into_memory()?;
        let spinner = progress::spinner("splitting", total);
        let payloads = split_secret(&secret, scheme, t, n)?;
        drop(secret);
        spinner.finish_and_clear();

        let sealing = progress::spinner("sealing", total);
        let envelopes = seal_all(&template, payloads, &recipients, &dealer)?;
        sealing.finish_and_clear();

        file::create_dir(&args.out_dir)?;
        let bar = progress::bytes(
            "writing",
            envelopes.iter().map(|e| e.payload_len() as u64).sum(),
        );
        // Two phases: every shard written and synced under a temporary
        // name, then all renamed. A failure before the renames leaves the
        // previous shards as they were and no temporary file behind.
        let mut staged = Vec::with_capacity(envelopes.len());
        for (envelope, path) in envelopes.iter().zip(&paths) {
            let shard = file::stage(path)?;
            let mut f = shard.file();
            let written = if args.armor {
                // A clear shard's armor is the share in base64: wiped after.
                let armored = Zeroizing::new(envelope.to_armored());
                f.write_all(armored.as_bytes())
            } else {
                envelope.write_to(&mut f)
            };
            written.map_err(|e| file::write_error(&shard, e))?;
            staged.push(shard);
            bar.inc(envelope.payload_len() as u64);
        }
        StagedFile::commit_all(staged, file::existing(args.force))?;
        bar.finish_and_clear();
    }

    eprintln!(
        "wrote {n} shards to {} ({}; any {t} rebuild the secret{})",
        args.out_dir.display(),
        scheme.as_str(),
        if recipients.is_empty() {
            ""
        } else {
            "; each sealed to its recipient"
        },
    );
    let signer = dealer.recipient();
    if one_time {
        eprintln!("signed with a one-time key; to accept only these shards when combining, pass:");
        eprintln!("  --trust-signer {signer}");
    } else {
        eprintln!("signed by {signer}");
    }
    Ok(())
}

/// Parses `ID=PUBLIC` recipient arguments.
fn parse_recipients(args: &[String]) -> Result<Vec<(String, Recipient)>, CliError> {
    let mut out: Vec<(String, Recipient)> = Vec::with_capacity(args.len());
    for arg in args {
        let err = |reason: String| CliError::Recipient {
            arg: arg.clone(),
            reason,
        };
        let (id, public) = arg
            .split_once('=')
            .ok_or_else(|| err("expected ID=PUBLIC, e.g. alice=symbolon1...".into()))?;
        if id.is_empty() || id.len() > MAX_TEXT {
            return Err(err(format!("ID must be 1 to {MAX_TEXT} bytes long")));
        }
        if id.chars().any(char::is_control) {
            return Err(err("ID must not contain control characters".into()));
        }
        let recipient: Recipient = public.parse().map_err(|e| err(format!("{e}")))?;
        if out.iter().any(|(other, _)| other == id) {
            return Err(err(format!("ID {id:?} is used twice")));
        }
        out.push((id.to_owned(), recipient));
    }
    Ok(out)
}

/// Stripes of plaintext sealed per step of a streaming split (6 MiB at 3-of-5).
const STRIPES_PER_STEP: usize = 16;

/// Share bytes read back per step when signing a written shard.
const HASH_BLOCK: usize = 1 << 20;

/// Reads bytes `from..to` of `f` (being written to `path`) back in blocks
/// of [`HASH_BLOCK`], handing each to `each`: the sealed shares, which are
/// ciphertext only and left unwiped.
fn read_back(
    f: &std::fs::File,
    path: &std::path::Path,
    from: u64,
    to: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<(), CliError> {
    let mut block = vec![0u8; HASH_BLOCK];
    let mut at = from;
    while at < to {
        let take = usize::try_from(to - at)
            .unwrap_or(HASH_BLOCK)
            .min(HASH_BLOCK);
        let block = block.get_mut(..take).unwrap_or_default();
        f.read_exact_at(block, at)
            .map_err(|source| CliError::Read {
                path: path.to_owned(),
                source,
            })?;
        each(block);
        at += take as u64;
    }
    Ok(())
}

/// The secret to split: an open file (read piece by piece) or standard
/// input, read whole (its length must be known before splitting).
enum Source {
    File {
        file: std::fs::File,
        path: PathBuf,
        len: u64,
    },
    Memory(Zeroizing<Vec<u8>>),
}

impl Source {
    fn open(path: &std::path::Path) -> Result<Self, CliError> {
        let err = |source| CliError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(err)?;
        let meta = file.metadata().map_err(err)?;
        if !meta.is_file() {
            // Not a regular file (a pipe, a device): read it whole.
            return Ok(Self::Memory(file::read(path)?));
        }
        Ok(Self::File {
            file,
            path: path.to_owned(),
            len: meta.len(),
        })
    }

    fn len(&self) -> u64 {
        match self {
            Self::File { len, .. } => *len,
            Self::Memory(bytes) => bytes.len() as u64,
        }
    }

    /// Fills `buf` with the next bytes of the secret.
    fn read_exact(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), CliError> {
        match self {
            Self::File { file, path, .. } => {
                file.read_exact(buf).map_err(|source| CliError::Read {
                    path: path.clone(),
                    source,
                })
            }
            Self::Memory(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let src = bytes
                    .get(start..start.saturating_add(buf.len()))
                    .ok_or(CliError::EmptySecret)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    fn into_memory(self) -> Result<Zeroizing<Vec<u8>>, CliError> {
        match self {
            Self::File { path, .. } => file::read(&path),
            Self::Memory(bytes) => Ok(bytes),
        }
    }
}

/// One shard being written: its envelope writer and its temporary file.
struct Pending {
    index: u16,
    writer: ShardWriter,
    file: StagedFile,
    /// Where the share starts in the file.
    share_offset: u64,
}

/// Splits with SSMS piece by piece into clear binary shard files: seals a
/// few stripes at a time into every temporary shard file, then fills in
/// each share's header, hashes each share back from the file for the
/// commitment and signature, and writes those in place. Only when every
/// shard is complete and synced are they all renamed into place.
fn split_streaming(
    source: &mut Source,
    template: &Metadata,
    dealer: &Identity,
    paths: &[PathBuf],
    out_dir: &std::path::Path,
    existing: Existing,
) -> Result<(), CliError> {
    let (t, n) = (
        usize::from(template.threshold),
        usize::from(template.shares),
    );
    let len = source.len();
    let mut rng = rand::rng();
    let mut splitter = ssms::Splitter::new(len, t, n, &mut rng).map_err(CliError::Split)?;
    let header_len = splitter.header_len();
    let share_len = (header_len + splitter.fragment_len()) as u64;

    file::create_dir(out_dir)?;
    let mut pending = Vec::with_capacity(n);
    for (i, path) in (1..=template.shares).zip(paths) {
        let mut metadata = template.clone();
        metadata.index = i;
        let seal_err = |source| CliError::Seal { index: i, source };
        let writer = ShardWriter::new(metadata, share_len, dealer, &mut rng).map_err(seal_err)?;
        let head = writer.head().map_err(seal_err)?;
        let file = file::stage(path)?;
        let mut f = file.file();
        f.write_all(&head)
            .and_then(|()| f.write_all(&vec![0u8; header_len]))
            .map_err(|e| file::write_error(&file, e))?;
        pending.push(Pending {
            index: i,
            writer,
            share_offset: head.len() as u64,
            file,
        });
    }

    let bar = progress::bytes("splitting", len);
    let step = splitter.stripe_len().saturating_mul(STRIPES_PER_STEP);
    let mut plain = Zeroizing::new(vec![0u8; step.min(usize::try_from(len).unwrap_or(step))]);
    let mut pieces: Vec<Vec<u8>> = vec![Vec::new(); n];
    let mut offset = 0u64;
    while splitter.remaining() > 0 {
        let take = splitter.remaining().min(step);
        let plain = plain.get_mut(..take).ok_or(CliError::EmptySecret)?;
        source.read_exact(offset, plain)?;
        let piece_len = splitter.piece_len(take).map_err(CliError::Split)?;
        for piece in &mut pieces {
            piece.resize(piece_len, 0);
        }
        let mut refs: Vec<&mut [u8]> = pieces.iter_mut().map(Vec::as_mut_slice).collect();
        splitter.seal(plain, &mut refs).map_err(CliError::Split)?;
        // The pieces are ciphertext: written without wiping.
        for (p, piece) in pending.iter().zip(&pieces) {
            let mut f = p.file.file();
            f.write_all(piece)
                .map_err(|e| file::write_error(&p.file, e))?;
        }
        offset += take as u64;
        bar.inc(take as u64);
    }
    bar.finish_and_clear();
    let headers = splitter.finish().map_err(CliError::Split)?;

    let signing = progress::spinner("signing", len);
    // Completes and syncs one shard file (the syncs run in parallel);
    // renaming waits for all of them.
    let finish_one = |(p, header): (Pending, ssms::ShareHeader)| -> Result<StagedFile, CliError> {
        let Pending {
            index,
            mut writer,
            mut file,
            share_offset,
        } = p;
        let f = file.file();
        let header = header.to_bytes().map_err(CliError::Split)?;
        f.write_all_at(&header, share_offset)
            .map_err(|e| file::write_error(&file, e))?;
        let end = share_offset + share_len;
        writer.update(&header);
        read_back(
            f,
            file.path(),
            share_offset + header.len() as u64,
            end,
            |block| writer.update(block),
        )?;
        let tail = writer
            .finish(dealer)
            .map_err(|source| CliError::Seal { index, source })?;
        f.write_all_at(&tail.metadata_bytes, METADATA_OFFSET)
            .and_then(|()| f.write_all_at(&tail.signature, end))
            .map_err(|e| file::write_error(&file, e))?;
        file.sync()?;
        Ok(file)
    };
    let jobs: Vec<(Pending, ssms::ShareHeader)> = pending.into_iter().zip(headers).collect();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let per_worker = jobs.len().div_ceil(workers).max(1);
    let mut batches: Vec<Vec<(Pending, ssms::ShareHeader)>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        batches.push(jobs.by_ref().take(per_worker).collect());
    }
    let results: Vec<Result<StagedFile, CliError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .into_iter()
            .map(|batch| scope.spawn(move || batch.into_iter().map(finish_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Err(CliError::Seal {
                        index: 0,
                        source: symbolon_envelope::Error::InvalidMetadata {
                            reason: "a signing worker failed",
                        },
                    })]
                })
            })
            .collect()
    });
    signing.finish_and_clear();
    // Any failure drops every staged file: no shard is replaced.
    let staged = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(StagedFile::commit_all(staged, existing)?)
}

/// One share ready for its envelope: its index and its encoded payload.
type Payload = (u16, Zeroizing<Vec<u8>>);

/// Splits the secret; returns each share's index and encoded payload.
fn split_secret(secret: &[u8], scheme: Scheme, t: u16, n: u16) -> Result<Vec<Payload>, CliError> {
    let mut rng = rand::rng();
    let (t, n) = (usize::from(t), usize::from(n));
    match scheme {
        Scheme::Ssms => Ok(ssms::split(secret, t, n, &mut rng)
            .map_err(CliError::Split)?
            .into_iter()
            .map(|s| (u16::from(s.index()), s.into_bytes()))
            .collect()),
        _ => Ok(bytes::split(secret, t, n, &mut rng)
            .map_err(CliError::Split)?
            .iter()
            .map(|s| {
                (
                    u16::from(s.index()),
                    Zeroizing::new(s.expose_secret().to_vec()),
                )
            })
            .collect()),
    }
}

/// Builds, seals and signs every envelope, spreading the work over the cores.
fn seal_all(
    template: &Metadata,
    payloads: Vec<Payload>,
    recipients: &[(String, Recipient)],
    dealer: &Identity,
) -> Result<Vec<Envelope>, CliError> {
    let seal_one = |(index, payload): &Payload| -> Result<Envelope, CliError> {
        let recipient = recipients.get(usize::from(*index).saturating_sub(1));
        let mut metadata = template.clone();
        metadata.index = *index;
        // `Envelope::seal` sets the (blinded) commitment for hash-committed schemes.
        metadata.recipient = recipient.map(|(id, r)| RecipientInfo {
            id: id.clone(),
            fingerprint: r.fingerprint(),
        });
        Envelope::seal(
            metadata,
            payload,
            recipient.map(|(_, r)| r),
            dealer,
            &mut rand::rng(),
        )
        .map_err(|source| CliError::Seal {
            index: *index,
            source,
        })
    };
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let per_worker = payloads.len().div_ceil(workers).max(1);
    let results: Vec<Result<Envelope, CliError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = payloads
            .chunks(per_worker)
            .map(|chunk| scope.spawn(move || chunk.iter().map(seal_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if results.len() != payloads.len() {
        // A worker died: refuse to write a partial set.
        return Err(CliError::Seal {
            index: 0,
            source: symbolon_envelope::Error::InvalidMetadata {
                reason: "a sealing worker failed",
            },
        });
    }
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_back_hands_over_every_byte_and_reports_a_failed_read_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("share-1.sym");
        let data: Vec<u8> = (0..(HASH_BLOCK + 100) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let mut seen = Vec::new();
        read_back(&f, &path, 7, data.len() as u64, |b| {
            seen.extend_from_slice(b)
        })
        .unwrap();
        assert_eq!(seen, data[7..]);

        // A file open for writing only cannot be read back; past its end
        // neither: both are read errors, naming the file.
        let write_only = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for (f, to) in [(&write_only, 10), (&f, data.len() as u64 + 1)] {
            let err = read_back(f, &path, 0, to, |_| {}).unwrap_err();
            assert!(
                matches!(&err, CliError::Read { path: p, .. } if *p == path),
                "{err:?}"
            );
            assert!(err.to_string().contains("cannot read"), "{err}");
        }
    }
}
