//! The time range of a history command: `--since`, or `--from` and `--to`.

use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use tickmesh_domain::UtcMicros;

use crate::render::Zone;
use crate::server::Failure;

/// `--since`, `--from` and `--to`.
#[derive(Debug, Clone, clap::Args)]
pub struct RangeArgs {
    /// How far back from now, such as 30m, 6h or 7d (the default depends on the command).
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, conflicts_with = "from")]
    pub since: Option<Duration>,
    /// Start of the range: a time such as 2026-12-06T09:00:00+09:00, 2026-12-06 09:00
    /// (this machine's zone, or UTC with --utc), 2026-12-06, or an age such as 2h.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range (exclusive), as --from; now when unset.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

impl RangeArgs {
    /// The range `[start, end)` these arguments name at `now`, with `default_since` when
    /// neither `--since` nor `--from` is given.
    pub fn resolve(
        &self,
        now: UtcMicros,
        default_since: Duration,
        zone: Zone,
    ) -> anyhow::Result<(UtcMicros, UtcMicros)> {
        let end = match &self.to {
            Some(text) => parse_time(text, now, zone)?,
            None => now,
        };
        let start = match &self.from {
            Some(text) => parse_time(text, now, zone)?,
            None => ago(end, self.since.unwrap_or(default_since))?,
        };
        if start >= end {
            return Err(Failure::usage(format!(
                "the range is empty: it starts at {} and ends at {}",
                crate::render::machine_time(start),
                crate::render::machine_time(end)
            )));
        }
        Ok((start, end))
    }
}

fn ago(from: UtcMicros, span: Duration) -> anyhow::Result<UtcMicros> {
    i64::try_from(span.as_micros())
        .ok()
        .and_then(|micros| from.as_micros().checked_sub(micros))
        .map(UtcMicros)
        .ok_or_else(|| Failure::usage(format!("{span:?} reaches too far back")))
}

/// A time on the command line: RFC 3339, a date and time without offset (in `zone`), a date
/// (its midnight in `zone`), or an age before `now` such as `90m`.
pub fn parse_time(text: &str, now: UtcMicros, zone: Zone) -> anyhow::Result<UtcMicros> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(UtcMicros(t.timestamp_micros()));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    if let Some(naive) = naive {
        let micros = match zone {
            Zone::Utc => Some(Utc.from_utc_datetime(&naive).timestamp_micros()),
            Zone::Local => Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp_micros()),
        };
        return micros.map(UtcMicros).ok_or_else(|| {
            Failure::usage(format!(
                "{text:?} does not exist in this machine's time zone"
            ))
        });
    }
    if let Ok(span) = tickmesh_bootstrap::config::parse_duration(text) {
        return ago(now, span);
    }
    Err(Failure::usage(format!(
        "cannot read the time {text:?}: use 2026-12-06T09:00:00+09:00, 2026-12-06 09:00, 2026-12-06 or an age such as 2h"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_every_documented_spelling() {
        let now = UtcMicros(1_796_530_734_000_000);
        let utc = |t| parse_time(t, now, Zone::Utc).unwrap().as_micros();
        let day = 1_796_515_200_000_000; // 2026-12-06T00:00:00Z
        assert_eq!(utc("2026-12-06"), day);
        assert_eq!(utc("2026-12-06T09:00:00+09:00"), day);
        assert_eq!(utc("2026-12-06 01:00"), day + 3_600_000_000);
        assert_eq!(utc("2026-12-06T00:00:01.5"), day + 1_500_000);
        assert_eq!(utc("2h"), now.as_micros() - 7_200_000_000);
        assert!(parse_time("yesterday", now, Zone::Utc).is_err());
    }

    #[test]
    fn a_range_defaults_to_the_commands_span_and_refuses_to_be_empty() {
        let now = UtcMicros(10_000_000_000_000);
        let range = RangeArgs {
            since: None,
            from: None,
            to: None,
        };
        let (start, end) = range
            .resolve(now, Duration::from_secs(60), Zone::Utc)
            .unwrap();
        assert_eq!(
            (start.as_micros(), end),
            (now.as_micros() - 60_000_000, now)
        );
        let backwards = RangeArgs {
            since: None,
            from: Some("1h".into()),
            to: Some("2h".into()),
        };
        let error = backwards
            .resolve(now, Duration::from_secs(60), Zone::Utc)
            .unwrap_err();
        assert_eq!(
            crate::server::exit_status(&error),
            crate::server::Exit::Usage
        );
    }
}
