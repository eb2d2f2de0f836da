//! Heartbeat sequence numbers that strictly increase across restarts.
//!
//! `heartbeat.seq` holds a high-water mark: no heartbeat was ever sent with
//! a larger number. Numbers are reserved in blocks of [`BLOCK`]: before the
//! first number of a block is used the new mark is written (atomically, with
//! fsync), so at most one write per [`BLOCK`] heartbeats, and after a crash
//! or restart counting resumes above the mark. The file is two lines:
//! `symbolon heartbeat seq v1` and the mark in decimal.

use std::path::{Path, PathBuf};

use crate::{Error, files};

/// File name of the mark in the data directory.
pub(crate) const SEQ_FILE: &str = "heartbeat.seq";
/// How many numbers one write reserves.
pub(crate) const BLOCK: u64 = 1000;
const HEADER: &str = "symbolon heartbeat seq v1";

/// The next heartbeat number and the reserved range.
#[derive(Debug)]
pub(crate) struct Sequence {
    path: PathBuf,
    next: u64,
    /// The largest number that may be handed out without writing again.
    reserved: u64,
}

impl Sequence {
    /// Reads the mark and reserves the first block above it.
    pub(crate) fn open(data_dir: &Path) -> Result<Sequence, Error> {
        let path = data_dir.join(SEQ_FILE);
        let mark = match files::read_optional(&path)? {
            None => 0,
            Some(bytes) => parse(&bytes).map_err(|reason| Error::BadFile {
                path: path.clone(),
                reason,
            })?,
        };
        let next = mark.checked_add(1).ok_or(Error::BadFile {
            path: path.clone(),
            reason: "the sequence is exhausted",
        })?;
        let mut sequence = Sequence {
            path,
            next,
            reserved: mark,
        };
        sequence.reserve()?;
        Ok(sequence)
    }

    /// The next number, writing a new mark first when the block is used up.
    pub(crate) fn take(&mut self) -> Result<u64, Error> {
        if self.next > self.reserved {
            self.reserve()?;
        }
        let seq = self.next;
        self.next = self.next.saturating_add(1);
        Ok(seq)
    }

    /// Whether [`Sequence::take`] will write the file (so the caller can do
    /// it off the async threads).
    pub(crate) fn needs_write(&self) -> bool {
        self.next > self.reserved
    }

    fn reserve(&mut self) -> Result<(), Error> {
        let reserved = self
            .next
            .checked_add(BLOCK - 1)
            .ok_or_else(|| Error::BadFile {
                path: self.path.clone(),
                reason: "the sequence is exhausted",
            })?;
        files::write_atomically(&self.path, format!("{HEADER}\n{reserved}\n").as_bytes())?;
        self.reserved = reserved;
        Ok(())
    }
}

fn parse(bytes: &[u8]) -> Result<u64, &'static str> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text")?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err("the first line is not \"symbolon heartbeat seq v1\"");
    }
    let mark = lines
        .next()
        .ok_or("the mark is missing")?
        .trim()
        .parse::<u64>()
        .map_err(|_| "the mark is not a decimal number")?;
    if lines.any(|l| !l.trim().is_empty()) {
        return Err("unexpected lines after the mark");
    }
    Ok(mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut seq = Sequence::open(dir.path()).unwrap();
        assert_eq!(seq.take().unwrap(), 1);
        assert_eq!(seq.take().unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(SEQ_FILE)).unwrap(),
            "symbolon heartbeat seq v1\n1000\n"
        );
        let mut last = 0;
        for _ in 0..1500 {
            last = seq.take().unwrap();
        }
        assert_eq!(last, 1502);
        drop(seq);
        let mut reopened = Sequence::open(dir.path()).unwrap();
        assert!(reopened.take().unwrap() > last);
    }

    #[test]
    fn malformed_mark_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "",
            "12\n",
            "symbolon heartbeat seq v1\nx\n",
            "symbolon heartbeat seq v1\n",
        ] {
            std::fs::write(dir.path().join(SEQ_FILE), bad).unwrap();
            assert!(
                matches!(Sequence::open(dir.path()), Err(Error::BadFile { .. })),
                "{bad:?}"
            );
        }
        std::fs::write(
            dir.path().join(SEQ_FILE),
            format!("{HEADER}\n{}\n", u64::MAX),
        )
        .unwrap();
        assert!(Sequence::open(dir.path()).is_err());
    }
}
