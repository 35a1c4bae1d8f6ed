//! `HistoryService` served by tonic on loopback and called through the generated client: one
//! happy path per RPC, and tickers (quotes from books, pages) on both backends.

use tickmesh_domain::UtcMicros;
use tickmesh_proto::convert::time_to_wire;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::history::v1::{
    CandleInterval, GetLatestTickersRequest, GetSpreadHistoryRequest, ListCandlesRequest,
    ListTickersRequest, ListTradesRequest,
};
use tickmesh_proto::market::v1::Exchange;
use tickmesh_storage::HistoryReader;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};

use super::book_quotes::write_books;
use super::fixtures::{HOUR, SECOND, reader, write_all};
use crate::common::{MINUTE, TestDb};

/// A served history database (SQLite, holding the fixtures) and a client connected to it.
pub struct Served {
    pub client: HistoryServiceClient<Channel>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    _db: TestDb,
}

pub async fn serve() -> Served {
    let db = TestDb::sqlite().await;
    write_all(&db).await;
    let history = reader(&db);
    serve_on(db, history).await
}

/// Serves `reader`, which reads `db`, on loopback.
pub async fn serve_on(db: TestDb, reader: HistoryReader) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(tickmesh_storage::history_server(reader))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            }),
    );
    let client = HistoryServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    Served {
        client,
        stop,
        server,
        _db: db,
    }
}

impl Served {
    pub async fn shut_down(self) {
        drop(self.client);
        self.stop.send(()).unwrap();
        self.server.await.unwrap().unwrap();
    }
}

