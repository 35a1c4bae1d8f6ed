//! StreamTicks clients: each asks for part of the market, counts what it receives per pair,
//! and times every trade from the simulator's generation instant to its own decode.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tickmesh_domain::{Exchange, Market};
use tickmesh_proto::convert::{exchange_to_wire, market_from_wire, required_exchange};
use tickmesh_proto::market::v1::market_event::Payload;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use crate::feed::Feeds;
use crate::latency::Latency;

/// Clients per HTTP/2 connection, well under the usual 100–200 concurrent-stream limits.
const CLIENTS_PER_CONNECTION: usize = 50;

/// What each client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFilter {
    /// One exchange and one market, assigned round robin (a price widget).
    Pair,
    /// One market on every exchange, round robin (a cross-exchange view).
    Market,
    /// Everything (a recorder).
    All,
}

impl FromStr for ClientFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pair" => Ok(ClientFilter::Pair),
            "market" => Ok(ClientFilter::Market),
            "all" => Ok(ClientFilter::All),
            _ => Err(format!(
                "unknown client filter `{s}`: expected pair, market or all"
            )),
        }
    }
}

impl ClientFilter {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientFilter::Pair => "pair",
            ClientFilter::Market => "market",
            ClientFilter::All => "all",
        }
    }

    /// The pairs client `index` asks for.
    fn pairs(
        self,
        index: usize,
        pairs: &[(Exchange, Market)],
        markets: &[Market],
    ) -> Vec<(Exchange, Market)> {
        match self {
            ClientFilter::All => pairs.to_vec(),
            ClientFilter::Pair => pairs
                .get(index % pairs.len().max(1))
                .copied()
                .into_iter()
                .collect(),
            ClientFilter::Market => {
                let market = markets.get(index % markets.len().max(1)).copied();
                pairs
                    .iter()
                    .filter(|(_, m)| Some(*m) == market)
                    .copied()
                    .collect()
            }
        }
    }
}

/// What one client saw.
#[derive(Debug)]
pub(crate) struct ClientResult {
    /// Events received per pair it asked for.
    pub(crate) received: HashMap<(Exchange, Market), u64>,
    /// Events the server said it dropped for this client.
    pub(crate) lagged: u64,
    /// Why the stream ended early, if it did.
    pub(crate) error: Option<String>,
}

/// The running clients.
#[derive(Debug)]
pub(crate) struct Clients {
    tasks: JoinSet<ClientResult>,
    stop: CancellationToken,
    /// Events received by every client so far.
    pub(crate) received: Arc<AtomicU64>,
    /// Streams open (the server answered the request).
    pub(crate) open: Arc<AtomicU64>,
    /// The pairs each client asked for.
    wanted: Vec<Vec<(Exchange, Market)>>,
    /// Every client's trade latencies after the warm-up (one histogram, not one per client:
    /// a thousand clients would otherwise hold a quarter of a gigabyte of buckets).
    latencies: Arc<Mutex<Latencies>>,
}

/// Frame to client, and the part of it from ingestion reading the frame (the event's
/// `received_time`).
#[derive(Debug)]
pub(crate) struct Latencies {
    pub(crate) total: Latency,
    pub(crate) from_ingestion: Latency,
}

/// Samples a client keeps before adding them to the shared histograms.
const FLUSH_EVERY: usize = 256;

impl Clients {
    /// Connects `count` clients to `addr` (`http://host:port`), each asking as `filter` says;
    /// they time trades generated from `warmup_end` on, once it is set.
    pub(crate) async fn attach(
        addr: &str,
        count: usize,
        filter: ClientFilter,
        feeds: Arc<Feeds>,
        warmup_end: Arc<OnceLock<Instant>>,
    ) -> anyhow::Result<Clients> {
        let pairs = feeds.pairs();
        let stop = CancellationToken::new();
        let received = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        let mut channel = None;
        let mut all_wanted = Vec::with_capacity(count);
        let latencies = Arc::new(Mutex::new(Latencies {
            total: Latency::new(),
            from_ingestion: Latency::new(),
        }));
        for index in 0..count {
            if index % CLIENTS_PER_CONNECTION == 0 {
                channel = Some(
                    Endpoint::from_shared(addr.to_owned())
                        .context("the subscription service address")?
                        .connect()
                        .await
                        .with_context(|| {
                            format!("cannot connect to the subscription service at {addr}")
                        })?,
                );
            }
            let Some(channel) = channel.clone() else {
                continue;
            };
            let wanted = filter.pairs(index, &pairs, feeds.markets());
            all_wanted.push(wanted.clone());
            tasks.spawn(client(
                channel,
                wanted,
                Context {
                    feeds: Arc::clone(&feeds),
                    warmup_end: Arc::clone(&warmup_end),
                    latencies: Arc::clone(&latencies),
                    stop: stop.clone(),
                    total: Arc::clone(&received),
                    open: Arc::clone(&open),
                },
            ));
        }
        Ok(Clients {
            tasks,
            stop,
            received,
            open,
            wanted: all_wanted,
            latencies,
        })
    }

