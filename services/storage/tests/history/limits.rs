//! What one call may read: ranges over more one-minute rows than `storage.history_max_rows`
//! are refused before the database is asked, naming the limit and what to ask for instead,
//! while requests without a start time get the longest range that fits.

use tickmesh_domain::{CandleInterval, Exchange, UtcMicros};
use tickmesh_proto::history::v1::{
    CandleInterval as WireInterval, GetSpreadHistoryRequest, ListCandlesRequest,
};
use tickmesh_proto::market::v1::Exchange as WireExchange;
use tickmesh_storage::{HistoryConfig, HistoryError, HistoryReader};
use tonic::Code;

use super::fixtures::{HOUR, eth, write_all};
use super::grpc::{serve_on, t};
use crate::common::{MINUTE, TestDb};

const DAY: i64 = 24 * HOUR;

/// The smallest limit: one day of minutes on two exchanges.
fn tight() -> HistoryConfig {
    HistoryConfig {
        max_rows: HistoryConfig::MIN_MAX_ROWS,
        ..HistoryConfig::default()
    }
}

#[track_caller]
fn refused_naming_the_limit(result: Result<impl std::fmt::Debug, HistoryError>, rows: u64) {
    let err = result.unwrap_err();
    let HistoryError::InvalidArgument { field, reason } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*field, "start_time");
    let limit = format!("storage.history_max_rows ({})", HistoryConfig::MIN_MAX_ROWS);
    let rows = format!("{rows} one-minute rows");
    for part in [rows.as_str(), limit.as_str(), "shorter range"] {
        assert!(reason.contains(part), "{reason:?} lacks {part:?}");
    }
}

async fn ranges_over_the_rows_limit_are_refused(db: TestDb) {
    write_all(&db).await;
    let history = HistoryReader::new(db.conn.clone(), tight());
    let day = MINUTE - MINUTE.rem_euclid(DAY);
    let days = |n| (UtcMicros(day), UtcMicros(day + n * DAY));
    let candles =
        |(start, end), interval| history.candles(Exchange::Upbit, eth(), interval, start, end);

    // Two days of 1d candles on one exchange read 2,880 minutes: allowed, and answered.
    let two = candles(days(2), CandleInterval::OneDay).await.unwrap();
    assert_eq!(two.len(), 1);
    refused_naming_the_limit(candles(days(3), CandleInterval::OneDay).await, 3 * 1_440);
    // Whole buckets count: an hour asked for inside three days still reads them all.
    let inside = (UtcMicros(day + HOUR), UtcMicros(day + 2 * DAY + HOUR));
    refused_naming_the_limit(candles(inside, CandleInterval::OneDay).await, 3 * 1_440);
    assert!(candles(inside, CandleInterval::OneHour).await.is_ok());

    // A spread reads two exchanges: one day fits, two do not.
    let spread = |(start, end)| {
        history.spread_history(
            eth(),
            Exchange::Upbit,
            Exchange::Bithumb,
            CandleInterval::OneDay,
            start,
            end,
        )
    };
    assert_eq!(spread(days(1)).await.unwrap().len(), 1);
    refused_naming_the_limit(spread(days(2)).await, 2 * 2 * 1_440);
}
crate::on_both_backends!(ranges_over_the_rows_limit_are_refused);

#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_edge_refuses_with_invalid_argument_and_defaults_within_the_limit() {
    let db = TestDb::sqlite().await;
    write_all(&db).await;
    let history = HistoryReader::new(db.conn.clone(), tight());
    let mut served = serve_on(db, history).await;
    let c = &mut served.client;
    let end = MINUTE + 2 * HOUR;

    let candles = ListCandlesRequest {
        exchange: WireExchange::Upbit as i32,
        market: "ETH".into(),
        interval: WireInterval::CandleInterval1d as i32,
        start_time: t(end - 3 * DAY),
        end_time: t(end),
    };
    let status = c.list_candles(candles.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with("invalid start_time:")
            && status.message().contains("storage.history_max_rows (2880)"),
        "{status:?}"
    );

    // Without a start time: as many days as the limit allows, which hold the fixtures.
    let defaulted = ListCandlesRequest {
        start_time: None,
        ..candles
    };
    let answer = c.list_candles(defaulted).await.unwrap().into_inner();
    assert_eq!(answer.candles.len(), 1);
    let spread = GetSpreadHistoryRequest {
        market: "ETH".into(),
        base_exchange: WireExchange::Upbit as i32,
        other_exchange: WireExchange::Bithumb as i32,
        interval: WireInterval::CandleInterval1d as i32,
        start_time: None,
        end_time: t(end),
    };
    let answer = c.get_spread_history(spread).await.unwrap().into_inner();
    assert_eq!(answer.points.len(), 1);
    served.shut_down().await;
}
