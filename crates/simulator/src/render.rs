//! Frames as each exchange writes them, number spellings included: the parsers under test
//! must meet the exponent forms and padded scales the real servers send.
//!
//! Every frame is written straight into one `String` sized for it, with the `push_*` writers
//! below: no `format!`, no `String` per number. Under `tickmesh bench` the load generator
//! shares the machine with the mesh it measures, and building frames from intermediate strings
//! was a large share of its CPU (docs/benchmarks.md).

pub(crate) mod korbit;
pub(crate) mod poison;
pub(crate) mod quotation;

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Market, write_decimal};

/// Appends an integer in decimal.
pub(crate) fn push_int(out: &mut String, value: impl Into<Decimal>) {
    write_decimal(value.into(), out);
}

/// Appends the market as `exchange` spells it: `KRW-BTC` (Upbit, Bithumb), `btc_krw` (Korbit).
pub(crate) fn push_symbol(out: &mut String, market: Market, exchange: Exchange) {
    let (base, quote) = (market.base.as_str(), market.quote.as_str());
    match exchange {
        Exchange::Upbit | Exchange::Bithumb => {
            out.push_str(quote);
            out.push('-');
            out.push_str(base);
        }
        Exchange::Korbit => {
            out.extend(base.chars().map(|c| c.to_ascii_lowercase()));
            out.push('_');
            out.extend(quote.chars().map(|c| c.to_ascii_lowercase()));
        }
    }
}

/// Appends Java `BigDecimal`'s scientific spelling as Upbit writes it: `1.16539E8`,
/// `7.9276E-4`, and `0E-{zero_scale}` for zero.
pub(crate) fn push_scientific(out: &mut String, value: Decimal, zero_scale: u32) {
    if value.is_zero() {
        out.push_str("0E-");
        push_int(out, zero_scale);
        return;
    }
    let normal = value.normalize();
    // The digits of the mantissa, most significant first.
    let mut digits = [0u8; 40];
    let mut start = digits.len();
    let mut m = normal.mantissa().unsigned_abs();
    while m > 0 {
        start -= 1;
        digits[start] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    let digits = &digits[start..];
    // value = digits * 10^-scale, so the exponent of the first digit is len - 1 - scale.
    let exponent = digits.len() as i64 - 1 - i64::from(normal.scale());
    // Integers keep trailing zeros in the mantissa; scientific form does not need them.
    let end = digits.iter().rposition(|&d| d != b'0').map_or(1, |i| i + 1);
    if normal.is_sign_negative() {
        out.push('-');
    }
    out.push(char::from(digits[0]));
    if end > 1 {
        out.push('.');
        out.extend(digits[1..end].iter().map(|&d| char::from(d)));
    }
    out.push('E');
    push_int(out, exponent);
}

/// Appends the value with exactly `scale` decimals, as in `106691000.00000000`.
pub(crate) fn push_fixed(out: &mut String, value: Decimal, scale: u32) {
    let mut v = value;
    v.rescale(scale);
    write_decimal(v, out);
}

/// Appends the value without trailing zeros, as in `116539000` or `0.1`.
pub(crate) fn push_plain(out: &mut String, value: Decimal) {
    write_decimal(value.normalize(), out);
}

/// [`push_scientific`] as a `String`.
#[cfg(test)]
pub(crate) fn scientific(value: Decimal, zero_scale: u32) -> String {
    let mut out = String::new();
    push_scientific(&mut out, value, zero_scale);
    out
}

/// [`push_fixed`] as a `String`.
pub(crate) fn fixed(value: Decimal, scale: u32) -> String {
    let mut out = String::new();
    push_fixed(&mut out, value, scale);
    out
}

#[cfg(test)]
mod golden_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        tickmesh_domain::parse_decimal(s).unwrap()
    }

    #[test]
    fn scientific_matches_the_wire_spellings() {
        assert_eq!(scientific(d("116539000"), 8), "1.16539E8");
        assert_eq!(scientific(d("0.00079276"), 8), "7.9276E-4");
        assert_eq!(scientific(d("0.0005"), 8), "5E-4");
        assert_eq!(scientific(d("-12.5"), 8), "-1.25E1");
        assert_eq!(scientific(d("7"), 8), "7E0");
        assert_eq!(scientific(Decimal::ZERO, 8), "0E-8");
        for text in ["116539000", "0.00079276", "1", "123.456", "-0.5"] {
            assert_eq!(
                tickmesh_domain::parse_decimal(&scientific(d(text), 8)).unwrap(),
                d(text)
            );
        }
        assert_eq!(fixed(d("106691000"), 8), "106691000.00000000");
    }

    #[test]
    fn symbols_are_spelled_per_exchange() {
        let market = Market::parse("BTC/KRW").unwrap();
        for (exchange, expected) in [
            (Exchange::Upbit, "KRW-BTC"),
            (Exchange::Bithumb, "KRW-BTC"),
            (Exchange::Korbit, "btc_krw"),
        ] {
            let mut out = String::new();
            push_symbol(&mut out, market, exchange);
            assert_eq!(out, expected);
            assert_eq!(out, market.to_exchange_symbol(exchange));
        }
    }
}
