//! Reading inputs and writing secret-bearing files safely: mode 0600,
//! written to a temporary file, synced, then renamed into place, so a crash
//! never leaves a half-written share or secret behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::CliError;

/// Reads a whole file; the buffer is wiped when dropped.
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let err = |source| CliError::Read {
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(err)?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Zeroizing::new(Vec::with_capacity(usize::try_from(len).unwrap_or(0)));
    f.read_to_end(&mut buf).map_err(err)?;
    Ok(buf)
}

/// Reads standard input to the end; the buffer is wiped when dropped.
pub(crate) fn read_stdin() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(CliError::ReadStdin)?;
    Ok(buf)
}

/// Creates `dir` (and parents) with mode 0700 if it does not exist.
pub(crate) fn create_dir(dir: &Path) -> Result<(), CliError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| CliError::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Fails with [`CliError::Exists`] if `path` exists and `force` is off.
pub(crate) fn refuse_overwrite(path: &Path, force: bool) -> Result<(), CliError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(CliError::Exists {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Writes `parts` (concatenated) to `path` atomically with mode 0600.
pub(crate) fn write_private(path: &Path, parts: &[&[u8]]) -> Result<(), CliError> {
    write_private_with(path, |f| {
        for part in parts {
            f.write_all(part)?;
        }
        Ok(())
    })
}

/// Lets `fill` write `path`'s content, atomically and with mode 0600.
pub(crate) fn write_private_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), CliError> {
    let err = |source| CliError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = temporary_path(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut buffered = io::BufWriter::with_capacity(1 << 20, &mut f);
        fill(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the rename itself durable.
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// A private file (mode 0600) being written in place under a temporary
/// name; [`PendingFile::commit`] syncs it and renames it into place, and
/// dropping it uncommitted removes it, so a failure never leaves a partial
/// file behind.
pub(crate) struct PendingFile {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Creates the temporary file for `path`.
    pub(crate) fn create(path: &Path) -> Result<Self, CliError> {
        let tmp = temporary_path(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|source| CliError::Write {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            file,
            tmp,
            path: path.to_owned(),
            committed: false,
        })
    }

    /// The open temporary file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The error for a failed write to this file.
    pub(crate) fn error(&self, source: io::Error) -> CliError {
        CliError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Syncs the file and renames it into place (durably).
    pub(crate) fn commit(mut self) -> Result<(), CliError> {
        let result = (|| {
            self.file.sync_all()?;
            fs::rename(&self.tmp, &self.path)?;
            self.committed = true;
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                File::open(parent)?.sync_all()?;
            }
            Ok(())
        })();
        result.map_err(|source| self.error(source))
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_and_complete() {
        let dir = std::env::temp_dir().join(format!("symbolon-file-test-{}", std::process::id()));
        create_dir(&dir).unwrap();
        let path = dir.join("secret");
        write_private(&path, &[b"ab", b"cd"]).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abcd");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            refuse_overwrite(&path, false),
            Err(CliError::Exists { .. })
        ));
        assert!(refuse_overwrite(&path, true).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
