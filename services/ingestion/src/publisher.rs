//! The publisher: feed output to the bus in batches, through the outage buffer.
//!
//! Batching is adaptive rather than timed: while one batch is on the wire, arrivals queue,
//! and the next batch takes all of them (up to `batch_max`). At low rates every event goes
//! out alone with no added delay; at high rates batches grow and round trips stay few.
//! Where CPU matters more than a millisecond or two, `linger` spaces the round trips further
//! apart: a batch starts at most once per `linger`, unless `batch_max` events wait. Each
//! round trip is a send that wakes Redis (15 % of ingestion's CPU at 20,000 events/s), a
//! reply to wait for and a script run in Redis, and each live message a wake-up of every
//! subscriber; larger batches cost ingestion, Redis and the subscription service less per
//! event, for up to `linger` more latency (docs/benchmarks.md). An event arriving after a
//! quiet spell still goes out at once.
//!
//! Reading from the feeds goes on while a batch is in flight or the bus is down, so an outage
//! fills the [`OutageBuffer`] and not the exchange sockets; failed batches are retried with a
//! capped backoff, ahead of newer events, so per-market order is kept.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::{
    BusError, EventPublisher, LiveBus, LiveMessage, Outgoing, Published, PublishedMark, Record,
};
use tickmesh_domain::{Exchange, Market, MarketEvent};
use tickmesh_feeds::{Backoff, BackoffConfig, FeedOutput};
use tickmesh_proto::{codec, routing};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

use crate::buffer::{OutageBuffer, OverflowPolicy, Pushed};
use crate::ownership::{Fences, Route, after_seam};
use crate::stats::PublisherStats;
use held_back::HeldBack;

mod held_back;

