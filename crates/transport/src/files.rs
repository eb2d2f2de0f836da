//! PEM files on disk: reading them with errors that name the file, and
//! writing files atomically (temporary file, fsync, rename, directory
//! fsync), one at a time or several together in two phases.

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

/// How [`write_atomically`] and [`StagedFile`] treat an existing file.
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
/// The daemons and the CLI write their private files (identities, shards,
/// keys) with it or with [`StagedFile`], which it is built on.
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
    StagedFile::with_contents(path, contents, mode)?.commit(existing)
}

/// A file being written under a temporary name next to its destination,
/// moved into place only by [`StagedFile::commit`] or
/// [`StagedFile::commit_all`]. Dropping it uncommitted removes the temporary
/// file, so a failure never leaves a partial file behind.
///
/// The temporary name is `.<name>.<pid>.<counter>.<random>.tmp`: hidden,
/// unique within the process, and not guessable by other local users (the
/// random part comes from the standard library's per-process random hash
/// keys). It is opened with `create_new`, so it never follows or reuses an
/// existing file.
#[derive(Debug)]
pub struct StagedFile {
    file: fs::File,
    tmp: PathBuf,
    path: PathBuf,
    synced: bool,
    /// The temporary name is gone (renamed or unlinked): nothing to remove.
    done: bool,
}

impl StagedFile {
    /// [`StagedFile::create`], then writes `contents` into it.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming `path`.
    pub fn with_contents(path: &Path, contents: &[u8], mode: u32) -> Result<StagedFile, Error> {
        let staged = StagedFile::create(path, mode)?;
        staged
            .file()
            .write_all(contents)
            .map_err(|source| staged.write_error(source))?;
        Ok(staged)
    }

    /// Creates the temporary file for `path`, open for reading and writing;
    /// `mode` applies on Unix from creation on.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming `path` if the temporary file cannot be
    /// created (for instance, the directory does not exist).
    pub fn create(path: &Path, mode: u32) -> Result<StagedFile, Error> {
        let file_name = path.file_name().ok_or_else(|| Error::Write {
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?;
        let tmp = parent(path).join(temporary_name(&file_name.to_string_lossy()));
        let file = open_new(&tmp, mode).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })?;
        Ok(StagedFile {
            file,
            tmp,
            path: path.to_owned(),
            synced: false,
            done: false,
        })
    }

    /// The open temporary file (`&File` implements `Write`, and on Unix
    /// `FileExt` for positioned reads and writes).
    pub fn file(&self) -> &fs::File {
        &self.file
    }

    /// Where the file goes when committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`Error::Write`] naming the destination, for a failed write to
    /// [`StagedFile::file`].
    pub fn write_error(&self, source: io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes the contents to disk (fsync). Committing does this for every
    /// file not yet synced; calling it first lets several files be synced in
    /// parallel.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming the destination.
    pub fn sync(&mut self) -> Result<(), Error> {
        if !self.synced {
            self.file
                .sync_all()
                .map_err(|source| self.write_error(source))?;
            self.synced = true;
        }
        Ok(())
    }

    /// Moves the file into place durably; as [`StagedFile::commit_all`]
    /// with this one file.
    ///
    /// # Errors
    ///
    /// As [`StagedFile::commit_all`].
    pub fn commit(self, existing: Existing) -> Result<(), Error> {
        Self::commit_all(vec![self], existing)
    }

    /// Moves several files into place together, in two phases: first every
    /// file is synced and every destination checked (with
    /// [`Existing::Refuse`], none may exist; with [`Existing::Replace`], none
    /// may be a directory); only then is each renamed (or, refusing, hard
    /// linked, so that a file appearing meanwhile is never replaced; on file
    /// systems without hard links, checked again and renamed) into place,
    /// and each directory involved synced.
    ///
    /// A failure in the first phase leaves every destination untouched and
    /// removes every temporary file. With [`Existing::Refuse`], a failure
    /// while placing (a file appeared meanwhile) also removes the files
    /// already placed, so it is all or nothing. With [`Existing::Replace`],
    /// a rename can still fail after the checks (an I/O error, or a
    /// destination changed concurrently); the files renamed by then stay
    /// replaced, the others keep their old contents, and the error names
    /// the first one not replaced.
    ///
    /// # Errors
    ///
    /// [`Error::Exists`] naming the first destination that exists (with
    /// [`Existing::Refuse`]); [`Error::Write`] naming the file or directory
    /// that could not be synced, checked or moved.
    pub fn commit_all(mut files: Vec<StagedFile>, existing: Existing) -> Result<(), Error> {
        // Phase 1: contents durable, destinations checked. Returning early
        // drops `files`, which removes every temporary file.
        for file in &mut files {
            file.sync()?;
        }
        for file in &files {
            check_destination(&file.path, existing)?;
        }
        // Phase 2: into place.
        let mut moved = 0;
        let mut failure = None;
        for file in &mut files {
            let result = match existing {
                Existing::Replace => fs::rename(&file.tmp, &file.path).map(|()| true),
                Existing::Refuse => place_new(&file.tmp, &file.path),
            };
            match result {
                Ok(renamed) => {
                    file.done = renamed;
                    moved += 1;
                }
                Err(source) => {
                    failure = Some(match existing {
                        Existing::Refuse if source.kind() == io::ErrorKind::AlreadyExists => {
                            Error::Exists {
                                path: file.path.clone(),
                            }
                        }
                        _ => file.write_error(source),
                    });
                    break;
                }
            }
        }
        if let Some(error) = failure {
            if existing == Existing::Refuse {
                // All or nothing: remove the files placed so far (ours,
                // placed a moment ago where nothing was).
                for placed in files.iter().take(moved) {
                    let _ = fs::remove_file(&placed.path);
                }
            }
            return Err(error);
        }
        for file in files.iter_mut().filter(|f| !f.done) {
            // Hard-linked: the temporary name goes now.
            fs::remove_file(&file.tmp).map_err(|source| Error::Write {
                path: file.tmp.clone(),
                source,
            })?;
            file.done = true;
        }
        let mut dirs: Vec<&Path> = Vec::new();
        for file in &files {
            let dir = parent(&file.path);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            sync_dir(dir).map_err(|source| Error::Write {
                path: dir.to_owned(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Puts `tmp` at `path` unless something is there: a hard link, which
/// fails atomically if `path` exists (`Ok(false)`: `tmp` remains). On a file
/// system without hard links (FAT on a USB stick, where shards often go), a
/// check then a rename instead (`Ok(true)`), which a file created at `path`
/// in between would lose to.
fn place_new(tmp: &Path, path: &Path) -> io::Result<bool> {
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if fs::symlink_metadata(path).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(tmp, path).map(|()| true)
        }
    }
}

/// Fails if `path` cannot take a staged file under `existing`.
fn check_destination(path: &Path, existing: Existing) -> Result<(), Error> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Write {
                path: path.to_owned(),
                source,
            });
        }
    };
    match existing {
        Existing::Refuse => Err(Error::Exists {
            path: path.to_owned(),
        }),
        // A rename cannot replace a directory: find out before any rename.
        Existing::Replace if meta.is_dir() => Err(Error::Write {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory is in the way; remove it",
            ),
        }),
        Existing::Replace => Ok(()),
    }
}

