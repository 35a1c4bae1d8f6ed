//! The simulated market: a seeded price walk per market producing trades, tickers and books,
//! a bounded trade history for the REST endpoints, and the log of every trade id emitted
//! (what tests compare a client's received ids against).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side};
use tokio::sync::broadcast;

use crate::clock::ExchangeClock;
use crate::rng::Rng;

/// One simulated trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTrade {
    /// Exchange trade id: Upbit/Bithumb style `sequential_id` (above 2^53) or Korbit `tradeId`.
    pub id: u64,
    /// Price in KRW.
    pub price: Decimal,
    /// Size in the base asset.
    pub size: Decimal,
    /// Taker side.
    pub side: Side,
    /// Trade time, epoch milliseconds.
    pub time_ms: i64,
}

/// The ticker state of a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTicker {
    /// Last price.
    pub last: Decimal,
    /// Opening price.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Previous close.
    pub prev_close: Decimal,
    /// Base volume.
    pub volume: Decimal,
    /// Quote turnover.
    pub quote_volume: Decimal,
    /// Last trade time, epoch ms.
    pub last_trade_ms: i64,
    /// State time, epoch ms.
    pub time_ms: i64,
}

/// A whole book (the exchanges send whole books, never deltas).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimBook {
    /// Bids, best first.
    pub bids: Vec<Level>,
    /// Asks, best first.
    pub asks: Vec<Level>,
    /// Time of the book's last change, epoch microseconds.
    pub time_us: i64,
}

/// What the engine publishes to every connection.
#[derive(Debug, Clone)]
pub enum SimEvent {
    /// A trade.
    Trade(Market, SimTrade),
    /// A ticker update.
    Ticker(Market, SimTicker),
    /// A book update.
    Book(Market, SimBook),
}

impl SimEvent {
    /// The market the event is about.
    pub fn market(&self) -> Market {
        match self {
            SimEvent::Trade(m, _) | SimEvent::Ticker(m, _) | SimEvent::Book(m, _) => *m,
        }
    }
}

#[derive(Debug)]
struct MarketState {
    ticker: SimTicker,
    book: SimBook,
    history: VecDeque<SimTrade>,
    /// Every trade id emitted, with when, in emission order (ids only grow); empty unless the
    /// engine keeps the log.
    emitted: Vec<(u64, Instant)>,
    /// Events generated for this market (trades, tickers and books; not snapshots).
    generated: u64,
    /// Trades generated for this market.
    trades: u64,
    last_id: u64,
}

