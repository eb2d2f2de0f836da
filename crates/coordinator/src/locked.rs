//! A rebuilt key held in locked memory for the length of one operation.
//!
//! The pages of the buffer are locked with `mlock(2)` so the key cannot be
//! written to swap, and wiped before they are unlocked. `memsec` provides the
//! calls; they take raw pointers, hence the one `unsafe` module.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use symbolon_sharing::SecretBytes;

static WARNED: AtomicBool = AtomicBool::new(false);

/// A secret whose memory is locked while it lives.
///
/// # Security
///
/// `Debug` is redacted; the bytes are wiped on drop (by [`SecretBytes`] and
/// by `munlock`, which zeroes before unlocking). If the process may not lock
/// memory (RLIMIT_MEMLOCK), a warning is logged once and the key is used
/// unlocked rather than refusing service.
pub(crate) struct LockedSecret {
    secret: SecretBytes,
    locked: bool,
}

impl LockedSecret {
    pub(crate) fn new(mut secret: SecretBytes) -> Self {
        let buffer = secret.expose_secret_mut();
        let len = buffer.len();
        // SAFETY: the pointer and length describe the live, initialised
        // allocation of `buffer`, which is neither moved nor resized while it
        // is locked (the `SecretBytes` is owned by `self` and never mutated
        // again until drop). mlock only changes page residency.
        let locked = len > 0 && unsafe { memsec::mlock(buffer.as_mut_ptr(), len) };
        if !locked && len > 0 && !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "cannot lock memory (raise RLIMIT_MEMLOCK); rebuilt keys may be swapped out"
            );
        }
        Self { secret, locked }
    }

    pub(crate) fn expose_secret(&self) -> &[u8] {
        self.secret.expose_secret()
    }
}

impl Drop for LockedSecret {
    fn drop(&mut self) {
        if self.locked {
            let buffer = self.secret.expose_secret_mut();
            // SAFETY: the same allocation that was locked in `new`, still
            // live and unmoved; munlock zeroes it and unlocks its pages.
            unsafe {
                memsec::munlock(buffer.as_mut_ptr(), buffer.len());
            }
        }
    }
}

impl std::fmt::Debug for LockedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockedSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_bytes_and_redacts() {
        let locked = LockedSecret::new(SecretBytes::from_slice(&[7; 32]));
        assert_eq!(locked.expose_secret(), &[7; 32]);
        assert_eq!(format!("{locked:?}"), "LockedSecret(<redacted>)");
    }
}
