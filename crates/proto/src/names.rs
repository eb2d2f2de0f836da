//! The naming rule shared by key names and custodian ids.

use crate::Error;

/// The longest allowed name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a key name or custodian id: 1 to [`MAX_NAME_LEN`] ASCII letters,
/// digits, `.`, `_` or `-`, starting with a letter or digit. Such names are
/// safe in URLs, file names, certificates and logs without escaping.
///
/// # Errors
///
/// [`Error::BadName`] with `what` and the broken rule.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::BadName {
            what,
            name: name.chars().take(80).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 64 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    if !name
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric)
    {
        return bad("must start with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        assert!(validate_name("key name", "db-master.v2_x").is_ok());
        assert!(validate_name("key name", &"a".repeat(64)).is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(
                matches!(validate_name("key name", bad), Err(Error::BadName { .. })),
                "{bad:?}"
            );
        }
    }
}
