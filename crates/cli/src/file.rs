//! Reading inputs and writing secret-bearing files safely.
//!
//! Files are written with `symbolon-transport`'s [`StagedFile`]: mode 0600,
//! a temporary file, fsync, then renamed into place, so a crash never
//! leaves a half-written share or secret behind; several files (a split's
//! shards) are committed together in two phases.
//!
//! Secrets pass through no buffer that is freed unwiped: inputs are read
//! into [`Zeroizing`] buffers that grow by copy-and-wipe, and standard input
//! and output are used unbuffered (the standard library's own buffers for
//! them are never wiped).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsFd as _;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use symbolon_transport::{Existing, StagedFile};
use zeroize::Zeroizing;

use crate::error::CliError;

/// File errors keep the CLI's wording (`Exists` suggests `--force`); the
/// rest are shown as the transport words them.
impl From<symbolon_transport::Error> for CliError {
    fn from(e: symbolon_transport::Error) -> Self {
        match e {
            symbolon_transport::Error::Write { path, source } => CliError::Write { path, source },
            symbolon_transport::Error::Read { path, source } => CliError::Read { path, source },
            symbolon_transport::Error::Exists { path } => CliError::Exists { path },
            other => CliError::Transport(Box::new(other)),
        }
    }
}

/// Reads a whole file; the buffer is wiped when dropped.
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let err = |source| CliError::Read {
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(err)?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    read_to_end(&mut f, usize::try_from(len).unwrap_or(0)).map_err(err)
}

/// Reads standard input to the end; the buffer is wiped when dropped.
///
/// Reads a duplicate of file descriptor 0 directly: going through
/// `io::stdin()` would leave the last bytes in its process-wide buffer.
pub(crate) fn read_stdin() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let fd = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(CliError::ReadStdin)?;
    read_to_end(&mut File::from(fd), 0).map_err(CliError::ReadStdin)
}

/// Writes `bytes` (a secret) to standard output, unbuffered: through a
/// duplicate of file descriptor 1, after flushing whatever `io::stdout()`
/// holds, so no copy stays in its process-wide buffer.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let stdout = io::stdout();
    stdout.lock().flush().map_err(CliError::WriteStdout)?;
    let fd = stdout
        .as_fd()
        .try_clone_to_owned()
        .map_err(CliError::WriteStdout)?;
    File::from(fd)
        .write_all(bytes)
        .map_err(CliError::WriteStdout)
}

/// The first buffer's size when the input's size is unknown.
const FIRST_BUFFER: usize = 64 * 1024;

/// Bytes read to find out whether a buffer of the expected size was enough.
const PROBE: usize = 64;

/// Reads `r` to the end into a buffer that is wiped when dropped, leaving
/// no unwiped copy behind: when the buffer is full, its bytes move to one
/// twice as large and the old one is wiped as it drops (`Vec`'s own growth
/// would free it as it is). `expected` is the input's size if known (0
/// otherwise): then one buffer of exactly that size is enough, and a small
/// probe read confirms the end.
///
/// Each buffer is zeroed once when allocated (for large sizes the
/// allocator hands out zeroed pages anyway); growth copies are amortised,
/// as with `Vec`.
fn read_to_end(r: &mut impl Read, expected: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let first = if expected > 0 { expected } else { FIRST_BUFFER };
    let mut buf = Zeroizing::new(vec![0u8; first]);
    // `buf` is all initialised; its first `filled` bytes hold input.
    let mut filled = 0;
    loop {
        let n = match buf.get_mut(filled..) {
            Some(spare) if !spare.is_empty() => read_some(r, spare)?,
            _ => {
                // Full. Anything left?
                let mut probe = Zeroizing::new([0u8; PROBE]);
                let n = read_some(r, &mut probe[..])?;
                if n == 0 {
                    break;
                }
                let size = buf.len().saturating_mul(2).max(FIRST_BUFFER);
                let mut bigger = Zeroizing::new(vec![0u8; size]);
                let Some((new, rest)) = bigger.split_at_mut_checked(filled) else {
                    return Err(io::Error::other("input buffer arithmetic"));
                };
                let (Some(old), Some(tail), Some(new_tail)) =
                    (buf.get(..filled), probe.get(..n), rest.get_mut(..n))
                else {
                    return Err(io::Error::other("input buffer arithmetic"));
                };
                new.copy_from_slice(old);
                new_tail.copy_from_slice(tail);
                // The old buffer is wiped as it drops.
                buf = bigger;
                n
            }
        };
        if n == 0 {
            break;
        }
        filled += n;
    }
    // Shrinking only moves the length; the tail is wiped with the rest on drop.
    buf.truncate(filled);
    Ok(buf)
}

