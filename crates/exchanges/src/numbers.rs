//! Exact numbers out of JSON.
//!
//! Upbit and Bithumb send prices and sizes as JSON numbers in any spelling (`1.16539E8`,
//! `0E-8`, `95078733694.3792000000000000`) and ids above 2^53; Bithumb sometimes sends ids and
//! timestamps as strings. Fields are therefore captured as raw JSON text
//! ([`serde_json::value::RawValue`]) and converted here, never through `f64`.

use rust_decimal::Decimal;
use serde_json::value::RawValue;
use tickmesh_domain::parse_decimal;

/// The text of a JSON number or string, without the quotes of a string.
fn unquoted(raw: &RawValue) -> &str {
    let text = raw.get();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// Parses a decimal from a JSON number or string, exactly.
pub fn decimal_text(text: &str) -> Result<Decimal, String> {
    parse_decimal(text).map_err(|e| e.to_string())
}

/// Parses an integer from the text of a JSON number or string.
pub fn integer_text<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse::<T>()
        .map_err(|_| format!("expected an integer, got `{text}`"))
}

/// The text of a JSON number, or the contents of a JSON string, that a field holds: what
/// exact conversion reads. Deserialises from any JSON value without interpreting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(pub &'a str);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = serde::Deserialize::deserialize(deserializer)?;
        Ok(Raw(unquoted(raw)))
    }
}

impl Raw<'_> {
    /// The exact decimal.
    pub(crate) fn decimal(self) -> Result<Decimal, String> {
        decimal_text(self.0)
    }

    /// The integer.
    pub(crate) fn integer<T: std::str::FromStr>(self) -> Result<T, String> {
        integer_text(self.0)
    }
}

pub(crate) fn decimal(raw: &RawValue) -> Result<Decimal, String> {
    decimal_text(unquoted(raw))
}

pub(crate) fn integer<T: std::str::FromStr>(raw: &RawValue) -> Result<T, String> {
    integer_text(unquoted(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn numbers_and_strings_convert_exactly() {
        assert_eq!(decimal(&raw("1.16539E8")).unwrap().to_string(), "116539000");
        assert_eq!(decimal(&raw("\"0.0067\"")).unwrap().to_string(), "0.0067");
        assert_eq!(
            integer::<u64>(&raw("17883351803770004")),
            Ok(17_883_351_803_770_004)
        );
        assert_eq!(
            integer::<u64>(&raw("\"862683813820523888\"")),
            Ok(862_683_813_820_523_888)
        );
        assert!(integer::<u64>(&raw("1.5")).is_err());
        assert!(decimal(&raw("null")).is_err());
    }
}