pub fn t(micros: i64) -> Option<prost_types::Timestamp> {
    Some(time_to_wire(UtcMicros(micros)))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_answers() {
    let mut served = serve().await;
    let c = &mut served.client;

    let request = GetLatestTickersRequest {
        market: "KRW-BTC".into(),
    };
    let latest = c.get_latest_tickers(request).await.unwrap().into_inner();
    let exchanges: Vec<_> = latest.tickers.iter().map(|t| t.exchange).collect();
    let want = [Exchange::Upbit, Exchange::Bithumb, Exchange::Korbit].map(|e| e as i32);
    assert_eq!(exchanges, want);
    let upbit = &latest.tickers[0];
    let ticker = upbit.ticker.as_ref().unwrap();
    let market = upbit.market.as_ref().unwrap();
    let text = [
        &*ticker.last,
        &ticker.quote_volume_24h,
        &market.base,
        &market.quote,
    ];
    assert_eq!(
        text,
        [
            "158201000.00000000",
            "95078733694.3792000000000000",
            "BTC",
            "KRW"
        ]
    );
    assert_eq!(upbit.exchange_time, t(MINUTE + 2 * SECOND));
    // No book stored: the ticker's own ask and no bid, and no book time.
    let quote = (&*ticker.best_bid, &*ticker.best_ask, upbit.book_time);
    assert_eq!(quote, ("", "116477000", None));
    assert_eq!(
        (latest.spread.as_str(), latest.spread_percent.as_str()),
        ("101000.00000000", "0.0639")
    );
    assert_eq!(
        (latest.highest, latest.lowest),
        (Exchange::Upbit as i32, Exchange::Bithumb as i32)
    );
    let request = GetLatestTickersRequest {
        market: "doge_krw".into(),
    };
    let nothing = c.get_latest_tickers(request).await.unwrap().into_inner();
    assert!(nothing.tickers.is_empty() && nothing.spread.is_empty());
    assert_eq!(nothing.highest, Exchange::Unspecified as i32);

    let mut request = ListTradesRequest {
        exchange: Exchange::Bithumb as i32,
        market: "btc_krw".into(),
        page_size: 100,
        ..ListTradesRequest::default()
    };
    let mut trades = Vec::new();
    loop {
        let page = c.list_trades(request.clone()).await.unwrap().into_inner();
        trades.extend(page.trades);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(trades.len(), 250);
    let first = &trades[0];
    let trade = first.trade.as_ref().unwrap();
    assert_eq!(
        (trade.trade_id, trade.price.as_str(), trade.size.as_str()),
        (9_999, "158037000.1", "0.0002")
    );
    assert_eq!(first.exchange_time, t(MINUTE));
    assert_eq!(first.received_time, t(MINUTE + 55_000));
    let key = |s: &tickmesh_proto::history::v1::StoredTrade| {
        let time = s.exchange_time.unwrap();
        (time.seconds, time.nanos, s.trade.as_ref().unwrap().trade_id)
    };
    assert!(trades.windows(2).all(|w| key(&w[0]) < key(&w[1])));

    let request = ListCandlesRequest {
        exchange: Exchange::Upbit as i32,
        market: "ETH".into(),
        interval: CandleInterval::CandleInterval5m as i32,
        start_time: t(MINUTE - HOUR),
        end_time: t(MINUTE + 2 * HOUR),
    };
    let candles = c
        .list_candles(request.clone())
        .await
        .unwrap()
        .into_inner()
        .candles;
    assert_eq!(candles.len(), 2);
    let five = &candles[0];
    assert_eq!(five.open_time, t(MINUTE - 180 * SECOND));
    let ohlcv = [
        &five.open,
        &five.high,
        &five.low,
        &five.close,
        &five.volume,
        &five.quote_volume,
    ];
    assert_eq!(
        ohlcv,
        [
            "4000000",
            "4010000",
            "3990000",
            "3995000",
            "3.75",
            "14982500.00"
        ]
    );
    assert_eq!(five.trade_count, 4);
    // Unset times: the last MAX_CANDLES intervals up to now.
    let request = ListCandlesRequest {
        start_time: None,
        end_time: None,
        ..request
    };
    c.list_candles(request).await.unwrap();

    let request = GetSpreadHistoryRequest {
        market: "KRW-ETH".into(),
        base_exchange: Exchange::Upbit as i32,
        other_exchange: Exchange::Bithumb as i32,
        interval: CandleInterval::CandleInterval1m as i32,
        start_time: t(MINUTE - HOUR),
        end_time: t(MINUTE + 2 * HOUR),
    };
    let points = c
        .get_spread_history(request)
        .await
        .unwrap()
        .into_inner()
        .points;
    let text: Vec<_> = points
        .iter()
        .map(|p| {
            (
                p.time,
                [&*p.base_close, &p.other_close, &p.spread, &p.spread_percent],
            )
        })
        .collect();
    assert_eq!(
        text,
        [
            (t(MINUTE), ["4010000", "4005000", "-5000", "-0.1247"]),
            (
                t(MINUTE + HOUR),
                ["4100000", "4080000", "-20000", "-0.4878"]
            ),
        ]
    );
    served.shut_down().await;
}

async fn tickers_over_grpc(db: TestDb) {
    write_books(&db).await;
    let history = reader(&db);
    let mut served = serve_on(db, history).await;
    let c = &mut served.client;

    let request = GetLatestTickersRequest {
        market: "BTC".into(),
    };
    let latest = c.get_latest_tickers(request).await.unwrap().into_inner();
    let quotes: Vec<_> = latest
        .tickers
        .iter()
        .map(|l| {
            let ticker = l.ticker.as_ref().unwrap();
            ([&*ticker.best_bid, &ticker.best_ask], l.book_time)
        })
        .collect();
    let exchanges: Vec<_> = latest.tickers.iter().map(|l| l.exchange).collect();
    assert_eq!(
        exchanges,
        [Exchange::Upbit, Exchange::Bithumb, Exchange::Korbit].map(|e| e as i32)
    );
    // Upbit and Bithumb from their latest books, Korbit its own.
    let want = [
        (["158190000", "158210000.00"], t(MINUTE + SECOND)),
        (["158090000.50", "158110000"], t(MINUTE + 10 * SECOND)),
        (["158149000.0", "158151000"], None),
    ];
    assert_eq!(quotes, want);

    // Tickers 1 to 999 of the 1,234 stored, 50 at a time.
    let mut request = ListTickersRequest {
        exchange: Exchange::Korbit as i32,
        market: "eth_krw".into(),
        start_time: t(MINUTE + 3 * SECOND),
        end_time: t(MINUTE + 3_000 * SECOND),
        page_size: 50,
        page_token: String::new(),
    };
    let (mut tickers, mut pages) = (Vec::new(), 0);
    loop {
        let page = c.list_tickers(request.clone()).await.unwrap().into_inner();
        tickers.extend(page.tickers);
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!((tickers.len(), pages), (999, 20));
    for (i, stored) in (1..).zip(&tickers) {
        let ticker = stored.ticker.as_ref().unwrap();
        assert_eq!(ticker.last, format!("4000000.{i}"));
        assert_eq!((ticker.open.as_str(), ticker.best_bid.as_str()), ("", ""));
        let time = MINUTE + i * 3 * SECOND;
        assert_eq!(
            (stored.exchange_time, stored.received_time),
            (t(time), t(time + 55_000))
        );
    }
    served.shut_down().await;
}
crate::on_both_backends!(tickers_over_grpc);
