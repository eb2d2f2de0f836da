//! The armored text form shared by shards and identities: a `-----BEGIN
//! <LABEL>-----` line, standard base64 (RFC 4648 §4, padded) of the binary
//! form in 64-column lines, and an `-----END <LABEL>-----` line.
//!
//! Writers produce exactly that, with `\n` line ends and a final newline.
//! Readers accept surrounding whitespace, `\r\n` line ends and any line
//! wrapping, but nothing else: no headers, no blank lines inside, no
//! non-canonical base64 (padding and trailing bits are checked).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Error;

/// The armor label of shard envelopes.
pub(crate) const SHARD_LABEL: &str = "SYMBOLON SHARD";
/// The armor label of identity files.
pub(crate) const IDENTITY_LABEL: &str = "SYMBOLON IDENTITY";

const LINE_WIDTH: usize = 64;
const DASHES: &str = "-----";

/// Armors `bytes` under `label`.
///
/// The result is in a wiping buffer: identity files and clear shards are
/// secret.
pub(crate) fn encode(label: &str, bytes: &[u8]) -> Zeroizing<String> {
    // `encoded_len` only fails for inputs near `usize::MAX` bytes, which
    // cannot exist in memory; fall back to growing the buffer.
    let body_len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    let mut body = Zeroizing::new(String::with_capacity(body_len));
    STANDARD.encode_string(bytes, &mut body);

    let frame = 2 * (DASHES.len() * 2 + label.len() + "BEGIN ".len() + 1);
    let mut out = Zeroizing::new(String::with_capacity(
        frame + body.len() + body.len() / LINE_WIDTH + 1,
    ));
    out.push_str(DASHES);
    out.push_str("BEGIN ");
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    let mut rest: &str = &body;
    while !rest.is_empty() {
        // Base64 output is ASCII, so every index is a char boundary.
        let (line, tail) = rest.split_at_checked(LINE_WIDTH).unwrap_or((rest, ""));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(DASHES);
    out.push_str("END ");
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    out
}

/// Whether `text` (after leading whitespace) starts with a BEGIN line of any
/// label.
pub(crate) fn looks_armored(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN ")
}

/// Reads an armored block labelled `label` back to its binary form.
///
/// # Errors
///
/// [`Error::BadArmor`] naming the problem.
pub(crate) fn decode(text: &str, label: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut lines = text.trim_ascii().lines().map(str::trim_ascii);
    let first = lines.next().unwrap_or("");
    if !is_frame(first, "BEGIN ", label) {
        return Err(Error::BadArmor {
            reason: if first.starts_with("-----BEGIN ") {
                "wrong armor label (is this another kind of Symbolon file?)"
            } else {
                "missing the -----BEGIN line"
            },
        });
    }
    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    let mut ended = false;
    for line in lines {
        if ended {
            return Err(Error::BadArmor {
                reason: "text after the -----END line",
            });
        }
        if is_frame(line, "END ", label) {
            ended = true;
        } else if line.starts_with(DASHES) {
            return Err(Error::BadArmor {
                reason: "the -----END line does not match the -----BEGIN line",
            });
        } else if line.is_empty() {
            return Err(Error::BadArmor {
                reason: "blank line inside the armor",
            });
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return Err(Error::BadArmor {
            reason: "missing the -----END line",
        });
    }
    if body.is_empty() {
        return Err(Error::BadArmor {
            reason: "nothing between the -----BEGIN and -----END lines",
        });
    }
    let mut out = Zeroizing::new(Vec::with_capacity(body.len() / 4 * 3 + 3));
    STANDARD
        .decode_vec(body.as_bytes(), &mut out)
        .map_err(|_| Error::BadArmor {
            reason: "the body is not canonical padded base64",
        })?;
    Ok(out)
}

fn is_frame(line: &str, kind: &str, label: &str) -> bool {
    line.strip_prefix(DASHES)
        .and_then(|l| l.strip_prefix(kind))
        .and_then(|l| l.strip_prefix(label))
        .is_some_and(|l| l == DASHES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_line_width() {
        for len in [1usize, 47, 48, 49, 200] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let text = encode("SYMBOLON TEST", &data);
            assert!(text.starts_with("-----BEGIN SYMBOLON TEST-----\n"));
            assert!(text.ends_with("\n-----END SYMBOLON TEST-----\n"));
            assert!(
                text.lines()
                    .all(|l| l.len() <= LINE_WIDTH || l.starts_with(DASHES))
            );
            assert_eq!(*decode(&text, "SYMBOLON TEST").unwrap(), data);
            // CRLF and surrounding whitespace are accepted.
            let crlf = format!("\n  {}  \n", text.replace('\n', "\r\n"));
            assert_eq!(*decode(&crlf, "SYMBOLON TEST").unwrap(), data);
        }
    }

    #[test]
    fn malformed_armor_is_refused_with_a_reason() {
        let good = encode("SYMBOLON TEST", b"hello world");
        let cases: Vec<(String, &str)> = vec![
            (
                good.replace("BEGIN", "BEGUN"),
                "missing the -----BEGIN line",
            ),
            (
                good.replace("SYMBOLON TEST", "SYMBOLON OTHER"),
                "wrong armor label (is this another kind of Symbolon file?)",
            ),
            (
                good.replace("-----END SYMBOLON TEST-----\n", ""),
                "missing the -----END line",
            ),
            (
                good.replace("END SYMBOLON TEST", "END SYMBOLON OTHER"),
                "the -----END line does not match the -----BEGIN line",
            ),
            (format!("{}junk\n", *good), "text after the -----END line"),
            (
                good.replacen('\n', "\n\n", 1),
                "blank line inside the armor",
            ),
            (
                "-----BEGIN SYMBOLON TEST-----\n-----END SYMBOLON TEST-----\n".into(),
                "nothing between the -----BEGIN and -----END lines",
            ),
            (
                good.replace("aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGR="),
                "the body is not canonical padded base64",
            ),
            (
                good.replace("aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ"),
                "the body is not canonical padded base64",
            ),
            (
                good.replace("aGVsbG8gd29ybGQ=", "Version: 1"),
                "the body is not canonical padded base64",
            ),
            (String::new(), "missing the -----BEGIN line"),
        ];
        for (text, reason) in cases {
            assert_eq!(
                decode(&text, "SYMBOLON TEST"),
                Err(Error::BadArmor { reason }),
                "{text:?}"
            );
        }
    }
}
