//! RFC 6962 / RFC 9162 §2.1.1 hashing with SHA-256.
//!
//! * the hash of the empty tree is `SHA-256()` (the empty string);
//! * a leaf hash is `SHA-256(0x00 ‖ entry)`;
//! * an interior node is `SHA-256(0x01 ‖ left ‖ right)`.
//!
//! The distinct prefixes keep a leaf from ever being taken for a node
//! (second-preimage resistance of the tree, RFC 9162 §2.1.1).

use core::fmt;

use sha2::{Digest as _, Sha256};

/// Length in bytes of every hash in the log.
pub const HASH_LEN: usize = 32;

/// Domain prefix of leaf hashes (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain prefix of interior node hashes (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 value in the tree: a leaf hash, a node hash or a root.
///
/// These are public values (the log is public to auditors), so equality is
/// ordinary byte equality.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeHash([u8; HASH_LEN]);

impl NodeHash {
    /// Wraps 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// The 32 bytes, by value.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; HASH_LEN] {
        self.0
    }

    /// Lower-case hexadecimal.
    #[must_use]
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(2 * HASH_LEN);
        for byte in self.0 {
            out.push(crate::entry::hex_digit(byte >> 4));
            out.push(crate::entry::hex_digit(byte & 0x0f));
        }
        out
    }

    /// Parses [`NodeHash::to_hex`]'s form (either case); `None` unless it
    /// is exactly 64 hexadecimal digits.
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if digits.len() != 2 * HASH_LEN {
            return None;
        }
        let mut bytes = [0u8; HASH_LEN];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let [high, low] = pair else { return None };
            *byte = (hex_value(*high)? << 4) | hex_value(*low)?;
        }
        Some(Self(bytes))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for NodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeHash({})", self.to_hex())
    }
}

impl fmt::Display for NodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; HASH_LEN]> for NodeHash {
    fn from(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for NodeHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The root of the empty tree: `SHA-256()` (RFC 9162 §2.1.1), that is
/// `e3b0c442…b855`.
pub const EMPTY_ROOT: NodeHash = NodeHash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The leaf hash of an entry: `SHA-256(0x00 ‖ entry)`.
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> NodeHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    NodeHash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
#[must_use]
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    NodeHash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let direct: [u8; 32] = Sha256::digest([]).into();
        assert_eq!(EMPTY_ROOT.to_bytes(), direct);
        assert_eq!(
            EMPTY_ROOT.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concat = Vec::new();
        concat.extend_from_slice(a.as_bytes());
        concat.extend_from_slice(b.as_bytes());
        // A leaf whose content is the two children is not the node above them.
        assert_ne!(leaf_hash(&concat), node_hash(&a, &b));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn empty_leaf_vector() {
        // RFC 6962 test suite: the leaf hash of the empty entry.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn hex_round_trips_and_refuses_anything_else() {
        let hash = leaf_hash(b"x");
        assert_eq!(NodeHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(
            NodeHash::from_hex(&hash.to_hex().to_uppercase()),
            Some(hash)
        );
        let hex = hash.to_hex();
        assert_eq!(NodeHash::from_hex(&hex[..62]), None);
        assert_eq!(NodeHash::from_hex(&format!("{hex}00")), None);
        assert_eq!(NodeHash::from_hex(&format!("g{}", &hex[1..])), None);
        assert_eq!(NodeHash::from_hex(&format!("é{}", &hex[2..])), None);
    }
}
