//! `symbolon sign` and `symbolon verify`: threshold Ed25519 signatures.
//!
//! `sign` asks the coordinator, whose custodians sign together (FROST,
//! RFC 9591; the key never exists whole), and prints the answer only if it
//! is by the key's public key and verifies under it (`verify_strict`): a
//! bad signature never gets written. Which public key: with `--public
//! FILE`, the one pinned there, so a coordinator that answers with another
//! key is caught; without, the one `GET /v1/keys/NAME` gives, which only
//! catches a coordinator that contradicts itself (one that lies about the
//! key consistently is believed). `verify` checks locally, with the public
//! key from the coordinator or from a file.

use std::path::Path;
use std::process::ExitCode;

use ed25519_dalek::{Signature, VerifyingKey};
use symbolon_proto::api::{KeyInfo, SignRequest, SignResponse};

use super::args::{SignArgs, SignFormat, VerifyArgs};
use super::public_key::PublicInput;
use super::signature::{
    self, Invalid, MAX_SIGNATURE_FILE, MessageDigest, PlainFormat, SignatureFile,
};
use super::{Error, SIGN_LIMIT, VERIFY_LIMIT, api, key_name, need, runtime, warn_failures};
use crate::file::{self, Limit};
use crate::terminal::printable_list;

/// What `verify` reads of a signature file.
const SIGNATURE_FILE_LIMIT: Limit = Limit {
    max: MAX_SIGNATURE_FILE,
    why: "no signature file is larger",
};

pub(crate) fn sign(args: &SignArgs) -> Result<(), Error> {
    let name = key_name(&args.key)?;
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
    let namespace = args.namespace.clone().unwrap_or_default();
    // The key first (a pinned one before anything else): a wrong file, an
    // unreachable cluster or a key of another kind fails before the message
    // is read or hashed.
    let pinned = match &args.public {
        Some(path) => Some(offline_key(path, Some(name), need::SIGN)?),
        None => None,
    };
    let runtime = runtime()?;
    let api = api(args.client.config.as_deref())?;
    let group = match pinned {
        Some(key) => key,
        None => runtime.block_on(async {
            ed25519_key(&api.get(&format!("/v1/keys/{name}")).await?, need::SIGN)
        })?,
    };
    // What the key signs: the message itself, or for SSHSIG the blob that
    // carries the message's SHA-512 (the message then never leaves here).
    let signed = if format == SignFormat::Ssh {
        let mut digest = MessageDigest::ssh();
        file::stream(args.input.as_deref(), |chunk| digest.update(chunk))?;
        signature::ssh_signed_data(&namespace, &digest.finalize())
            .map_err(|source| Error::SshSignature { source })?
    } else {
        // Not a secret: out of its wiping buffer, without a copy.
        let mut message = file::read_limited(args.input.as_deref(), SIGN_LIMIT, "the message")?;
        std::mem::take(&mut *message)
    };
    let request = SignRequest { message: signed };
    let answer: SignResponse =
        runtime.block_on(api.post(&format!("/v1/keys/{name}/sign"), &request))?;
    accept(name, &group, &request.message, &answer)?;
    warn_failures(&answer.failures);
    let output = match format {
        SignFormat::Ssh => signature::ssh_armor(&group, &namespace, &answer.signature)
            .map_err(|source| Error::SshSignature { source })?
            .into_bytes(),
        SignFormat::Raw => signature::encode(PlainFormat::Raw, &answer.signature),
        SignFormat::Hex => signature::encode(PlainFormat::Hex, &answer.signature),
        SignFormat::Base64 => signature::encode(PlainFormat::Base64, &answer.signature),
    };
    file::write_public(args.out.as_deref(), &output)?;
    eprintln!("{}", signed_line(name, &answer));
    Ok(())
}

/// Accepts the coordinator's signature of `message` for key `key` only if
/// it is by `group`, the key's public key, and verifies under it
/// (`verify_strict`): fail closed.
///
/// # Errors
///
/// [`Error::SignerMismatch`] if the answer names another public key,
/// [`Error::SignatureInvalid`] if the signature does not verify.
pub(super) fn accept(
    key: &str,
    group: &VerifyingKey,
    message: &[u8],
    answer: &SignResponse,
) -> Result<(), Error> {
    if answer.public_key != group.to_bytes() {
        return Err(Error::SignerMismatch {
            key: key.to_owned(),
            expected: hex::encode(group.to_bytes()),
            answered: hex::encode(answer.public_key),
        });
    }
    group
        .verify_strict(message, &Signature::from_bytes(&answer.signature))
        .map_err(|_| Error::SignatureInvalid {
            key: key.to_owned(),
            public_key: hex::encode(group.to_bytes()),
        })
}

