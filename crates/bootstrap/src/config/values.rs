//! Parsers for the value forms configuration uses beyond [`std::str::FromStr`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Parses `250ms`, `30s`, `5m`, `1h` (a whole number and a unit; `0` alone means zero).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a whole number with a unit: ms, s, m or h (e.g. 30s)";
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| EXPECTED.to_owned())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| EXPECTED.to_owned())?;
    let per_unit_ms = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(EXPECTED.to_owned()),
    };
    n.checked_mul(per_unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| "duration too long".to_owned())
}

/// Parses `off` as `None` and anything else with `T`'s [`FromStr`].
pub fn parse_optional<T>(text: &str) -> Result<Option<T>, String>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse::<T>()
        .map(Some)
        .map_err(|e| format!("{e} (or `off`)"))
}
