//! `symbolon keygen`: identities and their public recipient strings.

use std::path::Path;

use symbolon_envelope::Identity;
use symbolon_transport::Existing;

use crate::args::KeygenArgs;
use crate::error::CliError;
use crate::file;

pub(crate) fn run(args: &KeygenArgs) -> Result<(), CliError> {
    if let Some(path) = &args.public {
        let identity = load(path)?;
        println!("{}", identity.recipient());
        return Ok(());
    }
    if let Some(path) = &args.out {
        file::refuse_overwrite(path, false)?;
        let identity = Identity::generate(&mut rand::rng());
        let armored = identity.to_armored();
        // Refused again when linked into place: no race with another writer.
        file::write_private_as(path, &[armored.as_bytes()], Existing::Refuse)?;
        eprintln!("wrote identity to {} (keep it secret)", path.display());
        println!("{}", identity.recipient());
    }
    Ok(())
}

/// Reads and parses an identity file.
pub(crate) fn load(path: &Path) -> Result<Identity, CliError> {
    let bytes = file::read(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| CliError::Identity {
        path: path.to_owned(),
        source: symbolon_envelope::Error::BadArmor {
            reason: "not UTF-8 text",
        },
    })?;
    Identity::from_armored(text).map_err(|source| CliError::Identity {
        path: path.to_owned(),
        source,
    })
}
