//! Helpers shared by the subscription gRPC tests: a core with a fixed catalog, a tonic server
//! on loopback, and readers of wire subscriptions.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tickmesh_proto::market::v1 as market_wire;
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change;
use tickmesh_subscription::subscriptions::{MarketCatalog, MemoryStore, Subscriptions, server};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// The generated client over a channel.
pub type Client = SubscriptionServiceClient<Channel>;

/// A market from any spelling.
pub fn m(text: &str) -> Market {
    Market::parse(text).unwrap()
}

/// A core over memory: Upbit lists BTC and ETH, Bithumb and Korbit BTC.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        Arc::new(MemoryStore::new()),
        MarketCatalog::new([
            (Exchange::Upbit, vec![m("BTC"), m("ETH")]),
            (Exchange::Bithumb, vec![m("BTC")]),
            (Exchange::Korbit, vec![m("BTC")]),
        ]),
    )
}

/// [`subscriptions`], shared.
pub fn core() -> Arc<Subscriptions> {
    Arc::new(subscriptions())
}

/// A server on `127.0.0.1:0` until `stop` is cancelled.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Cancel to shut it down.
    pub stop: CancellationToken,
    /// The serving task.
    pub served: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// Serves `core` on loopback.
pub async fn serve(core: Arc<Subscriptions>) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let signal = stop.clone().cancelled_owned();
    let served = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server(core))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal),
    );
    TestServer { addr, stop, served }
}

/// A client of `server`.
pub async fn client(server: &TestServer) -> Client {
    SubscriptionServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
}

/// The wire value of an exchange.
pub fn exchange(e: market_wire::Exchange) -> i32 {
    e as i32
}

/// A create request.
pub fn create(e: market_wire::Exchange, market: &str) -> wire::CreateSubscriptionRequest {
    wire::CreateSubscriptionRequest {
        exchange: exchange(e),
        market: market.to_owned(),
    }
}

/// (exchange, canonical market) of wire subscriptions.
pub fn pairs(subscriptions: &[wire::Subscription]) -> Vec<(i32, String)> {
    subscriptions
        .iter()
        .map(|s| {
            let market = s.market.as_ref().unwrap();
            (s.exchange, format!("{}/{}", market.base, market.quote))
        })
        .collect()
}

/// One expected (exchange, canonical market).
pub fn pair(e: market_wire::Exchange, market: &str) -> (i32, String) {
    (exchange(e), market.to_owned())
}

/// The next watch message, within 5 s.
pub async fn next_change(
    stream: &mut tonic::Streaming<wire::WatchSubscriptionsResponse>,
) -> Change {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a message within 5 s")
        .unwrap()
        .expect("the stream is open")
        .change
        .unwrap()
}
