//! Reading inputs and writing files safely.
//!
//! Files are written with `symbolon-transport`'s [`StagedFile`]: a
//! temporary file, fsync, then renamed into place, so a crash never leaves a
//! half-written share, secret or signature behind; several files (a split's
//! shards) are committed together in two phases. Private files are mode
//! 0600, public ones (signatures, proofs) 0644.
//!
//! Secrets pass through no buffer that is freed unwiped: inputs are read
//! into a [`WipingBuffer`], which grows by copy-and-wipe, and standard input
//! and output are used unbuffered for them (the standard library's own
//! buffers for them are never wiped).
//!
//! Inputs the cluster commands send are read within a [`Limit`], refused
//! before reading if their size is known (a file), else as soon as they
//! exceed it.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsFd as _;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use symbolon_transport::{Existing, StagedFile};
use zeroize::Zeroizing;

use crate::error::CliError;

/// A size limit, and why it is there (for the error that names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limit {
    /// The most bytes allowed.
    pub(crate) max: usize,
    /// Why, in a few words the error message ends with.
    pub(crate) why: &'static str,
}

/// No limit: what the offline commands read (the user's own files).
const UNLIMITED: Limit = Limit {
    max: usize::MAX,
    why: "",
};

/// Reads a whole file; the buffer is wiped when dropped.
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    read_limited(Some(path), UNLIMITED, "the input")
}

/// Reads standard input to the end; the buffer is wiped when dropped.
///
/// Reads a duplicate of file descriptor 0 directly: going through
/// `io::stdin()` would leave the last bytes in its process-wide buffer.
pub(crate) fn read_stdin() -> Result<Zeroizing<Vec<u8>>, CliError> {
    read_limited(None, UNLIMITED, "the input")
}

/// Reads `input` (standard input if `None`) whole into a buffer wiped when
/// dropped, refusing more than `limit`: a file whose size is known before
/// anything is read, other input as soon as it exceeds the limit.
///
/// # Errors
///
/// [`CliError::TooLarge`] naming `what` and the limit, [`CliError::Read`]
/// or [`CliError::ReadStdin`].
pub(crate) fn read_limited(
    input: Option<&Path>,
    limit: Limit,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    read_limited_by(input, what, 0, |_| limit)
}

/// The most bytes [`read_limited_by`] looks at to choose a limit.
pub(crate) const MAX_PEEK: usize = 16;

/// As [`read_limited`], with the limit chosen by `choose` from the first
/// `peek` bytes of the input (fewer if it is shorter; at most
/// [`MAX_PEEK`]): e.g. a ciphertext's magic says where it goes, and so
/// what it may weigh. The chosen limit is the only one checked.
///
/// # Errors
///
/// As [`read_limited`].
pub(crate) fn read_limited_by(
    input: Option<&Path>,
    what: &'static str,
    peek: usize,
    choose: impl FnOnce(&[u8]) -> Limit,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let (mut reader, len) = open_input(input)?;
    let read_error = |source| input_error(input, source);
    // The first bytes, read before the limit is known.
    let mut head = Zeroizing::new([0u8; MAX_PEEK]);
    let want = head.get_mut(..peek.min(MAX_PEEK)).unwrap_or_default();
    let mut got = 0;
    while let Some(spare) = want.get_mut(got..)
        && !spare.is_empty()
    {
        match read_some(&mut reader, spare).map_err(read_error)? {
            0 => break,
            n => got += n,
        }
    }
    let peeked = want.get(..got).unwrap_or_default();
    let limit = choose(peeked);
    let too_large = |len| CliError::TooLarge { what, len, limit };
    if let Some(len) = len
        && len > limit.max
    {
        return Err(too_large(Some(len)));
    }
    let mut buf = WipingBuffer::new(len.unwrap_or(0).max(got), limit.max);
    let gathered = buf
        .push(peeked)
        .map_err(|Overflow| Gather::Overflow)
        .and_then(|()| buf.read_to_end(&mut reader));
    match gathered {
        Ok(()) => Ok(buf.into_bytes()),
        Err(Gather::Overflow) => Err(too_large(None)),
        Err(Gather::Io(e)) => Err(read_error(e)),
    }
}

/// Opens `input` (standard input if `None`) for reading, with its size if
/// known (a file's). Standard input is a duplicate of file descriptor 0,
/// read directly: going through `io::stdin()` would leave the last bytes in
/// its process-wide buffer, unwiped.
fn open_input(input: Option<&Path>) -> Result<(File, Option<usize>), CliError> {
    match input {
        Some(path) => {
            let file = File::open(path).map_err(|source| input_error(input, source))?;
            let len = file
                .metadata()
                .ok()
                .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX));
            Ok((file, len))
        }
        None => {
            let fd = io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|source| input_error(input, source))?;
            Ok((File::from(fd), None))
        }
    }
}