/// `.<name>.<pid>.<counter>.<random>.tmp`.
fn temporary_name(file_name: &str) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    // `RandomState` is keyed from the operating system's random source once
    // per process (then stepped per instance): SipHash under those keys is
    // unpredictable to anyone else, without a random-number dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(unique);
    let random = hasher.finish();
    format!(
        ".{file_name}.{}.{unique}.{random:016x}.tmp",
        std::process::id()
    )
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _mode: u32) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
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

    /// Stages `contents` for `path` (mode 0600).
    fn staged(path: &Path, contents: &[u8]) -> StagedFile {
        let file = StagedFile::create(path, 0o600).unwrap();
        file.file().write_all(contents).unwrap();
        file
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn commit_all_moves_every_file_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();
        let files = paths.iter().map(|p| staged(p, b"old")).collect();
        StagedFile::commit_all(files, Existing::Replace).unwrap();
        assert_eq!(names(dir.path()), ["s1", "s2", "s3"]);

        // A directory where s3 goes: found before any rename, so s1 and s2
        // keep their old contents and no temporary file is left.
        fs::remove_file(&paths[2]).unwrap();
        fs::create_dir(&paths[2]).unwrap();
        let files = paths.iter().map(|p| staged(p, b"new")).collect();
        assert!(matches!(
            StagedFile::commit_all(files, Existing::Replace),
            Err(Error::Write { path, source })
                if path == paths[2] && source.kind() == io::ErrorKind::IsADirectory
        ));
        assert_eq!(fs::read(&paths[0]).unwrap(), b"old");
        assert_eq!(fs::read(&paths[1]).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["s1", "s2", "s3"]);

        fs::remove_dir(&paths[2]).unwrap();
        let files = paths.iter().map(|p| staged(p, b"new")).collect();
        StagedFile::commit_all(files, Existing::Replace).unwrap();
        for path in &paths {
            assert_eq!(fs::read(path).unwrap(), b"new");
        }
        assert_eq!(names(dir.path()), ["s1", "s2", "s3"]);
    }

    #[test]
    fn commit_all_refusing_links_none_if_one_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&b, b"mine").unwrap();
        let files = vec![staged(&a, b"new"), staged(&b, b"new")];
        assert!(matches!(
            StagedFile::commit_all(files, Existing::Refuse),
            Err(Error::Exists { path }) if path == b
        ));
        assert_eq!(names(dir.path()), ["b"]);
        assert_eq!(fs::read(&b).unwrap(), b"mine");

        // Two files for one name pass the checks; the second link fails and
        // the first is taken back.
        let files = vec![staged(&a, b"one"), staged(&a, b"two")];
        assert!(matches!(
            StagedFile::commit_all(files, Existing::Refuse),
            Err(Error::Exists { path }) if path == a
        ));
        assert_eq!(names(dir.path()), ["b"]);

        let files = vec![staged(&a, b"one")];
        StagedFile::commit_all(files, Existing::Refuse).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["a", "b"]);
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = staged(&path, b"partial");
        let listed = names(dir.path());
        assert_eq!(listed.len(), 1);
        assert!(listed[0].starts_with(".f.") && listed[0].ends_with(".tmp"));
        drop(file);
        assert!(names(dir.path()).is_empty());
        assert!(matches!(
            StagedFile::create(&dir.path().join("missing/f"), 0o600),
            Err(Error::Write { path, .. }) if path == dir.path().join("missing/f")
        ));
    }

    #[test]
    fn temporary_names_differ_beyond_the_counter() {
        let a = temporary_name("x");
        let b = temporary_name("x");
        assert_ne!(a, b);
        // The random part differs too, not just the counter.
        let random = |name: &str| name.rsplit('.').nth(1).unwrap().to_owned();
        assert_ne!(random(&a), random(&b));
        assert_eq!(random(&a).len(), 16);
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
