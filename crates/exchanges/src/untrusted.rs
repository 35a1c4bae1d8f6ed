//! Text that came from the network, made safe to put in a log line or a status report.
//!
//! A frame, an exchange's error message or a close reason is written by someone else: it can
//! hold newlines that forge log lines, terminal escape sequences, quotes that break a
//! `key="value"` log format, or a megabyte of anything. [`Untrusted`] shows such text escaped
//! (as [`char::escape_debug`] does: control characters, quotes and backslashes) and cut to
//! about [`UNTRUSTED_LIMIT`] bytes, with the original length noted after a cut. Printable
//! non-ASCII text, such as the exchanges' Korean error messages, stays readable.

use std::fmt::{self, Write as _};

/// About how many bytes of escaped text [`Untrusted`] shows before cutting.
pub const UNTRUSTED_LIMIT: usize = 256;

/// Network text to display escaped and cut; see the module docs.
///
/// Displaying never allocates; `to_string()` gives the escaped text to keep (in a status, a
/// disconnect reason or an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untrusted<'a> {
    bytes: &'a [u8],
}

impl<'a> Untrusted<'a> {
    /// Text, as received.
    pub fn text(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
        }
    }

    /// Raw bytes, such as a frame's payload: bytes that are not UTF-8 show as `\x..`.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The escaped, cut text as an owned string.
    pub fn escaped(text: &str) -> String {
        Untrusted::text(text).to_string()
    }
}

/// Writes `piece` unless it would take `written` past the limit; returns whether it fitted.
fn fits(f: &mut fmt::Formatter<'_>, written: &mut usize, piece: &str) -> Result<bool, fmt::Error> {
    if *written + piece.len() > UNTRUSTED_LIMIT {
        return Ok(false);
    }
    *written += piece.len();
    f.write_str(piece)?;
    Ok(true)
}

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0usize;
        let mut buf = [0u8; 16];
        let mut cut = false;
        'all: for chunk in self.bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                // The longest escape of one char is `\u{10ffff}`, 10 bytes.
                let mut piece = Cursor::new(&mut buf);
                write!(piece, "{}", c.escape_debug())?;
                if !fits(f, &mut written, piece.as_str())? {
                    cut = true;
                    break 'all;
                }
            }
            for b in chunk.invalid() {
                let mut piece = Cursor::new(&mut buf);
                write!(piece, "\\x{b:02x}")?;
                if !fits(f, &mut written, piece.as_str())? {
                    cut = true;
                    break 'all;
                }
            }
        }
        if cut {
            write!(f, "…[cut, {} bytes]", self.bytes.len())?;
        }
        Ok(())
    }
}

/// A small stack buffer to format one escaped char into.
struct Cursor<'b> {
    buf: &'b mut [u8; 16],
    len: usize,
}

impl<'b> Cursor<'b> {
    fn new(buf: &'b mut [u8; 16]) -> Self {
        Self { buf, len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_quotes_and_backslashes_are_escaped() {
        let shown = Untrusted::text("line\nforged=\"1\"\t\u{1b}[31m\\ 시세").to_string();
        assert_eq!(shown, r#"line\nforged=\"1\"\t\u{1b}[31m\\ 시세"#);
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_hex() {
        assert_eq!(Untrusted::bytes(b"ok\xff\xfe{").to_string(), r"ok\xff\xfe{");
    }

    #[test]
    fn long_text_is_cut_with_its_original_length() {
        let long = "a".repeat(10_000);
        let shown = Untrusted::text(&long).to_string();
        assert_eq!(shown, format!("{}…[cut, 10000 bytes]", "a".repeat(256)));
        // Escapes count towards the limit: 300 newlines are 600 escaped bytes.
        let newlines = "\n".repeat(300);
        let shown = Untrusted::text(&newlines).to_string();
        assert_eq!(shown, format!("{}…[cut, 300 bytes]", r"\n".repeat(128)));
    }

    #[test]
    fn text_at_the_limit_is_whole_and_a_cut_never_splits_a_char() {
        let exact = "b".repeat(UNTRUSTED_LIMIT);
        assert_eq!(Untrusted::text(&exact).to_string(), exact);
        // Three-byte chars: 85 fit in 255 bytes, the 86th would pass 256.
        let korean = "시".repeat(100);
        let shown = Untrusted::text(&korean).to_string();
        assert_eq!(shown, format!("{}…[cut, 300 bytes]", "시".repeat(85)));
        // Short text whose escapes fit is shown whole, without a marker.
        assert_eq!(Untrusted::text("a\"b").to_string(), r#"a\"b"#);
        assert_eq!(Untrusted::escaped(""), "");
    }
}