/// [`CliError::Read`] naming `input`, or [`CliError::ReadStdin`].
fn input_error(input: Option<&Path>, source: io::Error) -> CliError {
    match input {
        Some(path) => CliError::Read {
            path: path.to_owned(),
            source,
        },
        None => CliError::ReadStdin(source),
    }
}

/// The size of the pieces [`stream`] hands over.
const STREAM_CHUNK: usize = 64 * 1024;

/// Reads `input` (standard input if `None`) to the end in pieces, handing
/// each to `each`, whatever its size: for input that is hashed as it
/// streams by, never held whole. The pieces are not wiped: not for secrets.
///
/// # Errors
///
/// [`CliError::Read`] or [`CliError::ReadStdin`].
pub(crate) fn stream(input: Option<&Path>, mut each: impl FnMut(&[u8])) -> Result<(), CliError> {
    let (mut reader, _) = open_input(input)?;
    let mut buffer = vec![0u8; STREAM_CHUNK];
    loop {
        match read_some(&mut reader, &mut buffer).map_err(|e| input_error(input, e))? {
            0 => return Ok(()),
            n => each(buffer.get(..n).unwrap_or_default()),
        }
    }
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

/// Writes secret output (a plaintext) to `out`, replacing it atomically
/// with mode 0600, or else to standard output with [`write_stdout`].
///
/// # Errors
///
/// [`CliError::Write`] or [`CliError::WriteStdout`].
pub(crate) fn write_secret(out: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match out {
        Some(path) => write_private(path, &[bytes]),
        None => write_stdout(bytes),
    }
}

/// Writes public output (a signature, a public key, a proof) to `out`,
/// replacing it atomically with mode 0644, or else to standard output.
///
/// # Errors
///
/// [`CliError::Write`] or [`CliError::WriteStdout`].
pub(crate) fn write_public(out: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match out {
        Some(path) => Ok(symbolon_transport::write_atomically(
            path,
            bytes,
            0o644,
            Existing::Replace,
        )?),
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(CliError::WriteStdout)
        }
    }
}

/// The first buffer's size when the input's size is unknown.
const FIRST_BUFFER: usize = 64 * 1024;

/// Bytes read to find out whether a full buffer holds the whole input.
const PROBE: usize = 64;

/// A byte buffer that is wiped when dropped and leaves no unwiped copy
/// behind as it grows: when it is full, its bytes move to one twice as
/// large and the old one is wiped as it drops (`Vec`'s own growth would
/// free it as it is). It refuses to grow beyond a limit.
///
/// The buffer is always initialised (zeroed once when allocated; for large
/// sizes the allocator hands out zeroed pages anyway) and its first
/// `filled` bytes hold data; growth copies are amortised, as with `Vec`.
pub(crate) struct WipingBuffer {
    bytes: Zeroizing<Vec<u8>>,
    filled: usize,
    limit: usize,
}

/// More bytes than a [`WipingBuffer`]'s limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// Why [`WipingBuffer::read_to_end`] stopped short.
#[derive(Debug)]
enum Gather {
    Io(io::Error),
    Overflow,
}

impl WipingBuffer {
    /// An empty buffer with room for `capacity` bytes (at most `limit`),
    /// refusing more than `limit` bytes in all.
    pub(crate) fn new(capacity: usize, limit: usize) -> WipingBuffer {
        WipingBuffer {
            bytes: Zeroizing::new(vec![0u8; capacity.min(limit)]),
            filled: 0,
            limit,
        }
    }

