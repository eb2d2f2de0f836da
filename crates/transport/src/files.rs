//! PEM files on disk: reading them with errors that name the file, and
//! writing them atomically (temporary file, fsync, rename, directory fsync).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::Error;

/// Where a cluster member's TLS material lives: the cluster CA certificate,
/// its own certificate and its own private key, all PEM.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The cluster CA certificate (the only trust anchor).
    pub ca: PathBuf,
    /// This member's certificate.
    pub cert: PathBuf,
    /// This member's private key (mode 0600).
    pub key: PathBuf,
}

/// Reads a whole file, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a file that holds a secret; the buffer is wiped when dropped.
pub(crate) fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let bytes = Zeroizing::new(read(path)?);
    warn_if_exposed(path);
    Ok(bytes)
}

#[cfg(unix)]
fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "private key file is readable by group or others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_path: &Path) {}

/// Every certificate in a PEM file, in order (end-entity first for a chain).
///
/// # Errors
///
/// [`Error::Read`] if the file cannot be read, [`Error::BadPem`] if it holds
/// no certificate or a malformed PEM section.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read(path)?;
    certificates_from_pem(&bytes, path)
}

pub(crate) fn certificates_from_pem(
    pem: &[u8],
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::BadPem {
            path: path.to_owned(),
        })?;
    if certs.is_empty() {
        return Err(Error::BadPem {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, SEC1 or PKCS#1).
///
/// # Errors
///
/// [`Error::Read`] if the file cannot be read, [`Error::BadKey`] if it holds
/// no private key.
pub(crate) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = read_secret(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| Error::BadKey {
        path: path.to_owned(),
    })
}

/// How [`write_atomically`] treats an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it.
    Replace,
    /// Fail with [`Error::Exists`].
    Refuse,
}

/// Writes `contents` to `path` so that readers see either the old file or the
/// whole new one: a temporary file in the same directory, fsync, then rename
/// (or, with [`Existing::Refuse`], a hard link that fails if `path` exists),
/// then fsync of the directory. `mode` applies on Unix from creation on.
///
/// The daemons write their own private files (identities) with it too.
///
/// # Errors
///
/// [`Error::Exists`] (with [`Existing::Refuse`]) or [`Error::Write`] naming
/// the file; the temporary file is removed on failure.
pub fn write_atomically(
    path: &Path,
    contents: &[u8],
    mode: u32,
    existing: Existing,
) -> Result<(), Error> {
    let write_err = |p: &Path| {
        let p = p.to_owned();
        move |source| Error::Write { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Write {
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}.{unique}.tmp", std::process::id()));

    let result = (|| {
        let mut file = open_new(&tmp, mode).map_err(write_err(&tmp))?;
        file.write_all(contents).map_err(write_err(&tmp))?;
        file.sync_all().map_err(write_err(&tmp))?;
        drop(file);
        match existing {
            Existing::Replace => fs::rename(&tmp, path).map_err(write_err(path)),
            Existing::Refuse => {
                fs::hard_link(&tmp, path).map_err(|source| {
                    if source.kind() == io::ErrorKind::AlreadyExists {
                        Error::Exists {
                            path: path.to_owned(),
                        }
                    } else {
                        Error::Write {
                            path: path.to_owned(),
                            source,
                        }
                    }
                })?;
                fs::remove_file(&tmp).map_err(write_err(&tmp))
            }
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir).map_err(write_err(dir))
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _mode: u32) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Creates `dir` (and its parents) if missing; new directories get mode 0700 on Unix.
pub(crate) fn create_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_or_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.pem");
        write_atomically(&path, b"one", 0o600, Existing::Refuse).unwrap();
        assert!(matches!(
            write_atomically(&path, b"two", 0o600, Existing::Refuse),
            Err(Error::Exists { path: p }) if p == path
        ));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomically(&path, b"three", 0o600, Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_sets_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write_atomically(&path, b"secret", 0o600, Existing::Replace).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn bad_pem_names_the_file() {
        let path = Path::new("/nowhere/x.pem");
        assert!(matches!(
            certificates_from_pem(b"not pem", path),
            Err(Error::BadPem { path: p }) if p == path
        ));
        let truncated = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(matches!(
            certificates_from_pem(truncated, path),
            Err(Error::BadPem { .. })
        ));
    }
}
