use std::str::FromStr;

use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("valid plain decimal")
}

#[test]
fn parses_every_wire_spelling_exactly() {
    // (wire text, exact value in plain notation, expected scale)
    let cases = [
        ("1.16539E8", "116539000", 0),
        ("7.9276E-4", "0.00079276", 8),
        ("5.0E-4", "0.00050", 5),
        ("0E-8", "0", 8),
        ("95078733694.3792000000000000", "95078733694.3792", 16),
        ("106691000.00000000", "106691000", 8),
        ("0.00077720", "0.0007772", 8),
        ("116208000", "116208000", 0),
        ("0.0000063211", "0.0000063211", 10),
        ("331187169240.21526", "331187169240.21526", 5),
        ("-1000.5", "-1000.5", 1),
        ("+2.5e+3", "2500", 0),
        ("1e0", "1", 0),
        (".5", "0.5", 1),
        ("5.", "5", 0),
        ("0", "0", 0),
        ("-0.00", "0", 2),
    ];
    for (text, value, scale) in cases {
        let parsed = parse_decimal(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, dec(value), "{text}");
        assert_eq!(parsed.scale(), scale, "scale of {text}");
    }
}

#[test]
fn never_goes_through_floating_point() {
    // 0.1 + 0.2 is exactly 0.3 only if no f64 was involved.
    let sum = parse_decimal("0.1").unwrap() + parse_decimal("0.2").unwrap();
    assert_eq!(sum, dec("0.3"));
    // 2^53 + 1 is not representable as f64.
    assert_eq!(
        parse_decimal("9007199254740993").unwrap(),
        Decimal::from(9_007_199_254_740_993_i64)
    );
}

#[test]
fn drops_only_zeros_that_carry_no_value() {
    // 28 fraction digits plus trailing zeros beyond the decimal's capacity.
    assert_eq!(
        parse_decimal("1.00000000000000000000000000010000000000").unwrap(),
        dec("1.0000000000000000000000000001")
    );
    // A significant digit past 28 places is an error, not a silent rounding.
    assert!(matches!(
        parse_decimal("0.00000000000000000000000000001"),
        Err(DecimalError::OutOfRange(_))
    ));
    assert!(matches!(
        parse_decimal("1E40"),
        Err(DecimalError::OutOfRange(_))
    ));
}

#[test]
fn rejects_what_is_not_a_number() {
    for text in [
        "", "-", ".", "abc", "1.2.3", "1E", "1E+", "NaN", "Infinity", "1,000", " 1", "1e99999",
        "0x10",
    ] {
        assert!(
            matches!(parse_decimal(text), Err(DecimalError::Syntax(_))),
            "{text:?} should be a syntax error"
        );
    }
    assert_eq!(
        parse_decimal("abc").unwrap_err().to_string(),
        "invalid decimal \"abc\""
    );
}

/// Mantissa, scale and sign: `Decimal`'s `==` ignores the scale, which parsing must keep.
fn exact(value: Decimal) -> (i128, u32, bool) {
    (value.mantissa(), value.scale(), value.is_sign_negative())
}

#[test]
fn the_short_path_takes_the_wire_spellings() {
    for text in [
        "106691000.00000000",
        "1.16539E8",
        "7.9276E-4",
        "0E-8",
        "0.00009372",
        "17883351803770004",
        "-12.50",
        "9999999999999999999",
    ] {
        let short = parse_short(text).unwrap_or_else(|| panic!("{text:?} left the short path"));
        assert_eq!(Ok(exact(short)), parse_wide(text).map(exact), "{text:?}");
    }
    // Twenty characters, and everything invalid, are the wide path's.
    for text in [
        "10000000000000000000",
        "95078733694.3792000000000000",
        "",
        "1E",
        "1.2.3",
    ] {
        assert_eq!(parse_short(text), None, "{text:?}");
    }
}

#[test]
fn the_short_path_agrees_with_the_wide_one() {
    // A small deterministic generator over the characters a number is made of, so the
    // comparison covers many valid and invalid spellings repeatably.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const ALPHABET: &[u8] = b"0123456789012345678901234567890123456789.eE+-";
    let mut short_taken = 0;
    for _ in 0..200_000 {
        let len = 1 + (next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| char::from(ALPHABET[(next() % ALPHABET.len() as u64) as usize]))
            .collect();
        let wide = parse_wide(&text);
        if let Some(short) = parse_short(&text) {
            short_taken += 1;
            assert_eq!(Ok(exact(short)), wide.map(exact), "{text:?}");
        }
        assert_eq!(
            parse_decimal(&text).map(exact),
            parse_wide(&text).map(exact),
            "{text:?}"
        );
    }
    // The generator must reach the short path often, or the comparison proves little.
    assert!(short_taken > 10_000, "short path taken {short_taken} times");
}