/// Settings of the publisher.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Most events in one publish round trip.
    pub batch_max: usize,
    /// Least time between the starts of two round trips, unless `batch_max` events wait:
    /// the most an event waits for company. Zero publishes whenever the bus is free.
    pub linger: Duration,
    /// Most events waiting for the bus (including the batch in flight).
    pub buffer_capacity: usize,
    /// What happens to events when the buffer is full.
    pub overflow: OverflowPolicy,
    /// Delays between attempts while the bus fails.
    pub retry: BackoffConfig,
    /// How long shutdown waits to flush what is buffered.
    pub drain_timeout: Duration,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        PublisherConfig {
            batch_max: 512,
            linger: Duration::ZERO,
            // About 10 s of a busy three-exchange feed. Full, it is most of ingestion's
            // memory (mostly order books; the README gives the measured size): size container
            // memory limits with it.
            buffer_capacity: 100_000,
            overflow: OverflowPolicy::default(),
            retry: BackoffConfig {
                initial: Duration::from_millis(50),
                max: Duration::from_secs(2),
            },
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// Builds the bus message of each event: payload, ordering key and live channel.
///
/// The key and channel of each market are formatted once and cloned after that: formatting
/// them for every event was a visible part of ingestion's profile. At most [`Self::CAPACITY`]
/// markets are remembered (ingestion follows a few hundred); past that they are formatted
/// each time. The stream entry carries no content type: the bridge labels what it forwards
/// to Kafka, and the stream's payloads are always `MarketEvent`s (docs/architecture.md).
#[derive(Debug, Default)]
pub struct Outgoings {
    names: HashMap<(Exchange, Market), (String, String)>,
}

impl Outgoings {
    /// Most markets whose names are kept.
    pub const CAPACITY: usize = 4096;

    /// The bus message of `event`.
    pub fn outgoing(&mut self, event: &MarketEvent) -> Outgoing {
        let at = (event.exchange, event.market);
        let (key, channel) = match self.names.get(&at) {
            Some((key, channel)) => (key.clone(), channel.clone()),
            None => {
                let key = routing::partition_key(event.exchange, &event.market);
                let channel = routing::live_channel(event.exchange, &event.market);
                if self.names.len() < Self::CAPACITY {
                    self.names.insert(at, (key.clone(), channel.clone()));
                }
                (key, channel)
            }
        };
        Outgoing::new(channel, Record::new(key, codec::encode_event(event)))
    }
}

type InFlight = Pin<Box<dyn Future<Output = (Vec<Outgoing>, Result<Published, BusError>)> + Send>>;

/// What a replicated ingestion records as each market's last published trade while trades
/// missed in an outage are still being recovered: the point the outage began, so a successor
/// recovers them itself instead of resuming after them.
#[derive(Debug, Default)]
pub(crate) struct Recovering {
    /// Markets being recovered (by key): where the outage began.
    since: HashMap<String, (i64, u64)>,
    /// The last trade handed on per market, to record again once a recovery ends.
    last_trade: HashMap<String, (i64, u64)>,
    /// Markets whose recovery ended and whose recorded trade is still the outage's start.
    restore: std::collections::HashSet<String>,
}

impl Recovering {
    pub(crate) fn started(&mut self, key: String, since: (i64, u64)) {
        self.restore.remove(&key);
        self.since.entry(key).or_insert(since);
    }

    pub(crate) fn finished(&mut self, key: &str) {
        if self.since.remove(key).is_some() {
            self.restore.insert(key.to_owned());
        }
    }

    /// Sets what `out` records as its market's last trade.
    pub(crate) fn apply(&mut self, out: &mut Outgoing) {
        let Some(mark) = &mut out.mark else { return };
        let key = &out.record.key;
        if let Some(trade) = mark.trade {
            self.last_trade.insert(key.clone(), trade);
        }
        if let Some(since) = self.since.get(key) {
            mark.trade = Some(*since);
        } else if self.restore.remove(key) && mark.trade.is_none() {
            mark.trade = self.last_trade.get(key).copied();
        }
    }
}

/// Where `event` leaves its market, for a successor owner.
fn mark_of(event: &MarketEvent) -> PublishedMark {
    let time = event.exchange_time.as_micros();
    PublishedMark {
        event_us: time,
        trade: match &event.payload {
            tickmesh_domain::Payload::Trade(trade) => Some((time, trade.trade_id.0)),
            _ => None,
        },
    }
}

/// Runs until `shutdown` is cancelled or every feed has closed its sender, then flushes what
/// it can within `drain_timeout` and returns. Feed gaps go to `gaps` (the live bus, channel
/// `tickmesh:gaps:{exchange}:{market}`) for stream clients, fire-and-forget like all live
/// traffic.
pub async fn run_publisher(
    mut input: mpsc::Receiver<FeedOutput>,
    bus: Arc<dyn EventPublisher>,
    gaps: Option<Arc<dyn LiveBus>>,
    config: PublisherConfig,
    stats: Arc<PublisherStats>,
    fences: Option<Arc<Fences>>,
    shutdown: CancellationToken,
) {
    let mut buffer = OutageBuffer::new(config.buffer_capacity, config.overflow);
    let mut outgoings = Outgoings::default();
    let mut backoff = Backoff::new(config.retry, u64::from(std::process::id()));
    let mut in_flight: Option<InFlight> = None;
    let mut retry_at: Option<Instant> = None;
    let mut outage = Outage::default();
    let mut input_open = true;
    let mut drain_deadline: Option<Instant> = None;
    let mut held_back = HeldBack::default();
    let mut recovering = Recovering::default();
    // The earliest the next batch may start (`config.linger` after the last one started).
    let mut linger_until: Option<Instant> = None;

    loop {
        let now = Instant::now();
        // Lingering ends early when a full batch waits or shutdown wants everything out.
        let lingering = linger_until.filter(|&t| {
            t > now && buffer.waiting() < config.batch_max && input_open && drain_deadline.is_none()
        });
        if in_flight.is_none()
            && buffer.has_waiting()
            && retry_at.is_none_or(|t| t <= now)
            && lingering.is_none()
        {
            retry_at = None;
            let batch = buffer.take_batch(config.batch_max);
            in_flight = Some(publish(Arc::clone(&bus), batch));
            linger_until = (!config.linger.is_zero()).then(|| now + config.linger);
        }
        let linger_wake = lingering.filter(|_| in_flight.is_none() && buffer.has_waiting());
        if (!input_open || drain_deadline.is_some()) && buffer.is_empty() {
            break;
        }
        if drain_deadline.is_some_and(|d| d <= Instant::now()) {
            warn!(
                unpublished = buffer.len(),
                "shutdown: the bus did not take every buffered event in time; they are lost"
            );
            break;
        }
        let reading = input_open && drain_deadline.is_none() && !buffer.should_block();
        tokio::select! {
            received = input.recv(), if reading => match received {
                Some(FeedOutput::Event(event)) => {
                    stats.received();
                    let mut outgoing = outgoings.outgoing(&event);
                    if let Some(fences) = &fences {
                        held_back.release(fences, &mut buffer, &stats, &mut recovering);
                        outgoing.mark = Some(mark_of(&event));
                        match fences.route(event.exchange, &event.market) {
                            Route::Publish(fence, seam) => {
                                // A late event of a unit taken over (a backfilled trade) that
                                // the predecessor already published.
                                if let Some(mark) = &outgoing.mark
                                    && !seam.is_empty()
                                    && !after_seam(mark, mark.trade.is_some(), seam.get(&outgoing.record.key))
                                {
                                    continue;
                                }
                                outgoing.fence = Some(fence);
                            }
                            Route::Hold(unit) => {
                                held_back.push(unit, outgoing, &stats);
                                continue;
                            }
                            Route::Drop => {
                                // The unit's lease is gone: its successor publishes it now.
                                stats.fenced_off(1);
                                continue;
                            }
                        }
                    }
                    if outgoing.record.size() > tickmesh_bus::MAX_RECORD_BYTES {
                        // Only an event carrying a raw frame near the frame limit can get
                        // here; no bus would take it, and it must not stall the others.
                        stats.dropped();
                        warn!(
                            exchange = %event.exchange, market = %event.market,
                            bytes = outgoing.record.size(),
                            "dropping an event larger than any bus takes; lower ingestion.max_frame_bytes or stop keeping raw frames"
                        );
                        continue;
                    }
                    recovering.apply(&mut outgoing);
                    match buffer.push(outgoing) {
                        Pushed::Stored => {}
                        Pushed::DroppedOldest | Pushed::DroppedNewest => {
                            stats.dropped();
                            outage.dropped(config.overflow, buffer.len());
                        }
                    }
                    stats.buffered(buffer.len());
                }
                Some(FeedOutput::RecoveryStarted { exchange, market, since }) => {
                    stats.received();
                    let since = (since.time.as_micros(), since.id.0);
                    recovering.started(routing::partition_key(exchange, &market), since);
                }
                Some(FeedOutput::RecoveryFinished { exchange, market }) => {
                    stats.received();
                    recovering.finished(&routing::partition_key(exchange, &market));
                }
                Some(FeedOutput::Gap(gap)) => {
                    stats.received();
                    stats.gap();
                    info!(exchange = %gap.exchange, "feed gap reported: {gap:?}");
                    if let Some(live) = &gaps {
                        let live = Arc::clone(live);
                        let message = LiveMessage {
                            channel: routing::gap_channel(gap.exchange, &gap.market),
                            payload: codec::encode_gap(&gap).into(),
                        };
                        tokio::spawn(async move {
                            if let Err(e) = live.publish(&[message]).await {
                                warn!(error = %e, "cannot publish a gap marker for stream clients");
                            }
                        });
                    }
                }
                None => {
                    // Every feed stopped: flush what is left, but not forever.
                    input_open = false;
                    drain_deadline.get_or_insert(Instant::now() + config.drain_timeout);
                }
            },
            (batch, result) = wait_in_flight(&mut in_flight) => {
                in_flight = None;
                match result {
                    Ok(published) => {
                        buffer.confirm(batch.len());
                        stats.published(batch.len() - published.fenced_off);
                        stats.fenced_off(published.fenced_off);
                        backoff.reset();
                        outage.ended(buffer.len());
                    }
                    Err(error) => {
                        let delay = backoff.next_delay();
                        stats.failed();
                        outage.failed(&error, buffer.len(), delay);
                        buffer.restore(batch);
                        retry_at = Some(Instant::now() + delay);
                    }
                }
                stats.buffered(buffer.len());
            },
            () = sleep_until(retry_at), if in_flight.is_none() => {}
            () = sleep_until(linger_wake), if linger_wake.is_some() => {}
            () = shutdown.cancelled(), if drain_deadline.is_none() => {
                drain_deadline = Some(Instant::now() + config.drain_timeout);
                // Retry at once: shutdown is no time to wait out a backoff.
                retry_at = None;
            }
            () = sleep_until(drain_deadline), if drain_deadline.is_some() => {}
        }
    }
}

fn publish(bus: Arc<dyn EventPublisher>, mut batch: Vec<Outgoing>) -> InFlight {
    let span = tracing::info_span!("ingestion.publish", events = batch.len());
    if let Some(traceparent) = tickmesh_telemetry::propagation::traceparent_of(&span) {
        // One buffer shared by the whole batch: cloning `Bytes` only counts a reference.
        let traceparent = bytes::Bytes::from(traceparent);
        for event in &mut batch {
            event
                .record
                .headers
                .push((tickmesh_bus::TRACEPARENT.to_owned(), traceparent.clone()));
        }
    }
    Box::pin(
        async move {
            let result = bus.publish(&batch).await;
            (batch, result)
        }
        .instrument(span),
    )
}

async fn wait_in_flight(
    in_flight: &mut Option<InFlight>,
) -> (Vec<Outgoing>, Result<Published, BusError>) {
    match in_flight {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Logs an outage once when it starts, every drop burst while it lasts (at most every 5 s),
/// and a summary when the bus takes events again.
#[derive(Debug, Default)]
struct Outage {
    since: Option<Instant>,
    dropped: u64,
    last_drop_report: Option<Instant>,
}

impl Outage {
    fn failed(&mut self, error: &BusError, buffered: usize, retry_in: Duration) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
            warn!(
                error = %error, buffered,
                "the bus is not taking events; buffering and retrying (first retry in {retry_in:?})"
            );
        }
    }

    fn dropped(&mut self, policy: OverflowPolicy, buffered: usize) {
        self.dropped += 1;
        let due = self
            .last_drop_report
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if due {
            self.last_drop_report = Some(Instant::now());
            warn!(
                dropped = self.dropped, buffered, policy = %policy,
                "outage buffer full: dropping events (raise ingestion.buffer_capacity or fix the bus)"
            );
        }
    }

    fn ended(&mut self, buffered: usize) {
        if let Some(since) = self.since.take() {
            info!(
                outage = ?since.elapsed(), dropped = self.dropped, buffered,
                "the bus takes events again after an outage of {:?}; {} events dropped",
                since.elapsed(), self.dropped
            );
            self.dropped = 0;
            self.last_drop_report = None;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_domain::{Payload, Side, Trade, TradeId, UtcMicros};

    use super::*;

    fn trade(exchange: Exchange, market: &str, id: u64) -> MarketEvent {
        MarketEvent {
            exchange,
            market: Market::parse(market).unwrap(),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(2),
            payload: Payload::Trade(Trade {
                trade_id: TradeId(id),
                price: 1.into(),
                size: 2.into(),
                side: Side::Buy,
            }),
            raw: None,
        }
    }

    #[test]
    fn each_event_gets_its_markets_key_and_channel_and_its_own_payload() {
        let mut outgoings = Outgoings::default();
        for id in 1..=3 {
            for (exchange, market, key) in [
                (Exchange::Upbit, "KRW-BTC", "upbit:BTC/KRW"),
                (Exchange::Korbit, "eth_krw", "korbit:ETH/KRW"),
            ] {
                let event = trade(exchange, market, id);
                let out = outgoings.outgoing(&event);
                assert_eq!(out.record.key, key);
                assert_eq!(out.channel, format!("tickmesh:live:{key}"));
                assert_eq!(codec::decode_event(&out.record.payload).unwrap(), event);
                assert!(out.record.headers.is_empty(), "{:?}", out.record.headers);
            }
        }
        assert_eq!(outgoings.names.len(), 2);
    }

    #[test]
    fn a_market_being_recovered_leaves_its_recovery_start_as_its_last_trade() {
        let mut outgoings = Outgoings::default();
        let marked = |outgoings: &mut Outgoings, event: &MarketEvent| {
            let mut out = outgoings.outgoing(event);
            out.mark = Some(mark_of(event));
            out
        };
        let first = trade(Exchange::Upbit, "KRW-BTC", 9);
        let mut recovering = Recovering::default();
        let mut out = marked(&mut outgoings, &first);
        recovering.apply(&mut out);
        assert_eq!(
            out.mark.unwrap().trade,
            Some((1, 9)),
            "no recovery: its own trade"
        );
        let key = out.record.key.clone();
        recovering.started(key.clone(), (0, 4));
        let mut out = marked(&mut outgoings, &trade(Exchange::Upbit, "KRW-BTC", 10));
        recovering.apply(&mut out);
        let mark = out.mark.unwrap();
        assert_eq!(
            mark.trade,
            Some((0, 4)),
            "recovering: where the outage began"
        );
        assert_eq!(mark.event_us, 1, "the last event stays the event's own");
        // Once recovered, the next event records the last trade again, even a ticker.
        recovering.finished(&key);
        let mut ticker = marked(&mut outgoings, &first);
        ticker.mark = Some(PublishedMark {
            event_us: 2,
            trade: None,
        });
        recovering.apply(&mut ticker);
        assert_eq!(ticker.mark.unwrap().trade, Some((1, 10)));
    }
}