    /// Appends `chunk`, growing by copy-and-wipe if needed.
    ///
    /// # Errors
    ///
    /// [`Overflow`] (and nothing appended) if the buffer would hold more
    /// than its limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), Overflow> {
        let end = self
            .filled
            .checked_add(chunk.len())
            .filter(|&end| end <= self.limit)
            .ok_or(Overflow)?;
        if end > self.bytes.len() {
            self.grow(end);
        }
        // `grow` made room: `end` is within the buffer.
        let room = self.bytes.get_mut(self.filled..end).ok_or(Overflow)?;
        room.copy_from_slice(chunk);
        self.filled = end;
        Ok(())
    }

    /// Moves the bytes to a buffer of at least `needed` bytes (twice the
    /// size, at least [`FIRST_BUFFER`], at most the limit); the old one is
    /// wiped as it drops.
    fn grow(&mut self, needed: usize) {
        let size = self
            .bytes
            .len()
            .saturating_mul(2)
            .max(FIRST_BUFFER)
            .min(self.limit)
            .max(needed);
        let mut bigger = Zeroizing::new(vec![0u8; size]);
        if let (Some(to), Some(from)) =
            (bigger.get_mut(..self.filled), self.bytes.get(..self.filled))
        {
            to.copy_from_slice(from);
        }
        self.bytes = bigger;
    }

    /// Reads `r` to the end into the buffer. When the buffer is full, a
    /// small probe read tells whether more is coming before it grows, so
    /// an input of the size the buffer was made for needs no growth.
    fn read_to_end(&mut self, r: &mut impl Read) -> Result<(), Gather> {
        loop {
            let n = match self.bytes.get_mut(self.filled..) {
                Some(spare) if !spare.is_empty() => {
                    let n = read_some(r, spare).map_err(Gather::Io)?;
                    self.filled += n;
                    n
                }
                _ => {
                    let mut probe = Zeroizing::new([0u8; PROBE]);
                    let n = read_some(r, &mut probe[..]).map_err(Gather::Io)?;
                    let read = probe.get(..n).unwrap_or_default();
                    self.push(read).map_err(|Overflow| Gather::Overflow)?;
                    n
                }
            };
            if n == 0 {
                return Ok(());
            }
        }
    }

    /// The bytes gathered, in a buffer wiped when dropped.
    pub(crate) fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        let WipingBuffer {
            mut bytes, filled, ..
        } = self;
        // Shrinking only moves the length; the tail is wiped with the rest
        // on drop.
        bytes.truncate(filled);
        bytes
    }
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

    fn trickle(data: &[u8], step: usize) -> Trickle<'_> {
        Trickle {
            data,
            step,
            calls: 0,
        }
    }

    fn gather(r: &mut impl Read, expected: usize, limit: usize) -> Result<Vec<u8>, Gather> {
        let mut buf = WipingBuffer::new(expected, limit);
        buf.read_to_end(r)?;
        Ok(buf.into_bytes().to_vec())
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
                let out = gather(&mut trickle(&data[..len], step), expected, usize::MAX).unwrap();
                assert_eq!(&out[..], &data[..len], "len {len} expected {expected}");
            }
        }
        // An exact guess needs no growth: the buffer keeps its size.
        let mut buf = WipingBuffer::new(data.len(), usize::MAX);
        buf.read_to_end(&mut trickle(&data, 1 << 20)).unwrap();
        let out = buf.into_bytes();
        assert_eq!(&out[..], &data[..]);
        assert_eq!(out.capacity(), data.len());
    }

    #[test]
    fn buffers_take_exactly_their_limit_and_not_a_byte_more() {
        let data = vec![0xa5u8; 70_000];
        for step in [1 << 20, 4096, 61] {
            for expected in [0, 100, 70_000] {
                let limit = data.len();
                assert_eq!(
                    gather(&mut trickle(&data, step), expected, limit).unwrap(),
                    data
                );
                assert!(matches!(
                    gather(&mut trickle(&data, step), expected, limit - 1),
                    Err(Gather::Overflow)
                ));
            }
        }
        // Pushing: growth keeps what was there; a refused chunk adds nothing.
        let mut buf = WipingBuffer::new(0, 10);
        buf.push(b"abc").unwrap();
        buf.push(b"defgh").unwrap();
        assert_eq!(buf.push(b"ijk"), Err(Overflow));
        buf.push(b"ij").unwrap();
        assert_eq!(&buf.into_bytes()[..], b"abcdefghij");
    }

    const LIMIT: Limit = Limit {
        max: 100,
        why: "a test limit",
    };

    #[test]
    fn files_are_read_within_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(
            &read_limited(Some(&path), LIMIT, "the input").unwrap()[..],
            &[7u8; 100]
        );
        fs::write(&path, [7u8; 101]).unwrap();
        let err = read_limited(Some(&path), LIMIT, "the input").unwrap_err();
        assert!(
            matches!(err, CliError::TooLarge { what: "the input", len: Some(101), limit } if limit == LIMIT),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the input is 101 bytes; at most 100 are allowed: a test limit"
        );
        let err = read_limited(Some(&dir.path().join("missing")), LIMIT, "x").unwrap_err();
        assert!(matches!(err, CliError::Read { .. }), "{err:?}");
        // Growing past the limit while being read (no size known).
        assert_eq!(
            CliError::TooLarge {
                what: "the message",
                len: None,
                limit: LIMIT
            }
            .to_string(),
            "the message is more than 100 bytes; at most 100 are allowed: a test limit"
        );
    }

    #[test]
    fn the_first_bytes_choose_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        let small = Limit {
            max: 8,
            why: "small",
        };
        let choose = |head: &[u8]| if head == b"SYMT" { small } else { LIMIT };
        fs::write(&path, b"SYMT1234").unwrap();
        assert_eq!(
            &read_limited_by(Some(&path), "it", 4, choose).unwrap()[..],
            b"SYMT1234"
        );
        fs::write(&path, b"SYMT12345").unwrap();
        assert!(matches!(
            read_limited_by(Some(&path), "it", 4, choose),
            Err(CliError::TooLarge { len: Some(9), limit, .. }) if limit == small
        ));
        fs::write(&path, b"SYMC12345").unwrap();
        assert_eq!(
            &read_limited_by(Some(&path), "it", 4, choose).unwrap()[..],
            b"SYMC12345"
        );
        // Shorter than the peek: the limit is chosen from what there is.
        fs::write(&path, b"SY").unwrap();
        assert_eq!(
            &read_limited_by(Some(&path), "it", 4, |head| {
                assert_eq!(head, b"SY");
                LIMIT
            })
            .unwrap()[..],
            b"SY"
        );
    }

    #[test]
    fn streaming_hands_over_every_byte_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("message");
        let data: Vec<u8> = (0..(2 * STREAM_CHUNK + 5) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        fs::write(&path, &data).unwrap();
        let (mut seen, mut pieces) = (Vec::new(), 0);
        stream(Some(&path), |piece| {
            assert!(piece.len() <= STREAM_CHUNK);
            seen.extend_from_slice(piece);
            pieces += 1;
        })
        .unwrap();
        assert_eq!(seen, data);
        assert!(pieces >= 3, "{pieces}");
        let missing = dir.path().join("missing");
        assert!(matches!(
            stream(Some(&missing), |_| {}),
            Err(CliError::Read { path, .. }) if path == missing
        ));
    }

    #[test]
    fn public_files_are_0644_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signature");
        write_public(Some(&path), b"old").unwrap();
        write_public(Some(&path), b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Whether any writable mapping of this process holds the bytes whose
    /// complement is `complement` (searching for the complement keeps the
    /// pattern itself from being a copy of what is looked for).
    #[cfg(target_os = "linux")]
    fn memory_holds(complement: &[u8]) -> bool {
        use std::os::unix::fs::FileExt as _;
        let maps = fs::read_to_string("/proc/self/maps").unwrap();
        let mem = File::open("/proc/self/mem").unwrap();
        // Wiped when dropped: it may hold what it found.
        let mut chunk = Zeroizing::new(vec![0u8; 1 << 20]);
        let n = complement.len();
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
                continue;
            };
            if !perms.starts_with("rw") {
                continue;
            }
            let (start, end) = range.split_once('-').unwrap();
            let start = u64::from_str_radix(start, 16).unwrap();
            let end = u64::from_str_radix(end, 16).unwrap();
            let mut at = start;
            while at < end {
                let take = usize::try_from(end - at).unwrap().min(chunk.len());
                if mem.read_exact_at(&mut chunk[..take], at).is_err() {
                    break;
                }
                if chunk[..take]
                    .windows(n)
                    .any(|w| w.iter().zip(complement).all(|(a, b)| *a == !*b))
                {
                    return true;
                }
                // Overlap the next chunk, for a copy across the boundary.
                at += if take > n { take - (n - 1) } else { take } as u64;
            }
        }
        false
    }

    /// What `decrypt` prints leaves no copy in the process: the standard
    /// library's line-buffered stdout would keep the bytes after the last
    /// newline in its buffer, unwiped, for the life of the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn secrets_on_standard_output_leave_no_copy_in_memory() {
        use rand::Rng as _;
        // A newline, then 32 letters made in place; wiped after use.
        let mut secret = Zeroizing::new(vec![0u8; 33]);
        rand::rng().fill_bytes(&mut secret[1..]);
        for b in &mut secret[1..] {
            *b = b'a' + *b % 26;
        }
        secret[0] = b'\n';
        let complement: Vec<u8> = secret[1..].iter().map(|b| !b).collect();
        // The search finds a copy where there is one.
        let copy = Zeroizing::new(secret.to_vec());
        assert!(memory_holds(&complement));
        drop(copy);
        // Nothing stays behind after writing it and wiping it.
        write_secret(None, &secret).unwrap();
        drop(secret);
        assert!(
            !memory_holds(&complement),
            "a copy of the secret stayed in memory"
        );
    }
}
