//! Exact decimal parsing of the number spellings exchanges send.
//!
//! Upbit and Bithumb send prices and sizes as JSON numbers printed by a Java serialiser:
//! `106691000.00000000`, `1.16539E8`, `7.9276E-4`, `5.0E-4`, `0E-8` and
//! `95078733694.3792000000000000` all occur on the wire. Korbit sends decimal strings. Going
//! through `f64` would turn `0.1` into `0.1000000000000000055…` and round integers above 2^53,
//! so [`parse_decimal`] reads the digits straight into a [`Decimal`] mantissa and scale.
//!
//! The result keeps the scale the text implies (`0.00077720` has scale 8); callers that compare
//! or store values use [`Decimal`] equality, which ignores trailing zeros.

use rust_decimal::Decimal;

mod format;

pub use format::{DecimalText, format_decimal, write_decimal};

/// The largest scale a [`Decimal`] can hold.
const MAX_SCALE: u32 = 28;

/// One past the largest mantissa a [`Decimal`] can hold (96 bits).
const MAX_MANTISSA: u128 = 1 << 96;

/// Why a number could not be read exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text is not a decimal number (`abc`, `1.2.3`, `NaN`, an empty string).
    #[error("invalid decimal {0:?}")]
    Syntax(String),
    /// The value has more significant digits or a larger magnitude than a 96-bit decimal holds.
    #[error("decimal {0:?} is out of range")]
    OutOfRange(String),
}

/// Parses a decimal in plain (`-12.50`) or scientific (`1.16539E8`, `0E-8`) notation exactly.
///
/// Trailing zeros beyond 28 decimal places are dropped when they carry no value, so
/// `95078733694.3792000000000000` parses; a value that needs more precision is rejected rather
/// than rounded.
pub fn parse_decimal(text: &str) -> Result<Decimal, DecimalError> {
    match parse_short(text) {
        Some(value) => Ok(value),
        None => parse_wide(text),
    }
}

/// The common case in one pass on a 64-bit mantissa: at most 19 characters after the sign,
/// so at most 19 digits, which `u64` holds without an overflow check. `None` for anything else
/// (longer text, invalid text, out of range), which [`parse_wide`] then reads or refuses with
/// its message, so the two agree on every input.
///
/// Why: a 30-level order book frame carries 120 numbers, and the wide path's checked `u128`
/// arithmetic per digit made decimal parsing the largest cost of reading one.
fn parse_short(text: &str) -> Option<Decimal> {
    let (negative, rest) = split_sign(text.as_bytes());
    if rest.len() > 19 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut fraction_digits: i64 = 0;
    let mut seen_point = false;
    let mut exponent = 0;
    for (at, &b) in rest.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                // At most 19 digits: below 10^19 < 2^64.
                mantissa = mantissa * 10 + u64::from(b - b'0');
                digits += 1;
                fraction_digits += i64::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => {
                exponent = parse_exponent(&rest[at + 1..])?;
                break;
            }
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    finish(negative, u128::from(mantissa), fraction_digits - exponent)
}

/// Any length of digits, on a 128-bit mantissa, with the error for what it refuses.
fn parse_wide(text: &str) -> Result<Decimal, DecimalError> {
    let syntax = || DecimalError::Syntax(text.to_owned());
    let range = || DecimalError::OutOfRange(text.to_owned());
    let (negative, rest) = split_sign(text.as_bytes());
    let (mantissa_part, exponent) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (
            &rest[..at],
            parse_exponent(&rest[at + 1..]).ok_or_else(syntax)?,
        ),
        None => (rest, 0),
    };

    // Accumulate every digit into a u128 mantissa and count the fraction digits. A fraction
    // zero that no longer fits is dropped (it carries no value) unless a non-zero digit follows.
    let mut mantissa: u128 = 0;
    let mut fraction_digits: i64 = 0;
    let mut dropped_zero = false;
    let mut seen_digit = false;
    let mut seen_point = false;
    for &b in mantissa_part {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                let digit = u128::from(b - b'0');
                match mantissa.checked_mul(10).and_then(|m| m.checked_add(digit)) {
                    Some(m) if !dropped_zero => {
                        mantissa = m;
                        if seen_point {
                            fraction_digits += 1;
                        }
                    }
                    _ if digit == 0 && seen_point => dropped_zero = true,
                    _ => return Err(range()),
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(syntax()),
        }
    }
    if !seen_digit {
        return Err(syntax());
    }
    finish(negative, mantissa, fraction_digits - exponent).ok_or_else(range)
}

/// An optional leading sign and the rest.
fn split_sign(bytes: &[u8]) -> (bool, &[u8]) {
    match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    }
}

/// `mantissa * 10^-scale` as a [`Decimal`], or `None` when it does not fit.
fn finish(negative: bool, mut mantissa: u128, mut scale: i64) -> Option<Decimal> {
    if mantissa == 0 {
        // Zero in any spelling (`0E-8`, `0.000`, `0E+5`): keep the written scale where valid.
        return Some(Decimal::new(0, scale.clamp(0, i64::from(MAX_SCALE)) as u32));
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10)?;
        scale += 1;
    }
    // Trailing zeros beyond what a Decimal holds are dropped; significant digits never are.
    while (scale > i64::from(MAX_SCALE) || mantissa >= MAX_MANTISSA)
        && scale > 0
        && mantissa.is_multiple_of(10)
    {
        mantissa /= 10;
        scale -= 1;
    }
    if scale > i64::from(MAX_SCALE) || mantissa >= MAX_MANTISSA {
        return None;
    }
    // The casts keep every bit: the mantissa is below 2^96 (three 32-bit words) and the
    // scale within 0..=28.
    Some(Decimal::from_parts(
        mantissa as u32,
        (mantissa >> 32) as u32,
        (mantissa >> 64) as u32,
        negative,
        scale as u32,
    ))
}

/// Parses the exponent after `e`/`E`: an optional sign and 1 to 4 digits.
fn parse_exponent(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests;
