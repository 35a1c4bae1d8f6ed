//! Decimal to text, the way [`Decimal`]'s `Display` writes it, without its generic machinery.
//!
//! Every decimal of every event is written as text at least once on its way through the mesh
//! (the protobuf wire form carries decimals as strings, and PostgreSQL receives them as text).
//! Profiles of ingestion showed `Display`'s generic machinery as a visible share of its CPU.
//! [`DecimalText`] writes the text right to left in one pass, two digits per division, into a
//! buffer on the stack; byte sinks (the protobuf encoder) take its bytes as they are, string
//! sinks ([`write_decimal`]) get them as `&str`.

use rust_decimal::Decimal;

/// Room for a sign, 29 digits of a 96-bit mantissa, a point and up to 28 leading zeros.
const MAX_LEN: usize = 64;

/// `"00"` to `"99"`, two ASCII digits per entry.
const PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// `value` as text, byte for byte what `value.to_string()` gives: the scale is kept
/// (`0.00000000`, `1.50`), there is no exponent, and a negative zero keeps its sign.
pub fn format_decimal(value: Decimal) -> String {
    let mut out = String::with_capacity(24);
    write_decimal(value, &mut out);
    out
}

/// Appends `value` to `out` as [`format_decimal`] writes it.
pub fn write_decimal(value: Decimal, out: &mut String) {
    match std::str::from_utf8(DecimalText::new(value).as_bytes()) {
        Ok(text) => out.push_str(text),
        // Only ASCII digits, '-' and '.' are ever written; keep the library's answer if that
        // ever stops being true rather than lose the number or panic.
        Err(_) => out.push_str(&value.to_string()),
    }
}

/// A decimal's text as [`format_decimal`] writes it, held on the stack.
#[derive(Clone, Copy)]
pub struct DecimalText {
    bytes: [u8; MAX_LEN],
    start: usize,
}

/// Writes the `scale` fraction digits of mantissa `m`, the point, and its integer digits (at
/// least one) into `text`, right to left, two digits per division while two remain on that
/// side of the point. A macro, so the same lines serve `u64` and `u128`.
macro_rules! digits_right_to_left {
    ($text:ident, $m:ident, $scale:expr) => {{
        let mut fraction = $scale;
        while fraction >= 2 {
            $text.push_pair(($m % 100) as usize);
            $m /= 100;
            fraction -= 2;
        }
        if fraction == 1 {
            $text.push_front(b'0' + ($m % 10) as u8);
            $m /= 10;
        }
        if $scale > 0 {
            $text.push_front(b'.');
        }
        while $m >= 100 {
            $text.push_pair(($m % 100) as usize);
            $m /= 100;
        }
        if $m >= 10 {
            $text.push_pair($m as usize);
        } else {
            $text.push_front(b'0' + $m as u8);
        }
    }};
}

impl DecimalText {
    /// Writes `value`.
    pub fn new(value: Decimal) -> DecimalText {
        let mut text = DecimalText {
            bytes: [b'0'; MAX_LEN],
            start: MAX_LEN,
        };
        // The fraction is zero-padded to the scale, so `0.0005` gets its leading zeros, and
        // the integer part has at least one digit.
        let scale = value.scale();
        let mantissa = value.mantissa().unsigned_abs();
        // Most mantissas fit 64 bits, where division by a constant is a multiply and a shift;
        // on 128 bits it is a library call.
        if let Ok(mut m) = u64::try_from(mantissa) {
            digits_right_to_left!(text, m, scale);
        } else {
            let mut m = mantissa;
            digits_right_to_left!(text, m, scale);
        }
        if value.is_sign_negative() {
            text.push_front(b'-');
        }
        text
    }

    /// The text as ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, '-' and '.' are ever written, so this never fails; an empty
        // string rather than a panic if that stops being true (the tests would show it).
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    fn push_front(&mut self, byte: u8) {
        self.start -= 1;
        self.bytes[self.start] = byte;
    }

    /// Writes `pair`, below 100, as two digits.
    fn push_pair(&mut self, pair: usize) {
        self.start -= 2;
        self.bytes[self.start..self.start + 2].copy_from_slice(&PAIRS[2 * pair..2 * pair + 2]);
    }
}

impl std::fmt::Debug for DecimalText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DecimalText").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the comparison covers many values repeatably.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn writes_what_display_writes() {
        let fixed = [
            "0",
            "0.00000000",
            "-0",
            "-0.000",
            "1",
            "-1",
            "1.50",
            "0.00079276",
            "106691000.00000000",
            "95078733694.3792000000000000",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7922816251426433759354395033.5",
            "18446744073709551615",
            "18446744073709551616",
        ];
        for text in fixed {
            let value: Decimal = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(format_decimal(value), value.to_string(), "{text}");
        }
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            let hi = next(&mut state) as u32;
            let bits = [
                next(&mut state) as u32,
                next(&mut state) as u32,
                hi >> (hi % 33).min(31),
            ];
            let scale = (next(&mut state) % 29) as u32;
            let negative = next(&mut state).is_multiple_of(2);
            let value = Decimal::from_parts(bits[0], bits[1], bits[2], negative, scale);
            assert_eq!(format_decimal(value), value.to_string(), "{value:?}");
            assert_eq!(
                DecimalText::new(value).as_bytes(),
                value.to_string().as_bytes()
            );
        }
        // Mantissas of 64 bits and fewer, the usual case, take a path of their own.
        for _ in 0..100_000 {
            let mantissa = next(&mut state) >> (next(&mut state) % 64);
            let scale = (next(&mut state) % 29) as u32;
            let negative = next(&mut state).is_multiple_of(2);
            let value =
                Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, negative, scale);
            assert_eq!(format_decimal(value), value.to_string(), "{value:?}");
        }
    }
}