    /// The pairs each client asked for.
    pub(crate) fn wanted(&self) -> &[Vec<(Exchange, Market)>] {
        &self.wanted
    }

    /// Waits until every stream is open.
    pub(crate) async fn wait_open(&self, count: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while (self.open.load(Ordering::Relaxed) as usize) < count {
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "only {} of {count} StreamTicks clients were answered within {timeout:?}",
                    self.open.load(Ordering::Relaxed)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Ends every stream and collects what each saw, and the latencies of all.
    pub(crate) async fn finish(mut self) -> (Vec<ClientResult>, Latencies) {
        self.stop.cancel();
        let mut results = Vec::new();
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => results.push(ClientResult {
                    received: HashMap::new(),
                    lagged: 0,
                    error: Some(format!("client task failed: {e}")),
                }),
            }
        }
        let latencies = std::mem::replace(
            &mut *self
                .latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            Latencies {
                total: Latency::new(),
                from_ingestion: Latency::new(),
            },
        );
        (results, latencies)
    }
}

/// What every client shares.
struct Context {
    feeds: Arc<Feeds>,
    /// Trades generated before this instant are not timed (unset: none are).
    warmup_end: Arc<OnceLock<Instant>>,
    latencies: Arc<Mutex<Latencies>>,
    stop: CancellationToken,
    /// Events received by all clients.
    total: Arc<AtomicU64>,
    /// Streams the server answered.
    open: Arc<AtomicU64>,
}

async fn client(
    channel: Channel,
    wanted: Vec<(Exchange, Market)>,
    context: Context,
) -> ClientResult {
    let Context {
        feeds,
        warmup_end,
        latencies,
        stop,
        total,
        open,
    } = context;
    let mut result = ClientResult {
        received: wanted.iter().map(|&p| (p, 0)).collect(),
        lagged: 0,
        error: None,
    };
    let mut exchanges: Vec<Exchange> = wanted.iter().map(|&(e, _)| e).collect();
    exchanges.sort();
    exchanges.dedup();
    let mut markets: Vec<Market> = wanted.iter().map(|&(_, m)| m).collect();
    markets.sort();
    markets.dedup();
    let request = wire::StreamTicksRequest {
        exchanges: exchanges
            .iter()
            .map(|&e| exchange_to_wire(e) as i32)
            .collect(),
        markets: markets.iter().map(ToString::to_string).collect(),
        kinds: Vec::new(),
        ..Default::default()
    };
    let mut grpc = TickStreamServiceClient::new(channel);
    let mut stream = tokio::select! {
        () = stop.cancelled() => return result,
        answered = grpc.stream_ticks(request) => match answered {
            Ok(response) => response.into_inner(),
            Err(status) => {
                result.error = Some(format!("StreamTicks refused: {status}"));
                return result;
            }
        },
    };
    open.fetch_add(1, Ordering::Relaxed);
    let mut samples: Vec<(Duration, Option<Duration>)> = Vec::with_capacity(FLUSH_EVERY);
    let flush = |samples: &mut Vec<(Duration, Option<Duration>)>| {
        // Histograms stay consistent across a panic elsewhere; keep recording.
        let mut shared = latencies.lock().unwrap_or_else(PoisonError::into_inner);
        for (total, from_ingestion) in samples.drain(..) {
            shared.total.record(total);
            if let Some(part) = from_ingestion {
                shared.from_ingestion.record(part);
            }
        }
    };
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => break,
            m = stream.message() => m,
        };
        let response = match message {
            Ok(Some(response)) => response,
            Ok(None) => {
                result.error = Some("the server ended the stream".to_owned());
                break;
            }
            Err(status) => {
                result.error = Some(format!("stream failed: {status}"));
                break;
            }
        };
        let now = Instant::now();
        match response.item {
            Some(Item::Event(event)) => {
                total.fetch_add(1, Ordering::Relaxed);
                let Ok(exchange) = required_exchange("exchange", event.exchange) else {
                    continue;
                };
                let Ok(market) = market_from_wire("market", event.market.as_ref()) else {
                    continue;
                };
                if let Some(count) = result.received.get_mut(&(exchange, market)) {
                    *count += 1;
                }
                if let Some(Payload::Trade(trade)) = &event.payload
                    && let Some(at) = feeds.emitted_at(exchange, market, trade.trade_id)
                    && warmup_end.get().is_some_and(|end| at >= *end)
                {
                    samples.push((
                        now.duration_since(at),
                        event.received_time.as_ref().map(since_wall_clock),
                    ));
                    if samples.len() >= FLUSH_EVERY {
                        flush(&mut samples);
                    }
                }
            }
            Some(Item::Lagged(lagged)) => result.lagged += lagged.missed,
            Some(Item::Gap(_)) | None => {}
        }
    }
    flush(&mut samples);
    result
}

/// Time from a wall-clock instant (the event's `received_time`, stamped by ingestion on the
/// same machine) until now.
fn since_wall_clock(t: &prost_types::Timestamp) -> Duration {
    let then = Duration::new(
        u64::try_from(t.seconds).unwrap_or(0),
        u32::try_from(t.nanos).unwrap_or(0),
    );
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(then)
}