/// Shared engine state: read by connections for snapshots and by REST handlers.
#[derive(Debug)]
pub struct Engine {
    exchange: Exchange,
    history_capacity: usize,
    book_depth: usize,
    /// Whether to log every emitted trade id (tests and benchmarks compare against it; a
    /// long-running simulator would grow it without bound).
    keep_emitted: bool,
    /// The exchange's clock: every time the engine and the connections emit.
    clock: ExchangeClock,
    state: Mutex<EngineState>,
    events: broadcast::Sender<Arc<SimEvent>>,
    /// Markets each open connection subscribes to, by connection number.
    subscribed: Mutex<BTreeMap<u64, BTreeSet<Market>>>,
    next_connection: std::sync::atomic::AtomicU64,
    /// Events some connection skipped because it fell too far behind.
    dropped: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct EngineState {
    rng: Rng,
    markets: BTreeMap<Market, MarketState>,
    round: u64,
}

/// The KRW price a market's walk starts from: a fixed table for the majors, else derived from
/// the symbol so that every market has a plausible, stable price.
fn start_price(market: Market) -> i64 {
    match market.base.as_str() {
        "BTC" => 116_500_000,
        "ETH" => 3_715_000,
        "XRP" => 3_900,
        "USDT" => 1_390,
        other => 1_000 + other.bytes().map(i64::from).sum::<i64>() * 37,
    }
}

/// The price step: KRW tick sizes grow with the price.
fn tick(price: i64) -> i64 {
    match price {
        p if p >= 2_000_000 => 1_000,
        p if p >= 100_000 => 50,
        p if p >= 1_000 => 1,
        _ => 1,
    }
}

impl Engine {
    /// A market per entry of `markets`, walks seeded with `seed`.
    pub(crate) fn new(
        exchange: Exchange,
        markets: &[Market],
        seed: u64,
        history_capacity: usize,
        book_depth: usize,
        keep_emitted: bool,
        clock: ExchangeClock,
    ) -> Arc<Self> {
        let now_ms = clock.now_ms();
        let (events, _) = broadcast::channel(65_536);
        let mut state = EngineState {
            rng: Rng::new(seed),
            markets: BTreeMap::new(),
            round: 0,
        };
        for &market in markets {
            let price = Decimal::from(start_price(market));
            let ticker = SimTicker {
                last: price,
                open: price,
                high: price,
                low: price,
                prev_close: price,
                volume: Decimal::ZERO,
                quote_volume: Decimal::ZERO,
                last_trade_ms: now_ms,
                time_ms: now_ms,
            };
            let first_id = match exchange {
                Exchange::Korbit => 25_441_720,
                // Upbit and Bithumb ids are the trade time in ms times 10^4 plus a counter.
                _ => u64::try_from(now_ms).unwrap_or(0) * 10_000,
            };
            let mut ms = MarketState {
                ticker,
                book: SimBook::default(),
                history: VecDeque::with_capacity(history_capacity.min(4096)),
                emitted: Vec::new(),
                generated: 0,
                trades: 0,
                last_id: first_id,
            };
            ms.book = make_book(&mut state.rng, price, book_depth, now_ms * 1000);
            state.markets.insert(market, ms);
        }
        Arc::new(Self {
            exchange,
            history_capacity,
            book_depth,
            keep_emitted,
            clock,
            state: Mutex::new(state),
            events,
            subscribed: Mutex::new(BTreeMap::new()),
            next_connection: std::sync::atomic::AtomicU64::new(0),
            dropped: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `n` events a lagging connection skipped.
    pub(crate) fn dropped(&self, n: u64) {
        self.dropped
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Events lagging connections skipped so far.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A number for a new connection, for [`Engine::set_subscribed`].
    pub(crate) fn connection_id(&self) -> u64 {
        self.next_connection
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Records the markets connection `id` subscribes to (`None`: it closed).
    pub(crate) fn set_subscribed(&self, id: u64, markets: Option<BTreeSet<Market>>) {
        let mut subscribed = self
            .subscribed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match markets {
            Some(m) => subscribed.insert(id, m),
            None => subscribed.remove(&id),
        };
    }

    /// Every market some open connection subscribes to.
    pub fn subscribed(&self) -> BTreeSet<Market> {
        let subscribed = self
            .subscribed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribed.values().flatten().copied().collect()
    }

    /// The exchange's time now, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SimEvent>> {
        self.events.subscribe()
    }

    /// The simulated exchange.
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// Whether the exchange lists `market`.
    pub fn lists(&self, market: Market) -> bool {
        self.lock().markets.contains_key(&market)
    }

    /// Every listed market.
    pub fn markets(&self) -> Vec<Market> {
        self.lock().markets.keys().copied().collect()
    }

    /// Generates the next round: for one market (round robin) a trade, then its ticker, and
    /// every third round its book, all at the exchange clock's time. Returns the number of
    /// events published.
    pub(crate) fn step(&self) -> usize {
        let mut published = Vec::with_capacity(3);
        {
            let mut guard = self.lock();
            // Read under the lock, so that trade times never go backwards between rounds.
            let now_ms = self.clock.now_ms();
            let state = &mut *guard;
            let count = state.markets.len() as u64;
            if count == 0 {
                return 0;
            }
            let round = state.round;
            state.round += 1;
            let index = usize::try_from(round % count).unwrap_or(0);
            let Some((&market, ms)) = state.markets.iter_mut().nth(index) else {
                return 0;
            };
            let rng = &mut state.rng;
            let last = i64::try_from(ms.ticker.last.trunc().mantissa()).unwrap_or(1_000);
            let step = tick(last) * (i64::try_from(rng.below(5)).unwrap_or(0) - 2);
            let price = Decimal::from((last + step).max(1));
            let size = Decimal::new(i64::try_from(rng.below(50_000_000)).unwrap_or(0) + 1, 8);
            let side = if rng.one_in(2) { Side::Buy } else { Side::Sell };
            let id = match self.exchange {
                Exchange::Korbit => ms.last_id + 1 + rng.below(3),
                _ => (ms.last_id + 1).max(u64::try_from(now_ms).unwrap_or(0) * 10_000),
            };
            ms.last_id = id;
            let trade = SimTrade {
                id,
                price,
                size,
                side,
                time_ms: now_ms,
            };
            if ms.history.len() == self.history_capacity {
                ms.history.pop_front();
            }
            ms.history.push_back(trade.clone());
            if self.keep_emitted {
                ms.emitted.push((id, Instant::now()));
            }
            let t = &mut ms.ticker;
            t.last = price;
            t.high = t.high.max(price);
            t.low = t.low.min(price);
            t.volume += size;
            t.quote_volume += (price * size).round_dp(8);
            t.last_trade_ms = now_ms;
            t.time_ms = now_ms;
            published.push(SimEvent::Trade(market, trade));
            published.push(SimEvent::Ticker(market, t.clone()));
            if round.is_multiple_of(3) {
                ms.book = make_book(rng, price, self.book_depth, now_ms * 1000);
                published.push(SimEvent::Book(market, ms.book.clone()));
            }
            ms.trades += 1;
            ms.generated += published.len() as u64;
        }
        let n = published.len();
        for event in published {
            // No receiver (no connection yet) is fine: the event is in the history anyway.
            let _ = self.events.send(Arc::new(event));
        }
        n
    }

    /// The latest trade, ticker and book of `market`.
    pub fn snapshot(&self, market: Market) -> Option<(Option<SimTrade>, SimTicker, SimBook)> {
        let state = self.lock();
        let ms = state.markets.get(&market)?;
        Some((
            ms.history.back().cloned(),
            ms.ticker.clone(),
            ms.book.clone(),
        ))
    }

    /// Up to `count` trades of `market`, newest first, with ids below `before` when given.
    pub fn recent_trades(
        &self,
        market: Market,
        count: usize,
        before: Option<u64>,
    ) -> Option<Vec<SimTrade>> {
        let state = self.lock();
        let ms = state.markets.get(&market)?;
        Some(
            ms.history
                .iter()
                .rev()
                .filter(|t| before.is_none_or(|b| t.id < b))
                .take(count)
                .cloned()
                .collect(),
        )
    }

    /// Every trade id emitted for `market`, in emission order.
    pub fn emitted_trades(&self, market: Market) -> Vec<u64> {
        self.lock()
            .markets
            .get(&market)
            .map(|m| m.emitted.iter().map(|&(id, _)| id).collect())
            .unwrap_or_default()
    }

    /// The trades of `market` emitted after the first `skip` with ids up to `through`, with
    /// when each was generated.
    pub fn emissions(&self, market: Market, skip: usize, through: u64) -> Vec<(u64, Instant)> {
        let state = self.lock();
        let Some(ms) = state.markets.get(&market) else {
            return Vec::new();
        };
        let after = ms.emitted.get(skip..).unwrap_or_default();
        // Ids only grow within a market, so the log is sorted by id.
        let end = after.partition_point(|&(id, _)| id <= through);
        after[..end].to_vec()
    }

    /// Events and trades generated for `market` so far.
    pub fn generated(&self, market: Market) -> (u64, u64) {
        self.lock()
            .markets
            .get(&market)
            .map_or((0, 0), |m| (m.generated, m.trades))
    }

    /// When trade `id` of `market` was generated, if it was.
    pub fn emitted_at(&self, market: Market, id: u64) -> Option<Instant> {
        let state = self.lock();
        let emitted = &state.markets.get(&market)?.emitted;
        // Ids only grow within a market, so the log is sorted by id.
        let at = emitted.binary_search_by_key(&id, |&(i, _)| i).ok()?;
        emitted.get(at).map(|&(_, when)| when)
    }
}

/// A book around `mid` with a random number of real levels (a thin book sometimes) per side.
fn make_book(rng: &mut Rng, mid: Decimal, depth: usize, time_us: i64) -> SimBook {
    let mid_i = i64::try_from(mid.trunc().mantissa()).unwrap_or(1_000);
    let step = tick(mid_i);
    // One book in ten is thin, so renderers exercise their zero padding.
    let levels = if rng.one_in(10) { 3 } else { depth };
    let size =
        |rng: &mut Rng| Decimal::new(i64::try_from(rng.below(9_000_000)).unwrap_or(0) + 1, 8);
    let asks = (0..levels)
        .map(|i| Level {
            price: Decimal::from(mid_i + step * (i as i64 + 1)),
            size: size(rng),
        })
        .collect();
    let bids = (0..levels)
        .map(|i| Level {
            price: Decimal::from((mid_i - step * i as i64).max(1)),
            size: size(rng),
        })
        .collect();
    SimBook {
        bids,
        asks,
        time_us,
    }
}
