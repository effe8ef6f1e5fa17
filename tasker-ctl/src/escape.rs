//! Text taken from a token, made safe to print on a terminal: control characters (C0, DEL, C1)
//! and the invisible characters that reorder or hide text (bidirectional controls, zero-width
//! characters, line and paragraph separators, BOM) are escaped; other Unicode stays readable.

/// Whether `c` must not reach a terminal as it is.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with backslashes doubled, `\t`, `\n`, `\r` written as such, and every other
/// character that [`needs_escape`] written as `\u{…}` (as Rust's `escape_debug` does).
pub(crate) fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `json` (serde_json output, which already escapes C0 controls, `"` and `\`) with every other
/// character that [`needs_escape`] written as a JSON `\uXXXX` escape, so that the result is
/// still the same JSON.
pub(crate) fn json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if needs_escape(c) && !matches!(c, '\n' | '\t' | '\r') {
            // Every such character is in the Basic Multilingual Plane: one \u escape.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped_and_unicode_kept() {
        assert_eq!(text("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(text("x\u{9b}31m\u{7f}"), "x\\u{9b}31m\\u{7f}");
        assert_eq!(
            text("rev\u{202e}olleh\u{200b}"),
            "rev\\u{202e}olleh\\u{200b}"
        );
        assert_eq!(text("tab\tnl\ncr\r\\"), "tab\\tnl\\ncr\\r\\\\");
        assert_eq!(text("Zoë 日本 🙂 café"), "Zoë 日本 🙂 café");
    }

    #[test]
    fn json_stays_json_with_the_same_value() {
        let value = serde_json::json!({"k\u{1b}[2J": "v\u{9b}1m\u{202e}", "name": "Zoë"});
        let shown = json(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!shown.contains(['\u{1b}', '\u{9b}', '\u{202e}']), "{shown}");
        assert!(shown.contains("Zoë"), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }
}
