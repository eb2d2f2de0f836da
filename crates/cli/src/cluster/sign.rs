//! `symbolon sign` and `symbolon verify`: threshold Ed25519 signatures.
//!
//! `sign` asks the coordinator, whose custodians sign together (FROST,
//! RFC 9591; the key never exists whole), and accepts the answer only if
//! it is by the key's public key as `GET /v1/keys/NAME` gives it and
//! verifies under it (`verify_strict`): a coordinator that answers with
//! another key or a bad signature gets nothing printed. `verify` checks
//! locally, with the public key from the coordinator or from a file.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ed25519_dalek::{Signature, VerifyingKey};
use symbolon_proto::api::{KeyInfo, KeyKind, SignRequest, SignResponse};

use super::args::{SignArgs, SignFormat, VerifyArgs};
use super::public_key::{GroupKey, PublicInput};
use super::signature::{
    self, DEFAULT_NAMESPACE, Invalid, MAX_SIGNATURE_FILE, MessageDigest, PlainFormat, SSH_HASH,
    SignatureFile,
};
use super::{Error, Limit, SIGN_LIMIT, VERIFY_LIMIT, api, runtime, warn_failures};
use crate::error::CliError;

/// The size of the pieces a message is read in.
const CHUNK: usize = 64 * 1024;

pub(crate) fn sign(args: &SignArgs) -> Result<(), Error> {
    symbolon_proto::validate_name("key name", &args.key)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let format = args.format.unwrap_or(if args.out.is_some() {
        SignFormat::Raw
    } else {
        SignFormat::Hex
    });
    if args.namespace.is_some() && format != SignFormat::Ssh {
        return Err(Error::Usage(
            "--namespace applies only to --format ssh".into(),
        ));
    }
    let namespace = args.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    // What the key signs: the message itself, or for SSHSIG the blob that
    // carries the message's SHA-512 (the message then never leaves here).
    let signed = if format == SignFormat::Ssh {
        signature::check_namespace(namespace).map_err(|e| Error::Usage(e.to_string()))?;
        let mut digest = MessageDigest::new(SSH_HASH);
        stream(args.input.as_deref(), None, |chunk| digest.update(chunk))?;
        signature::ssh_signed_data(namespace, &digest.finalize())
            .map_err(|e| Error::Usage(e.to_string()))?
    } else {
        read_message(args.input.as_deref(), SIGN_LIMIT)?
    };
    let request = SignRequest { message: signed };
    let (group, answer) = runtime()?.block_on(async {
        let api = api(args.client.config.as_deref())?;
        let info: KeyInfo = api.get(&format!("/v1/keys/{}", args.key)).await?;
        let group = ed25519_key(&info, "sign needs an ed25519 key")?;
        let answer: SignResponse = api
            .post(&format!("/v1/keys/{}/sign", args.key), &request)
            .await?;
        Ok::<_, Error>((group, answer))
    })?;
    // Fail closed: the signature must be by the key's public key and hold.
    if answer.public_key != group.to_bytes() {
        return Err(Error::SignerMismatch {
            key: args.key.clone(),
            expected: hex::encode(group.to_bytes()),
            answered: hex::encode(answer.public_key),
        });
    }
    group
        .verify_strict(&request.message, &Signature::from_bytes(&answer.signature))
        .map_err(|_| Error::SignatureInvalid {
            key: args.key.clone(),
            public_key: hex::encode(group.to_bytes()),
        })?;
    warn_failures(&answer.failures);
    let output = match format {
        SignFormat::Ssh => signature::ssh_armor(&group, namespace, &answer.signature)
            .map_err(|e| Error::Usage(e.to_string()))?
            .into_bytes(),
        SignFormat::Raw => signature::encode(PlainFormat::Raw, &answer.signature),
        SignFormat::Hex => signature::encode(PlainFormat::Hex, &answer.signature),
        SignFormat::Base64 => signature::encode(PlainFormat::Base64, &answer.signature),
    };
    write_public(args.out.as_deref(), &output)?;
    eprintln!(
        "signed with key {} version {} by {}",
        args.key,
        answer.version,
        answer.custodians.join(", ")
    );
    Ok(())
}

