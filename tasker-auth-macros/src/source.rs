//! Reading the attributes written *above* `#[requires]` in the source file.
//!
//! Attributes expand top first: an attribute macro written above `#[requires]` has already expanded when
//! `#[requires]` runs and is gone from its input. To still catch `#[utoipa::path]` written above
//! `#[requires]` (where the permission would silently be missing from the OpenAPI document), this
//! module reads the source file at the call site and lists the attributes that precede
//! `#[requires]` on the same item. It needs only `proc_macro::Span::{local_file, line, column}`
//! (stable since Rust 1.88) and a small lexer that knows comments, strings and brackets. When the
//! file cannot be read (generated code, IDE expansion), it finds nothing and the check is skipped.

use std::path::Path;

/// The attributes (their text between `#[` and `]`) written just above the attribute that starts
/// at the 1-based `line` and 1-based `column` (in characters) of `file`, on the same item.
pub(crate) fn attributes_above(file: &Path, line: usize, column: usize) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let Some(offset) = byte_offset(&text, line, column) else {
        return Vec::new();
    };
    // The call site must be an outer attribute; anything else means positions do not match.
    if !text[offset..].starts_with('#') {
        return Vec::new();
    }
    preceding_attributes(&text[..offset])
}

fn byte_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let in_line = rest
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(i, _)| i)?;
    Some(start + in_line)
}

/// Lexes `prefix` (the file up to the `#[requires`) and returns the outer attributes that end it,
/// at its final nesting depth: the attributes of the item `#[requires]` is on.
fn preceding_attributes(prefix: &str) -> Vec<String> {
    let bytes = prefix.as_bytes();
    // One list of trailing attributes per open bracket depth.
    let mut trailing: Vec<Vec<String>> = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // Line comments, doc comments included: doc comments are attributes too, but
                // never `utoipa::path`, so they can be skipped without breaking the run.
                i = memchr(b'\n', bytes, i).unwrap_or(bytes.len());
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'#' if next_non_space(bytes, i + 1) == Some(b'[') => {
                let open = next_non_space_index(bytes, i + 1).unwrap_or(bytes.len());
                match matching_close(bytes, open) {
                    Some(close) => {
                        if let Some(depth) = trailing.last_mut() {
                            depth.push(prefix[open + 1..close].to_owned());
                        }
                        i = close + 1;
                    }
                    // Unclosed: the prefix is cut inside an attribute, nothing to learn.
                    None => return Vec::new(),
                }
            }
            b'(' | b'[' | b'{' => {
                clear_last(&mut trailing);
                trailing.push(Vec::new());
                i += 1;
            }
            b')' | b']' | b'}' => {
                trailing.pop();
                if trailing.is_empty() {
                    return Vec::new();
                }
                clear_last(&mut trailing);
                i += 1;
            }
            _ => {
                clear_last(&mut trailing);
                i = skip_token(bytes, i);
            }
        }
    }
    trailing.pop().unwrap_or_default()
}

fn clear_last(trailing: &mut [Vec<String>]) {
    if let Some(last) = trailing.last_mut() {
        last.clear();
    }
}

fn memchr(needle: u8, bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

fn next_non_space_index(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&j| !bytes[j].is_ascii_whitespace())
}

fn next_non_space(bytes: &[u8], from: usize) -> Option<u8> {
    next_non_space_index(bytes, from).map(|j| bytes[j])
}

/// Index just past a (nested) block comment starting at `i`.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The index of the bracket closing the one at `open`, skipping strings, chars and comments.
fn matching_close(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr(b'\n', bytes, i).unwrap_or(bytes.len())
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            _ => i = skip_token(bytes, i),
        }
    }
    None
}

