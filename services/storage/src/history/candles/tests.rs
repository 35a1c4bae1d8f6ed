use super::*;
use crate::history::HistoryConfig;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
const UNLIMITED: u64 = u64::MAX;

fn span(interval: CandleInterval, start: i64, end: i64) -> Result<Span, HistoryError> {
    Span::new(interval, UtcMicros(start), UtcMicros(end), 1, UNLIMITED)
}

#[test]
fn ranges_cover_whole_buckets() {
    let s = span(CandleInterval::OneHour, HOUR + 5, 3 * HOUR + 1).unwrap();
    assert_eq!((s.first, s.stop), (UtcMicros(HOUR), UtcMicros(4 * HOUR)));
    let s = span(CandleInterval::OneHour, HOUR, 3 * HOUR).unwrap();
    assert_eq!((s.first, s.stop), (UtcMicros(HOUR), UtcMicros(3 * HOUR)));
    assert_eq!(s.width_us(), HOUR);
}

#[test]
fn default_start_spans_the_maximum() {
    for interval in CandleInterval::ALL {
        let end = UtcMicros(1_790_133_480_000_123);
        let start = default_start(interval, end, UNLIMITED, 1);
        let s = Span::new(interval, start, end, 1, UNLIMITED).unwrap();
        let w = width(interval) as i64;
        assert_eq!((s.stop.as_micros() - s.first.as_micros()) / w, MAX_CANDLES);
        assert!(Span::new(interval, start.add_micros(-w), end, 1, UNLIMITED).is_err());
    }
}

#[test]
fn default_start_stays_within_the_rows_limit() {
    let end = UtcMicros(1_790_133_480_000_123);
    for (interval, exchanges, buckets) in [
        // 1,000,000 / 1,440 minutes a day, and half of that on two exchanges.
        (CandleInterval::OneDay, 1, 694),
        (CandleInterval::OneDay, 2, 347),
        (CandleInterval::OneHour, 1, 10_000),
        (CandleInterval::OneHour, 2, 8_333),
        (CandleInterval::OneMinute, 2, 10_000),
    ] {
        let max_rows = HistoryConfig::DEFAULT_MAX_ROWS;
        let start = default_start(interval, end, max_rows, exchanges);
        let s = Span::new(interval, start, end, exchanges, max_rows).unwrap();
        let w = width(interval) as i64;
        assert_eq!(
            (s.stop.as_micros() - s.first.as_micros()) / w,
            buckets,
            "{interval} on {exchanges}"
        );
        // One bucket more breaks one limit or the other.
        assert!(Span::new(interval, start.add_micros(-w), end, exchanges, max_rows).is_err());
    }
    // The smallest limit still allows one bucket of the widest interval on two exchanges.
    let min = HistoryConfig::MIN_MAX_ROWS;
    let start = default_start(CandleInterval::OneDay, end, min, 2);
    assert!(Span::new(CandleInterval::OneDay, start, end, 2, min).is_ok());
}

#[test]
fn the_rows_limit_counts_minutes_of_whole_buckets_on_every_exchange() {
    let day = |exchanges, max_rows| {
        Span::new(
            CandleInterval::OneDay,
            UtcMicros(DAY + 1),
            UtcMicros(DAY + 2),
            exchanges,
            max_rows,
        )
    };
    // One microsecond asked for is one whole day read: 1,440 minutes per exchange.
    assert!(day(1, 1_440).is_ok());
    assert!(day(2, 2_880).is_ok());
    let err = day(2, 2_879).unwrap_err();
    let HistoryError::InvalidArgument { field, reason } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*field, "start_time");
    for part in [
        "2880 one-minute rows",
        "1 1d candles on 2 exchanges",
        "storage.history_max_rows (2879)",
        "shorter range",
    ] {
        assert!(reason.contains(part), "{reason:?} lacks {part:?}");
    }
}

#[test]
fn extreme_times_neither_panic_nor_pass() {
    let err = span(CandleInterval::OneDay, i64::MIN, i64::MAX);
    assert!(matches!(
        err,
        Err(HistoryError::InvalidArgument {
            field: "start_time",
            ..
        })
    ));
    // The last day before i64::MAX ends past it; the first after i64::MIN starts before it.
    for (start, end, field) in [
        (i64::MAX - 5, i64::MAX, "end_time"),
        (i64::MIN, i64::MIN + 5, "start_time"),
    ] {
        match span(CandleInterval::OneDay, start, end) {
            Err(HistoryError::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    // Close to the edge but within it, the bounds are whole buckets.
    let s = span(
        CandleInterval::OneHour,
        i64::MAX - 3 * HOUR,
        i64::MAX - 2 * HOUR,
    )
    .unwrap();
    assert_eq!(s.first.as_micros().rem_euclid(HOUR), 0);
    assert_eq!(s.stop.as_micros() - s.first.as_micros(), 2 * HOUR);
    let _ = default_start(CandleInterval::OneDay, UtcMicros(i64::MIN), UNLIMITED, 1);
    let _ = default_start(CandleInterval::OneDay, UtcMicros(i64::MIN), 0, 0);
}
