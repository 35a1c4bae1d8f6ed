//! A strict, allocation-free scanner over the members of one JSON object.
//!
//! The hot path of every feed is one small flat object per frame (an Upbit SIMPLE trade is
//! about 300 bytes and 18 members). Deserialising it with serde's derive spends most of its
//! time in the generic visitor machinery; walking the members directly and handing out slices
//! of the input is several times faster. The scanner accepts exactly the JSON grammar for the
//! values it meets, but gives up ([`Unsupported`]) on anything it does not handle itself:
//! escaped strings and malformed input. Callers then fall back to serde, which yields the
//! precise error message, so the fast path never accepts what serde would refuse.

/// A member value, as a slice of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// A string without escapes: its contents, without quotes.
    Str(&'a str),
    /// A number, as written.
    Num(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object or array, its whole text (validated only as far as bracket nesting goes:
    /// whoever reads it parses it properly).
    Nested(&'a str),
}

impl<'a> Value<'a> {
    /// The text an exact-number field reads: a number as written, a string's contents, or
    /// the literal (which then fails to parse as a number, with a message naming it); `None`
    /// for `null`, as serde reads an absent optional field.
    pub(crate) fn text(self) -> Option<&'a str> {
        match self {
            Value::Str(s) | Value::Num(s) | Value::Nested(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Null => None,
        }
    }
}

/// The input is outside what the scanner handles; parse it with serde instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// A position in the input. Nested objects and arrays are read in place with
/// [`Scanner::members`] and [`Scanner::elements`], so a caller that wants their contents walks
/// them once; [`Scanner::value`] skips them (by bracket matching) and hands out their text.
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    /// Reads an object, calling `member` with each key and the scanner at the key's value,
    /// which `member` must consume (with [`Scanner::value`] or by descending into it). A
    /// `member` that leaves the value unread makes the object malformed, so it fails.
    pub(crate) fn members(
        &mut self,
        mut member: impl FnMut(&'a str, &mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        self.sequence(b'{', b'}', |s| {
            let key = s.string()?;
            s.ws();
            s.expect(b':')?;
            s.ws();
            member(key, s)
        })
    }

    /// Reads an array, calling `element` with the scanner at each element, which `element`
    /// must consume, as for [`Scanner::members`].
    pub(crate) fn elements(
        &mut self,
        element: impl FnMut(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, then items separated by commas, then `close`; `item` reads one item.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        self.ws();
        self.expect(open)?;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b) if b == close => return Ok(()),
                _ => return Err(Unsupported),
            }
        }
    }

    /// Consumes a `null` if one is next.
    pub(crate) fn null(&mut self) -> bool {
        let found = self.bytes[self.pos..].starts_with(b"null");
        if found {
            self.pos += 4;
        }
        found
    }

    /// Only whitespace may follow the value.
    pub(crate) fn end(mut self) -> Result<(), Unsupported> {
        self.ws();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Unsupported> {
        if self.next() == Some(byte) {
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// The slice `start..self.pos`. Both ends sit next to ASCII bytes the scanner matched, so
    /// they are char boundaries and the slice cannot fail.
    fn slice(&self, start: usize) -> Result<&'a str, Unsupported> {
        self.text.get(start..self.pos).ok_or(Unsupported)
    }

    /// A string without escapes or control characters; returns its contents.
    fn string(&mut self) -> Result<&'a str, Unsupported> {
        self.expect(b'"')?;
        let start = self.pos;
        // One tight pass to the closing quote; escapes and control characters are left to serde.
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .ok_or(Unsupported)?;
        if self.bytes[start + len] != b'"' {
            return Err(Unsupported);
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len).ok_or(Unsupported)
    }

    /// The next value; an object or array is skipped and handed out as its text.
    pub(crate) fn value(&mut self) -> Result<Value<'a>, Unsupported> {
        match self.peek().ok_or(Unsupported)? {
            b'"' => self.string().map(Value::Str),
            b'{' | b'[' => self.nested(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => Err(Unsupported),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, Unsupported> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(Unsupported)
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.bytes[self.pos..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.bytes.len() - self.pos);
        self.pos += n;
        n
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Value<'a>, Unsupported> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let leading_zero = self.peek() == Some(b'0');
        let integer = self.digits();
        if integer == 0 || (leading_zero && integer > 1) {
            return Err(Unsupported);
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Unsupported);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Unsupported);
            }
        }
        self.slice(start).map(Value::Num)
    }

    /// Skips an object or array by bracket depth, stepping over strings (escapes included).
    fn nested(&mut self) -> Result<Value<'a>, Unsupported> {
        let start = self.pos;
        let mut stack: u64 = 0;
        let mut depth: u32 = 0;
        loop {
            match self.next().ok_or(Unsupported)? {
                b @ (b'{' | b'[') => {
                    if depth == 64 {
                        return Err(Unsupported);
                    }
                    stack = (stack << 1) | u64::from(b == b'{');
                    depth += 1;
                }
                b @ (b'}' | b']') => {
                    if depth == 0 || (stack & 1 == 1) != (b == b'}') {
                        return Err(Unsupported);
                    }
                    stack >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        return self.slice(start).map(Value::Nested);
                    }
                }
                b'"' => loop {
                    match self.next().ok_or(Unsupported)? {
                        b'"' => break,
                        b'\\' => {
                            self.next().ok_or(Unsupported)?;
                        }
                        _ => {}
                    }
                },
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `member` for each member of the object that `text` holds, in order.
    pub(crate) fn object<'a>(
        text: &'a str,
        mut member: impl FnMut(&'a str, Value<'a>) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        let mut s = Scanner::new(text);
        s.members(|key, s| member(key, s.value()?))?;
        s.end()
    }

    /// Calls `element` for each element of the array that `text` holds, in order.
    pub(crate) fn array<'a>(
        text: &'a str,
        mut element: impl FnMut(Value<'a>) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        let mut s = Scanner::new(text);
        s.elements(|s| element(s.value()?))?;
        s.end()
    }

    fn members(text: &str) -> Result<Vec<(&str, Value<'_>)>, Unsupported> {
        let mut out = Vec::new();
        object(text, |k, v| {
            out.push((k, v));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn members_come_out_as_slices() {
        let got = members(
            r#" {"ty":"trade", "tp":1.16539E8,"n":-0.5e-3,"b":true,"f":false,"z":null,"obu":[{"ap":1,"s":"]}"}],"e":{}} "#,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                ("ty", Value::Str("trade")),
                ("tp", Value::Num("1.16539E8")),
                ("n", Value::Num("-0.5e-3")),
                ("b", Value::Bool(true)),
                ("f", Value::Bool(false)),
                ("z", Value::Null),
                ("obu", Value::Nested(r#"[{"ap":1,"s":"]}"}]"#)),
                ("e", Value::Nested("{}")),
            ]
        );
        assert_eq!(members("{}").unwrap(), []);
    }

    #[test]
    fn array_elements_come_out_as_slices() {
        let mut got = Vec::new();
        array(r#" [ {"a":1} ,"x",2, [] ] "#, |v| {
            got.push(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            [
                Value::Nested(r#"{"a":1}"#),
                Value::Str("x"),
                Value::Num("2"),
                Value::Nested("[]"),
            ]
        );
        array("[]", |_| Err(Unsupported)).unwrap();
        for bad in ["", "{}", "[1,]", "[1", "[1] x", "[,1]"] {
            assert_eq!(array(bad, |_| Ok(())), Err(Unsupported), "{bad}");
        }
    }

    #[test]
    fn anything_serde_would_refuse_or_unescape_is_left_to_serde() {
        for bad in [
            "",
            "[]",
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1}"#,
            r#"{"a":[1]]}"#,
            r#"{"a":1} x"#,
            r#"{"a\"b":1}"#,
            r#"{"a":"\u00e9"}"#,
            "{\"a\":\"tab\there\"}",
        ] {
            assert_eq!(members(bad), Err(Unsupported), "{bad}");
        }
    }
}