/// Runs `verify` and prints its verdict: exit status 0 valid, 1 invalid,
/// 2 any other error.
pub(crate) fn verify(args: &VerifyArgs) -> ExitCode {
    match check(args) {
        Ok(Ok(())) => {
            eprintln!("signature valid");
            ExitCode::SUCCESS
        }
        Ok(Err(invalid)) => {
            eprintln!("signature invalid: {invalid}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(Ok(()))` valid, `Ok(Err(_))` invalid, `Err(_)` could not tell.
fn check(args: &VerifyArgs) -> Result<Result<(), Invalid>, Error> {
    if let Some(key) = &args.key {
        symbolon_proto::validate_name("key name", key).map_err(|e| Error::Usage(e.to_string()))?;
    }
    let limit = Limit {
        max: MAX_SIGNATURE_FILE,
        why: "no signature file is larger",
    };
    let bytes = read_file(&args.signature, limit, "the signature file")?;
    let sig = SignatureFile::parse(&bytes).map_err(|source| Error::SignatureFile {
        path: args.signature.clone(),
        source,
    })?;
    if let (Some(_), SignatureFile::Plain(_)) = (&args.namespace, &sig) {
        return Err(Error::Usage(format!(
            "--namespace applies only to SSH signatures; {} holds a plain Ed25519 signature",
            args.signature.display()
        )));
    }
    let namespace = args.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    signature::check_namespace(namespace).map_err(|e| Error::Usage(e.to_string()))?;
    let key = match (&args.public, &args.key) {
        (Some(path), name) => offline_key(path, name.as_deref())?,
        (None, Some(name)) => runtime()?.block_on(async {
            let info: KeyInfo = api(args.client.config.as_deref())?
                .get(&format!("/v1/keys/{name}"))
                .await?;
            ed25519_key(&info, "verify needs an ed25519 key")
        })?,
        (None, None) => return Err(Error::Usage("give --key NAME or --public FILE".into())),
    };
    Ok(match sig {
        SignatureFile::Plain(sig) => {
            let message = read_message(args.input.as_deref(), VERIFY_LIMIT)?;
            signature::check_plain(&key, &message, &sig)
        }
        SignatureFile::Ssh(sig) => {
            let mut digest = MessageDigest::new(sig.hash_alg());
            stream(args.input.as_deref(), None, |chunk| digest.update(chunk))?;
            signature::check_ssh(&key, namespace, &sig, &digest.finalize())
        }
    })
}

/// The Ed25519 group key of `info`, or why there is none.
fn ed25519_key(info: &KeyInfo, need: &'static str) -> Result<VerifyingKey, Error> {
    if info.kind != KeyKind::Ed25519 {
        return Err(Error::Kind {
            key: info.name.clone(),
            kind: info.kind,
            need,
        });
    }
    match super::group_key(info)? {
        GroupKey::Ed25519(key) => Ok(key),
        GroupKey::Ristretto255(_) => Err(Error::Kind {
            key: info.name.clone(),
            kind: KeyKind::Ristretto255,
            need,
        }),
    }
}

/// The Ed25519 key in a `--public` file; `name` (from `--key`) must match
/// the name the file carries, if it carries one.
fn offline_key(path: &Path, name: Option<&str>) -> Result<VerifyingKey, Error> {
    let (key, file_name) = match super::read_public(path)? {
        PublicInput::File(file) => match file.key {
            GroupKey::Ed25519(key) => (key, Some(file.name)),
            GroupKey::Ristretto255(_) => {
                return Err(Error::Kind {
                    key: file.name,
                    kind: KeyKind::Ristretto255,
                    need: "verify needs an ed25519 key",
                });
            }
        },
        PublicInput::Ed25519 { key, name } => (key, name),
    };
    if let (Some(given), Some(found)) = (name, file_name)
        && given != found
    {
        return Err(Error::OtherKeyFile {
            path: path.to_owned(),
            expected: given.to_owned(),
            found,
        });
    }
    Ok(key)
}

/// The message to sign or verify, within `limit`.
fn read_message(input: Option<&Path>, limit: Limit) -> Result<Vec<u8>, Error> {
    let mut message = Vec::new();
    stream(input, Some(limit), |chunk| {
        message.extend_from_slice(chunk);
    })?;
    Ok(message)
}

/// Reads `input` (standard input if `None`) in pieces, handing each to
/// `each`; refuses input beyond `limit` bytes.
fn stream(
    input: Option<&Path>,
    limit: Option<Limit>,
    mut each: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let (mut reader, path): (Box<dyn std::io::Read>, Option<PathBuf>) = match input {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })?;
            // A file's size is known: refuse it before reading.
            let len = file
                .metadata()
                .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
                .unwrap_or(0);
            if let Some(limit) = limit
                && len > limit.max
            {
                return Err(Error::Oversized {
                    what: "the message",
                    len: Some(len),
                    limit,
                });
            }
            (Box::new(file), Some(path.to_owned()))
        }
        None => (Box::new(std::io::stdin().lock()), None),
    };
    let read_error = |source| match &path {
        Some(path) => Error::Read {
            path: path.clone(),
            source,
        },
        None => Error::Cli(CliError::ReadStdin(source)),
    };
    let mut buffer = vec![0u8; CHUNK];
    let mut total = 0usize;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        total = total.saturating_add(n);
        if let Some(limit) = limit
            && total > limit.max
        {
            return Err(Error::Oversized {
                what: "the message",
                len: None,
                limit,
            });
        }
        each(buffer.get(..n).unwrap_or_default());
    }
}

/// Reads a small file whole, refusing it beyond `limit`.
pub(super) fn read_file(path: &Path, limit: Limit, what: &'static str) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let len = file
        .metadata()
        .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
        .unwrap_or(0);
    if len > limit.max {
        return Err(Error::Oversized {
            what,
            len: Some(len),
            limit,
        });
    }
    let mut bytes = Vec::new();
    file.take(
        u64::try_from(limit.max)
            .unwrap_or(u64::MAX)
            .saturating_add(1),
    )
    .read_to_end(&mut bytes)
    .map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() > limit.max {
        // It grew while being read.
        return Err(Error::Oversized {
            what,
            len: None,
            limit,
        });
    }
    Ok(bytes)
}

/// Writes public output (a signature) to `out` (mode 0644, atomically) or
/// standard output.
fn write_public(out: Option<&Path>, bytes: &[u8]) -> Result<(), Error> {
    match out {
        Some(path) => symbolon_transport::write_atomically(
            path,
            bytes,
            0o644,
            symbolon_transport::Existing::Replace,
        )
        .map_err(|e| Error::Cli(CliError::from(e))),
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::Cli(CliError::WriteStdout(e)))
        }
    }
}