/// Index just past the token at `i` that is not whitespace, a comment or a bracket: a string,
/// raw string, char literal, lifetime, identifier or number, or a single punctuation byte.
fn skip_token(bytes: &[u8], i: usize) -> usize {
    let c = bytes[i];
    if c == b'"' {
        return skip_string(bytes, i + 1);
    }
    let (prefix, raw) = match (c, bytes.get(i + 1)) {
        (b'r', _) => (1, true),
        (b'b' | b'c', Some(b'r')) => (2, true),
        (b'b' | b'c', _) => (1, false),
        _ => (0, false),
    };
    if prefix > 0 {
        let mut j = i + prefix;
        if raw {
            let start = j;
            while bytes.get(j) == Some(&b'#') {
                j += 1;
            }
            if bytes.get(j) == Some(&b'"') {
                return skip_raw_string(bytes, j + 1, j - start);
            }
        } else if bytes.get(j) == Some(&b'"') {
            return skip_string(bytes, j + 1);
        } else if c == b'b' && bytes.get(j) == Some(&b'\'') {
            return skip_char(bytes, j);
        }
    }
    if c == b'\'' {
        return skip_char(bytes, i);
    }
    if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
        let mut j = i + 1;
        while j < bytes.len()
            && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] >= 0x80)
        {
            j += 1;
        }
        return j;
    }
    i + 1
}

fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_raw_string(bytes: &[u8], mut i: usize, hashes: usize) -> usize {
    while i < bytes.len() {
        if bytes[i] == b'"'
            && bytes[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&b| b == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

/// A char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`), starting at the quote.
fn skip_char(bytes: &[u8], i: usize) -> usize {
    let j = i + 1;
    match bytes.get(j) {
        Some(b'\\') => {
            let mut k = j + 2;
            while k < bytes.len() && bytes[k] != b'\'' {
                k += 1;
            }
            k + 1
        }
        Some(_) => {
            // One character (maybe multi-byte) then a quote: a char; otherwise a lifetime.
            let len = utf8_len(bytes[j]);
            if bytes.get(j + len) == Some(&b'\'') {
                j + len + 1
            } else {
                j
            }
        }
        None => bytes.len(),
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Whether an attribute's text (between `#[` and `]`) is utoipa's path attribute.
pub(crate) fn is_utoipa_path(attribute: &str) -> bool {
    let compact: String = attribute.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.strip_prefix("::").unwrap_or(&compact);
    compact.starts_with("utoipa::path(") || compact.starts_with("path(")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(src: &str) -> Vec<String> {
        let at = src.find("#[requires").expect("test source has #[requires");
        preceding_attributes(&src[..at])
    }

    #[test]
    fn attributes_of_the_same_item_are_found() {
        let src = r#"
            use x;
            #[derive(Debug)]
            struct A;
            /// Creates a task.
            #[utoipa::path(post, path = "/v1/tasks/{id}", description = "a ] b ) c")]
            // a comment ]
            /* a [ block */
            #[requires(tasks:create)]
            async fn f() {}
        "#;
        let attrs = above(src);
        assert_eq!(attrs.len(), 1);
        assert!(is_utoipa_path(&attrs[0]));
    }

    #[test]
    fn attributes_of_a_previous_item_are_not_found() {
        let src = r#"
            #[utoipa::path(get, path = "/a")]
            async fn a() {}
            #[requires(tasks:create)]
            async fn f() {}
        "#;
        assert!(above(src).is_empty());
    }

    #[test]
    fn nested_items_and_odd_literals_are_lexed() {
        let src = r##"
            #[utoipa::path(get, path = "/outer")]
            mod m {
                const C: char = '}';
                const S: &str = r#"{ "]" }"#;
                fn g<'a>(x: &'a str) -> &'a str { x }
                #[allow(unused)]
                #[path(post, path = "/x")]
                #[requires(tasks:create)]
                async fn f() {}
            }
        "##;
        let attrs = above(src);
        assert_eq!(attrs, ["allow(unused)", r#"path(post, path = "/x")"#]);
        assert!(!is_utoipa_path(&attrs[0]));
        assert!(is_utoipa_path(&attrs[1]));
    }

    #[test]
    fn byte_offset_counts_lines_and_chars() {
        let text = "ab\néé#x\n";
        let at = byte_offset(text, 2, 3).unwrap();
        assert_eq!(&text[at..at + 1], "#");
        assert_eq!(byte_offset(text, 9, 1), None);
    }
}
