//! How values read for people (tables) and for scripts (JSON, CSV).
//!
//! People get ISO 8601 times in the machine's time zone (or UTC), ages such as "3 s ago", and
//! decimals grouped in thousands at one scale per column. Scripts get exact values: RFC 3339
//! times in UTC with microseconds, and decimals exactly as stored.

use chrono::{DateTime, Local, SecondsFormat, Utc};
use tickmesh_domain::{Decimal, UtcMicros};

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The machine's time zone (`TZ`, else `/etc/localtime`).
    Local,
    /// UTC, with a `Z` suffix.
    Utc,
}

fn datetime(t: UtcMicros) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(t.as_micros())
}

/// `t` for scripts: RFC 3339 in UTC with microseconds, such as `2026-12-06T13:51:03.123456Z`.
pub fn machine_time(t: UtcMicros) -> String {
    datetime(t).map_or_else(
        || t.as_micros().to_string(),
        |d| d.to_rfc3339_opts(SecondsFormat::Micros, true),
    )
}

/// `t` for people: ISO 8601 in `zone`, to the second, or to the millisecond with `millis`
/// (`2026-12-06T22:51:03+09:00`, `2026-12-06T13:51:03.120Z`).
pub fn human_time(t: UtcMicros, zone: Zone, millis: bool) -> String {
    let Some(d) = datetime(t) else {
        return format!("{}µs", t.as_micros());
    };
    let seconds = if millis {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Secs
    };
    match zone {
        Zone::Utc => d.to_rfc3339_opts(seconds, true),
        Zone::Local => d.with_timezone(&Local).to_rfc3339_opts(seconds, false),
    }
}

/// How long ago `t` was at `now`, for people: `now`, `3 s ago`, `4 min ago`, `2 h ago`,
/// `3 d ago`, or `in 5 s` for a time ahead of this machine's clock.
pub fn age(t: UtcMicros, now: UtcMicros) -> String {
    let micros = now.as_micros().saturating_sub(t.as_micros());
    let seconds = micros.unsigned_abs() / 1_000_000;
    let span = match seconds {
        0 => return "now".to_owned(),
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    };
    if micros < 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// The scale that shows every value of a column exactly without trailing zeros: the largest
/// scale among the values with their trailing zeros removed.
pub fn column_scale<'a>(values: impl IntoIterator<Item = &'a Decimal>) -> u32 {
    values
        .into_iter()
        .map(|d| d.normalize().scale())
        .max()
        .unwrap_or(0)
}

/// `value` at `scale` places (at least its own, so nothing is rounded away) with its integer
/// digits grouped in thousands: `116,489,000`, `0.00079276`, `-1,234.50`.
pub fn grouped(value: Decimal, scale: u32) -> String {
    let mut v = value.normalize();
    if v.scale() < scale {
        v.rescale(scale);
    }
    let text = v.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::with_capacity(text.len() + text.len() / 3 + 1);
    if v.is_sign_negative() && !v.is_zero() {
        out.push('-');
    }
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A percentage for people, signed, at two places: `+0.12%`.
pub fn percent(value: Decimal) -> String {
    format!("{:+.2}%", value.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn decimals_group_thousands_at_the_column_scale() {
        let column = [d("116489000.00000000"), d("116517000")];
        let scale = column_scale(&column);
        assert_eq!(scale, 0);
        assert_eq!(grouped(column[0], scale), "116,489,000");
        assert_eq!(grouped(column[1], scale), "116,517,000");
        let column = [d("0.00079276"), d("1234.5")];
        let scale = column_scale(&column);
        assert_eq!(grouped(column[0], scale), "0.00079276");
        assert_eq!(grouped(column[1], scale), "1,234.50000000");
        assert_eq!(grouped(d("-1234567.5"), 1), "-1,234,567.5");
        assert_eq!(grouped(d("999"), 0), "999");
        assert_eq!(grouped(d("-0.000"), 2), "0.00");
        // A value with more places than the column asks for keeps them.
        assert_eq!(grouped(d("1000.125"), 1), "1,000.125");
    }

    #[test]
    fn times_read_as_iso_8601_for_people_and_rfc_3339_utc_for_scripts() {
        let t = UtcMicros(1_796_530_734_832_139);
        assert_eq!(machine_time(t), "2026-12-06T04:18:54.832139Z");
        assert_eq!(human_time(t, Zone::Utc, false), "2026-12-06T04:18:54Z");
        assert_eq!(human_time(t, Zone::Utc, true), "2026-12-06T04:18:54.832Z");
    }

    #[test]
    fn ages_say_how_long_ago() {
        let now = UtcMicros(10_000_000_000);
        let ago = |s: i64| age(UtcMicros(now.as_micros() - s * 1_000_000), now);
        assert_eq!(ago(0), "now");
        assert_eq!(ago(3), "3 s ago");
        assert_eq!(ago(300), "5 min ago");
        assert_eq!(ago(3 * 3600), "3 h ago");
        assert_eq!(ago(3 * 86_400), "3 d ago");
        assert_eq!(ago(-5), "in 5 s");
    }

    #[test]
    fn percentages_are_signed() {
        assert_eq!(percent(d("0.1234")), "+0.12%");
        assert_eq!(percent(d("-1.5")), "-1.50%");
    }
}
