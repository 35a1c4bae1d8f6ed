//! Frames as each exchange writes them, number spellings included: the parsers under test
//! must meet the exponent forms and padded scales the real servers send.

pub(crate) mod korbit;
pub(crate) mod quotation;

use rust_decimal::Decimal;

/// Java `BigDecimal` scientific spelling as Upbit writes it: `1.16539E8`, `7.9276E-4`, `0E-8`.
pub(crate) fn scientific(value: Decimal, zero_scale: u32) -> String {
    if value.is_zero() {
        return format!("0E-{zero_scale}");
    }
    let normal = value.normalize();
    let negative = normal.is_sign_negative();
    let digits = normal.mantissa().unsigned_abs().to_string();
    // value = digits * 10^-scale, so the exponent of the first digit is len - 1 - scale.
    let exponent = digits.len() as i64 - 1 - i64::from(normal.scale());
    // Integers keep trailing zeros in the mantissa; scientific form does not need them.
    let significant = digits.trim_end_matches('0');
    let (head, tail) = significant.split_at(1);
    let mut out = String::with_capacity(digits.len() + 6);
    if negative {
        out.push('-');
    }
    out.push_str(head);
    if !tail.is_empty() {
        out.push('.');
        out.push_str(tail);
    }
    out.push('E');
    out.push_str(&exponent.to_string());
    out
}

/// The value with exactly `scale` decimals, as in `106691000.00000000`.
pub(crate) fn fixed(value: Decimal, scale: u32) -> String {
    let mut v = value;
    v.rescale(scale);
    tickmesh_domain::format_decimal(v)
}

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
        assert_eq!(scientific(Decimal::ZERO, 8), "0E-8");
        for text in ["116539000", "0.00079276", "1", "123.456"] {
            assert_eq!(
                tickmesh_domain::parse_decimal(&scientific(d(text), 8)).unwrap(),
                d(text)
            );
        }
        assert_eq!(fixed(d("106691000"), 8), "106691000.00000000");
    }
}