/// What `sign` reports on standard error: the key, its version and the
/// custodians that signed (as the coordinator names them, made printable).
fn signed_line(key: &str, answer: &SignResponse) -> String {
    format!(
        "signed with key {key} version {} by {}",
        answer.version,
        printable_list(&answer.custodians, ", ")
    )
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
    let name = args.key.as_deref().map(key_name).transpose()?;
    let bytes = file::read_limited(
        Some(&args.signature),
        SIGNATURE_FILE_LIMIT,
        "the signature file",
    )?;
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
    let key = match &args.public {
        Some(path) => offline_key(path, name, need::VERIFY)?,
        None => {
            // clap requires --key without --public.
            let name = name.unwrap_or_default();
            runtime()?.block_on(async {
                let info: KeyInfo = api(args.client.config.as_deref())?
                    .get(&format!("/v1/keys/{name}"))
                    .await?;
                ed25519_key(&info, need::VERIFY)
            })?
        }
    };
    Ok(match sig {
        SignatureFile::Plain(sig) => {
            let message = file::read_limited(args.input.as_deref(), VERIFY_LIMIT, "the message")?;
            signature::check_plain(&key, &message, &sig)
        }
        SignatureFile::Ssh(sig) => {
            let mut digest =
                MessageDigest::new(sig.hash_alg()).map_err(|source| Error::SignatureFile {
                    path: args.signature.clone(),
                    source,
                })?;
            file::stream(args.input.as_deref(), |chunk| digest.update(chunk))?;
            let namespace = args.namespace.clone().unwrap_or_default();
            signature::check_ssh(&key, &namespace, &sig, &digest.finalize())
        }
    })
}

/// The Ed25519 group key of `info`, or why there is none; `need` says
/// what the command needs.
pub(super) fn ed25519_key(info: &KeyInfo, need: &'static str) -> Result<VerifyingKey, Error> {
    super::group_key(info, need)?.into_ed25519(&info.name, need)
}

/// The Ed25519 key in a `--public` file; `name` (from `--key`) must match
/// the name the file carries, if it carries one.
fn offline_key(path: &Path, name: Option<&str>, need: &'static str) -> Result<VerifyingKey, Error> {
    let (key, file_name) = match super::read_public(path)? {
        PublicInput::File(file) => (file.key.into_ed25519(&file.name, need)?, Some(file.name)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn answer(key: &SigningKey, message: &[u8]) -> SignResponse {
        SignResponse {
            signature: key.sign(message).to_bytes(),
            public_key: key.verifying_key().to_bytes(),
            version: 3,
            custodians: vec!["c1".into(), "c2".into()],
            failures: Vec::new(),
        }
    }

    #[test]
    fn only_a_signature_by_the_key_that_verifies_is_accepted() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let group = key.verifying_key();
        let good = answer(&key, b"release");
        accept("signer", &group, b"release", &good).unwrap();

        // By another key (valid under that key): refused.
        let stranger = SigningKey::from_bytes(&[6u8; 32]);
        let other = answer(&stranger, b"release");
        let err = accept("signer", &group, b"release", &other).unwrap_err();
        assert!(
            matches!(&err, Error::SignerMismatch { key, expected, answered }
                if key == "signer"
                    && *expected == hex::encode(group.to_bytes())
                    && *answered == hex::encode(stranger.verifying_key().to_bytes())),
            "{err:?}"
        );

        // The right key named, one signature bit flipped: refused.
        for bit in [0, 255, 256, 511] {
            let mut flipped = good.clone();
            flipped.signature[bit / 8] ^= 1 << (bit % 8);
            let err = accept("signer", &group, b"release", &flipped).unwrap_err();
            assert!(
                matches!(&err, Error::SignatureInvalid { key, public_key }
                    if key == "signer" && *public_key == hex::encode(group.to_bytes())),
                "bit {bit}: {err:?}"
            );
        }
        // Another message: refused.
        assert!(matches!(
            accept("signer", &group, b"releasf", &good),
            Err(Error::SignatureInvalid { .. })
        ));
    }

    #[test]
    fn the_signed_line_escapes_what_the_coordinator_names() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let mut good = answer(&key, b"m");
        assert_eq!(
            signed_line("signer", &good),
            "signed with key signer version 3 by c1, c2"
        );
        good.custodians = vec!["c1\u{1b}[2K\rsigned by nobody".into()];
        assert_eq!(
            signed_line("signer", &good),
            "signed with key signer version 3 by c1\\u{1b}[2K\\rsigned by nobody"
        );
    }
}
