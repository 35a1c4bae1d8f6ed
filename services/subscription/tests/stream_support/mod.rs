//! Helpers shared by the stream tests: events, live messages, and a tonic server on loopback.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tickmesh_bus::LiveMessage;
use tickmesh_domain::{
    Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId,
    UtcMicros, parse_decimal,
};
use tickmesh_proto::codec::encode_event;
use tickmesh_proto::routing::live_channel;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tickmesh_subscription::stream::{TickHub, server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

/// Parses a market or panics.
pub fn market(text: &str) -> Market {
    Market::parse(text).unwrap()
}

/// A trade numbered `id`, with a price and size that need every digit kept.
pub fn trade(exchange: Exchange, market_text: &str, id: u64) -> MarketEvent {
    MarketEvent {
        exchange,
        market: market(market_text),
        exchange_time: UtcMicros(1_700_000_000_000_000 + id as i64),
        received_time: UtcMicros(1_700_000_000_000_123 + id as i64),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(17_300_000_000_000_000 + id),
            price: parse_decimal(&format!("116539000.{id:08}")).unwrap(),
            size: parse_decimal("0.00079276").unwrap(),
            side: if id.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
        }),
        raw: None,
    }
}

/// A ticker whose last price has 28 decimal places.
pub fn ticker(exchange: Exchange, market_text: &str) -> MarketEvent {
    MarketEvent {
        exchange,
        market: market(market_text),
        exchange_time: UtcMicros(1_700_000_000_000_000),
        received_time: UtcMicros(1_700_000_000_000_001),
        payload: Payload::Ticker(Ticker {
            last: parse_decimal("0.1234567890123456789012345678").unwrap(),
            volume_24h: Some(parse_decimal("1.5E+3").unwrap()),
            ..Ticker::default()
        }),
        raw: Some("{\"raw\":true}".to_owned()),
    }
}

/// A one-level order book.
pub fn book(exchange: Exchange, market_text: &str) -> MarketEvent {
    MarketEvent {
        exchange,
        market: market(market_text),
        exchange_time: UtcMicros(1_700_000_000_000_000),
        received_time: UtcMicros(1_700_000_000_000_001),
        payload: Payload::OrderBook(OrderBook {
            bids: vec![Level {
                price: parse_decimal("100").unwrap(),
                size: parse_decimal("2.5").unwrap(),
            }],
            asks: Vec::new(),
        }),
        raw: None,
    }
}

/// An event as ingestion publishes it on its live channel.
pub fn live(event: &MarketEvent) -> LiveMessage {
    LiveMessage {
        channel: live_channel(event.exchange, &event.market),
        payload: encode_event(event).into(),
    }
}

/// A tonic server for `hub` on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl TestServer {
    /// Serves `StreamTicks` over `hub` with `capacity` events buffered per client.
    pub async fn start(hub: TickHub, capacity: usize) -> TestServer {
        TestServer::start_with(hub, capacity, None).await
    }

    /// As [`TestServer::start`], replaying clients that resume through `replayer`.
    pub async fn start_with(
        hub: TickHub,
        capacity: usize,
        replayer: Option<tickmesh_subscription::stream::Replayer>,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(server(
                    hub,
                    tickmesh_subscription::stream::StreamLimits::new(capacity),
                    replayer,
                ))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        TestServer {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// A connected client.
    pub async fn client(&self) -> TickStreamServiceClient<Channel> {
        TickStreamServiceClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    /// Starts graceful shutdown.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Waits up to five seconds for `condition`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
