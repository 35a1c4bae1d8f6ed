//! Bad `HistoryService` requests get `INVALID_ARGUMENT` naming the field.

use tickmesh_proto::history::v1::{
    CandleInterval, GetLatestTickersRequest, GetSpreadHistoryRequest, ListCandlesRequest,
    ListTickersRequest, ListTradesRequest,
};
use tickmesh_proto::market::v1::Exchange;
use tonic::{Code, Status};

use super::fixtures::HOUR;
use super::grpc::{serve, t};
use crate::common::MINUTE;

#[track_caller]
fn names(result: Result<impl std::fmt::Debug, Status>, field: &str) {
    let status = result.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("invalid {field}:")),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_name_the_field() {
    let mut served = serve().await;
    let c = &mut served.client;
    let tickers = GetLatestTickersRequest {
        market: "???".into(),
    };
    names(c.get_latest_tickers(tickers).await, "market");

    let trades = ListTradesRequest {
        exchange: Exchange::Bithumb as i32,
        market: "BTC".into(),
        ..ListTradesRequest::default()
    };
    let bad_token = ListTradesRequest {
        page_token: "garbage".into(),
        ..trades.clone()
    };
    names(c.list_trades(bad_token).await, "page_token");
    let no_exchange = ListTradesRequest {
        exchange: Exchange::Unspecified as i32,
        ..trades.clone()
    };
    names(c.list_trades(no_exchange).await, "exchange");
    let backwards = ListTradesRequest {
        start_time: t(MINUTE),
        end_time: t(MINUTE),
        ..trades
    };
    names(c.list_trades(backwards).await, "end_time");

    let tickers = ListTickersRequest {
        exchange: Exchange::Upbit as i32,
        market: "BTC".into(),
        ..ListTickersRequest::default()
    };
    for token in ["garbage", "v1:1790133480000000:9999"] {
        let bad_token = ListTickersRequest {
            page_token: token.into(),
            ..tickers.clone()
        };
        names(c.list_tickers(bad_token).await, "page_token");
    }
    let no_exchange = ListTickersRequest {
        exchange: Exchange::Unspecified as i32,
        ..tickers.clone()
    };
    names(c.list_tickers(no_exchange).await, "exchange");
    let no_market = ListTickersRequest {
        market: String::new(),
        ..tickers.clone()
    };
    names(c.list_tickers(no_market).await, "market");
    let backwards = ListTickersRequest {
        start_time: t(MINUTE + HOUR),
        end_time: t(MINUTE),
        ..tickers
    };
    names(c.list_tickers(backwards).await, "end_time");

    let candles = ListCandlesRequest {
        exchange: Exchange::Upbit as i32,
        market: "BTC".into(),
        interval: CandleInterval::Unspecified as i32,
        start_time: t(MINUTE),
        end_time: t(MINUTE + HOUR),
    };
    names(c.list_candles(candles.clone()).await, "interval");
    let nanos = ListCandlesRequest {
        interval: CandleInterval::CandleInterval1h as i32,
        start_time: Some(prost_types::Timestamp {
            seconds: 1,
            nanos: -1,
        }),
        ..candles
    };
    names(c.list_candles(nanos).await, "start_time");

    let spread = GetSpreadHistoryRequest {
        market: "BTC".into(),
        base_exchange: Exchange::Upbit as i32,
        other_exchange: Exchange::Unspecified as i32,
        interval: CandleInterval::CandleInterval1m as i32,
        start_time: t(MINUTE),
        end_time: t(MINUTE + HOUR),
    };
    names(c.get_spread_history(spread.clone()).await, "other_exchange");
    let same = GetSpreadHistoryRequest {
        other_exchange: Exchange::Upbit as i32,
        ..spread.clone()
    };
    names(c.get_spread_history(same).await, "other_exchange");
    let no_base = GetSpreadHistoryRequest {
        base_exchange: 0,
        ..spread
    };
    names(c.get_spread_history(no_base).await, "base_exchange");
    served.shut_down().await;
}
