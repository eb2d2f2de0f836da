//! `symbolon split`: secret → N signed (and optionally sealed) shard files.

use std::path::PathBuf;

use rand::RngExt as _;
use symbolon_envelope::{Envelope, Identity, Metadata, Recipient, RecipientInfo, Scheme};
use symbolon_sharing::{Error as SharingError, bytes, ssms};
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

    let secret = match &args.input {
        Some(path) => file::read(path)?,
        None => file::read_stdin()?,
    };
    if secret.is_empty() {
        return Err(CliError::EmptySecret);
    }
    let total = u64::try_from(secret.len()).unwrap_or(u64::MAX);
    let scheme = match args.scheme {
        SchemeArg::Shamir => Scheme::ShamirGf256,
        SchemeArg::Ssms => Scheme::Ssms,
        SchemeArg::Auto if secret.len() >= ssms::DEFAULT_MIN_SIZE => Scheme::Ssms,
        SchemeArg::Auto => Scheme::ShamirGf256,
    };

    let spinner = progress::spinner("splitting", total);
    let payloads = split_secret(&secret, scheme, t, n)?;
    drop(secret);
    spinner.finish_and_clear();

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
    let sealing = progress::spinner("sealing", total);
    let envelopes = seal_all(&template, payloads, &recipients, &dealer)?;
    sealing.finish_and_clear();

    file::create_dir(&args.out_dir)?;
    let bar = progress::bytes(
        "writing",
        envelopes.iter().map(|e| e.payload_len() as u64).sum(),
    );
    for (envelope, path) in envelopes.iter().zip(&paths) {
        if args.armor {
            file::write_private(path, &[envelope.to_armored().as_bytes()])?;
        } else {
            file::write_private_with(path, |w| envelope.write_to(w))?;
        }
        bar.inc(envelope.payload_len() as u64);
    }
    bar.finish_and_clear();

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
