//! Text from elsewhere (the coordinator, custodians, the audit log) made
//! safe to print: a control character in it (an ANSI escape sequence, a
//! carriage return) could otherwise rewrite what the terminal shows.

/// `text` with every control character escaped (`\u{1b}`, `\r`, `\n`…),
/// so that it cannot drive the terminal.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The items of `list`, each [`printable`], joined by `separator`.
pub(crate) fn printable_list<S: AsRef<str>>(list: &[S], separator: &str) -> String {
    printable(
        &list
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(separator),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("c1 ok: é ✓"), "c1 ok: é ✓");
        assert_eq!(
            printable("c1\u{1b}[2J\rfake\n\u{7}\u{9b}"),
            "c1\\u{1b}[2J\\rfake\\n\\u{7}\\u{9b}"
        );
        assert_eq!(
            printable_list(&["c1", "c\u{1b}]0;x\u{7}2"], ", "),
            "c1, c\\u{1b}]0;x\\u{7}2"
        );
        assert_eq!(printable_list::<&str>(&[], ", "), "");
    }
}