/// One `read`, retried if interrupted.
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
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
///
/// An early check, so that nothing is read or computed in vain; committing
/// with [`Existing::Refuse`] checks again without a race.
pub(crate) fn refuse_overwrite(path: &Path, force: bool) -> Result<(), CliError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(CliError::Exists {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// What `--force` means for existing files.
pub(crate) fn existing(force: bool) -> Existing {
    if force {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

/// Writes `parts` (concatenated) to `path` atomically with mode 0600,
/// replacing it.
pub(crate) fn write_private(path: &Path, parts: &[&[u8]]) -> Result<(), CliError> {
    write_private_as(path, parts, Existing::Replace)
}

/// Writes `parts` (concatenated) to `path` atomically with mode 0600; with
/// [`Existing::Refuse`], fails with [`CliError::Exists`] if `path` exists.
pub(crate) fn write_private_as(
    path: &Path,
    parts: &[&[u8]],
    existing: Existing,
) -> Result<(), CliError> {
    let staged = stage(path)?;
    let mut f = staged.file();
    for part in parts {
        f.write_all(part).map_err(|e| staged.write_error(e))?;
    }
    Ok(staged.commit(existing)?)
}

/// A private file (mode 0600) for `path`, written under a temporary name
/// until committed; dropped uncommitted, it leaves nothing behind.
pub(crate) fn stage(path: &Path) -> Result<StagedFile, CliError> {
    Ok(StagedFile::create(path, 0o600)?)
}

/// [`CliError::Write`] naming `staged`'s destination.
pub(crate) fn write_error(staged: &StagedFile, source: io::Error) -> CliError {
    CliError::Write {
        path: staged.path().to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_and_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
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
        assert!(matches!(
            write_private_as(&path, &[b"new"], existing(false)),
            Err(CliError::Exists { path: p }) if p == path
        ));
        assert_eq!(fs::read(&path).unwrap(), b"abcd");
        write_private_as(&path, &[b"new"], existing(true)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Hands out at most `step` bytes per read, interrupted every third call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.step).min(self.data.len());
            let (head, rest) = self.data.split_at(n);
            buf[..n].copy_from_slice(head);
            self.data = rest;
            Ok(n)
        }
    }

    #[test]
    fn read_to_end_grows_by_copy_and_returns_every_byte() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        // Unknown size (several doublings), too small a guess, the exact
        // size, too large a guess, and empty input.
        for (len, expected) in [
            (300_000, 0),
            (300_000, 1000),
            (300_000, 300_000),
            (1000, 5000),
            (0, 0),
        ] {
            for step in [1 << 20, 4096, 61] {
                if step == 61 && len > 1000 {
                    continue;
                }
                let mut r = Trickle {
                    data: &data[..len],
                    step,
                    calls: 0,
                };
                let out = read_to_end(&mut r, expected).unwrap();
                assert_eq!(&out[..], &data[..len], "len {len} expected {expected}");
            }
        }
        // An exact guess needs no growth: the buffer keeps its size.
        let mut r = Trickle {
            data: &data,
            step: 1 << 20,
            calls: 0,
        };
        let out = read_to_end(&mut r, data.len()).unwrap();
        assert_eq!(out.capacity(), data.len());
    }
}
