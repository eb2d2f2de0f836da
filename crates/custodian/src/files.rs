//! Files in the data directory: created private (directories 0700, files
//! 0600) and written atomically, so a crash leaves either the old file or
//! the whole new one, never a torn one.

use std::fs;
use std::io;
use std::path::Path;

use symbolon_transport::Existing;

use crate::Error;

/// Writes `contents` to `path` with [`symbolon_transport::write_atomically`]:
/// a temporary file in the same directory (mode 0600 from creation on,
/// hidden behind a leading dot so it is never mistaken for a shard or key
/// file when loading), fsync, rename over `path`, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    symbolon_transport::write_atomically(path, contents, 0o600, Existing::Replace).map_err(|e| {
        match e {
            symbolon_transport::Error::Write { path, source } => Error::Write { path, source },
            // Not produced when replacing; still a failure to write `path`.
            other => Error::Write {
                path: path.to_owned(),
                source: io::Error::other(other),
            },
        }
    })
}

/// Removes `path` if it exists and makes the removal durable.
pub(crate) fn remove(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Write {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Creates `dir` (mode 0700) if missing and makes its entry in the parent
/// durable. Warns if an existing directory is open to group or others.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        warn_if_exposed(dir);
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(Error::write(dir))?;
    sync_dir(parent(dir))
}

/// Reads a file holding a secret into a buffer that is wiped on drop;
/// `Ok(None)` if it does not exist.
pub(crate) fn read_secret(path: &Path) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, Error> {
    match fs::read(path) {
        Ok(bytes) => {
            warn_if_exposed(path);
            Ok(Some(zeroize::Zeroizing::new(bytes)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a small public file; `Ok(None)` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The entries of `dir`, sorted by name (so loading is deterministic).
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, Error> {
    let mut entries = fs::read_dir(dir)
        .map_err(Error::read(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::read(dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    Ok(entries)
}

/// A canonical decimal `u64` (digits only, no sign, no leading zero): the
/// one spelling of each number, so a file or path names it only one way.
pub(crate) fn parse_canonical_u64(text: &str) -> Option<u64> {
    let value = text.parse::<u64>().ok()?;
    (value.to_string() == text).then_some(value)
}

/// `<n>.<extension>` with a canonical decimal `n` → `n`.
pub(crate) fn parse_numbered(name: &str, extension: &str) -> Option<u64> {
    parse_canonical_u64(name.strip_suffix(extension)?.strip_suffix('.')?)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Makes the entries of `dir` (creations, renames, removals) durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::write(dir))
}

/// Makes the entries of `dir` durable (a no-op off Unix).
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(unix)]
fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "readable by group or others; chmod it to 0600 (files) or 0700 (directories)");
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert_eq!(read_optional(&path).unwrap(), None);
    }

    #[test]
    fn a_failed_write_names_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub");
        fs::create_dir(&path).unwrap();
        assert!(matches!(
            write_atomically(&path, b"x"),
            Err(Error::Write { path: p, .. }) if p == path
        ));
        assert!(path.is_dir());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn numbers_have_one_spelling() {
        assert_eq!(parse_canonical_u64("0"), Some(0));
        assert_eq!(parse_canonical_u64("17"), Some(17));
        assert_eq!(parse_canonical_u64("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "x",
            "18446744073709551616",
        ] {
            assert_eq!(parse_canonical_u64(bad), None, "{bad:?}");
        }
        assert_eq!(parse_numbered("9.batch", "batch"), Some(9));
        assert_eq!(parse_numbered("1.sym", "sym"), Some(1));
        for bad in [
            "01.sym",
            "1.sy",
            "x.sym",
            ".sym",
            "1.sym.tmp",
            "-1.sym",
            "1sym",
        ] {
            assert_eq!(parse_numbered(bad, "sym"), None, "{bad}");
        }
    }

    #[test]
    fn directories_are_listed_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b", "a", "c"] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<_> = read_dir(dir.path())
            .unwrap()
            .iter()
            .map(fs::DirEntry::file_name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(matches!(
            read_dir(&dir.path().join("missing")),
            Err(Error::Read { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        assert_eq!(
            fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let path = sub.join("k");
        write_atomically(&path, b"secret").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
