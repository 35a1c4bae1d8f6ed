//! [`MarketStore`]: batches of market events written atomically, idempotently.
//!
//! First, outside the batch's transaction, a pair seen for the first time gets its id in
//! `markets` ([`market_ids`]); every table below is keyed on that id. Then what one
//! [`MarketStore::write`] stores, all or nothing:
//!
//! 1. **trades**: `INSERT ... ON CONFLICT (market_id, exchange_time_us, trade_id) DO NOTHING
//!    RETURNING` the trades that were new (PostgreSQL, and SQLite since 3.35).
//! 2. **candles**: built from the *new* trades only, so a replayed batch never counts volume
//!    twice, and merged into the stored one-minute candles: the open from the earliest trade,
//!    the close from the latest (ties broken by trade id), as the domain's
//!    [`Candle::merge`](tickmesh_domain::Candle::merge) decides.
//! 3. **tickers**: optionally sampled per market to one per [`StoreConfig::ticker_interval`]
//!    of exchange time ([`ticker_sample`]), then `INSERT ... ON CONFLICT DO NOTHING`.
//! 4. **order books**: throttled per market to one snapshot per
//!    [`StoreConfig::orderbook_interval`] of exchange time, then `ON CONFLICT DO NOTHING`.
//!
//! The two backends do this differently:
//!
//! * **PostgreSQL**: one statement of data-modifying CTEs ([`postgres`]), one round trip per
//!   batch; the candle merge is the upsert's `ON CONFLICT DO UPDATE`, which runs under the
//!   candle's row lock, so two storage replicas writing one candle cannot lose an update.
//! * **SQLite**: a transaction of multi-row inserts, with the candles read back and merged in
//!   Rust ([`sqlite`]), because SQLite stores decimals as text.
//!
//! Trades and tickers keep the stream position their record carried ([`Positioned`]) in
//! `position`, packed into one integer ([`Position::packed`]), or `NULL` without one. The
//! first write of a row decides it: a replay changes nothing, its position included.
//!
//! On PostgreSQL the tables are partitioned by exchange time; a batch with a row no partition
//! takes makes the partitions it needs and is written again
//! ([`crate::maintenance::partitions`] says why there is no DEFAULT partition).
//!
//! What both share (the rows of a batch by kind, how ids and sides are stored, how inserts are
//! cut into statements) is in [`rows`].

mod book_throttle;
mod market_ids;
mod positioned;
mod postgres;
mod rows;
mod sharded;
mod sqlite;
mod ticker_sample;

pub use book_throttle::BookThrottle;
pub use positioned::Positioned;
pub use sharded::ShardedStore;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use tickmesh_bus::Position;
use tickmesh_domain::{EventBounds, Exchange, Market, MarketEvent, Payload, UtcMicros};

use self::market_ids::MarketIds;
use self::rows::BookRef;

use crate::StorageError;
use crate::entity::orderbook_snapshots;
use crate::maintenance::partitions;

/// How [`MarketStore`] stores events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Minimum exchange time between two stored snapshots of one market's order book.
    pub orderbook_interval: Duration,
    /// What an event may carry to be stored (see [`validate`]).
    pub bounds: EventBounds,
    /// Store at most one ticker per market per this much exchange time; `None` stores every
    /// ticker.
    pub ticker_interval: Option<Duration>,
    /// The width of a partition made on demand (PostgreSQL), as
    /// [`MaintenanceConfig::partition_interval`](crate::MaintenanceConfig).
    pub partition_interval: Duration,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            orderbook_interval: Duration::from_secs(1),
            ticker_interval: None,
            bounds: EventBounds::default(),
            partition_interval: crate::MaintenanceConfig::default().partition_interval,
        }
    }
}

/// What one [`MarketStore::write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Trades stored for the first time.
    pub trades_inserted: usize,
    /// Trades already stored (replays), including repeats within the batch.
    pub trades_duplicate: usize,
    /// Ticker updates stored (repeats of a stored one are skipped).
    pub tickers: usize,
    /// Ticker updates left out by sampling ([`StoreConfig::ticker_interval`]).
    pub tickers_sampled_out: usize,
    /// Order book snapshots stored.
    pub orderbooks_stored: usize,
    /// Order books not stored: within the interval of the last stored one, or already stored.
    pub orderbooks_throttled: usize,
    /// One-minute candles created or updated.
    pub candles_touched: usize,
}

impl WriteSummary {
    /// Adds the counts of `other`.
    pub fn add(&mut self, other: &WriteSummary) {
        self.trades_inserted += other.trades_inserted;
        self.trades_duplicate += other.trades_duplicate;
        self.tickers += other.tickers;
        self.tickers_sampled_out += other.tickers_sampled_out;
        self.orderbooks_stored += other.orderbooks_stored;
        self.orderbooks_throttled += other.orderbooks_throttled;
        self.candles_touched += other.candles_touched;
    }
}

/// Checks that `event` can be stored, so a caller can set it aside (dead-letter it) instead
/// of failing a whole batch: its values and times are within `bounds` (see
/// [`EventBounds::check_stored`]: nothing a candle sums can overflow, no time before 2009 or
/// after `now` plus the skew) and its trade id fits the `BIGINT` column.
pub fn validate(
    event: &MarketEvent,
    bounds: &EventBounds,
    now: UtcMicros,
) -> Result<(), StorageError> {
    bounds
        .check_stored(event, now)
        .map_err(|rejection| StorageError::OutOfBounds {
            exchange: event.exchange,
            market: event.market,
            rejection,
        })?;
    if let Payload::Trade(trade) = &event.payload {
        rows::trade_id(event.exchange, event.market, trade.trade_id)?;
    }
    Ok(())
}

/// The order-book throttle interval in microseconds.
fn book_interval_us(config: &StoreConfig) -> i64 {
    i64::try_from(config.orderbook_interval.as_micros()).unwrap_or(i64::MAX)
}

/// The order books of a batch the throttle lets through.
#[derive(Debug)]
struct Throttled<'a> {
    /// Books to store, in batch order.
    keep: Vec<BookRef<'a>>,
    /// How many it held back.
    dropped: usize,
    /// The throttle state to adopt once `keep` is committed.
    last_book: HashMap<(Exchange, Market), Option<UtcMicros>>,
}

/// Writes batches of market events into the database.
#[derive(Debug)]
pub struct MarketStore {
    db: DatabaseConnection,
    config: StoreConfig,
    /// Exchange time of the last stored book per market, `None` when the market has none;
    /// loaded from the table the first time a market is seen.
    last_book: HashMap<(Exchange, Market), Option<UtcMicros>>,
    /// The market ids of the pairs seen so far.
    ids: MarketIds,
    /// `last_book`'s committed snapshots, published for the consumer.
    book_throttle: BookThrottle,
    /// With [`StoreConfig::ticker_interval`]: the tickers this store keeps.
    tickers_sampled: Option<ticker_sample::TickerSampler>,
}

impl MarketStore {
    /// A store writing to `db`, whose schema the migrations created.
    pub fn new(db: DatabaseConnection, config: StoreConfig) -> MarketStore {
        let throttle = BookThrottle::new(book_interval_us(&config));
        MarketStore::sharing(db, config, throttle)
    }

    /// A store publishing its committed snapshots to `book_throttle` (shared by shards).
    pub(super) fn sharing(
        db: DatabaseConnection,
        config: StoreConfig,
        book_throttle: BookThrottle,
    ) -> MarketStore {
        let tickers_sampled = config.ticker_interval.map(|interval| {
            ticker_sample::TickerSampler::new(
                i64::try_from(interval.as_micros()).unwrap_or(i64::MAX),
            )
        });
        MarketStore {
            db,
            config,
            last_book: HashMap::new(),
            ids: MarketIds::default(),
            book_throttle,
            tickers_sampled,
        }
    }

    /// The throttle this store publishes its committed snapshots to: which books it is
    /// certain to drop, so the consumer need not decode them.
    pub fn book_throttle(&self) -> &BookThrottle {
        &self.book_throttle
    }

    /// The database connection, for queries.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// How this store stores.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Writes `events` in one transaction; nothing is written when it fails.
    ///
    /// Idempotent: writing the same events again changes no row and no candle. Fails without
    /// writing anything when an event cannot be stored (see [`validate`]).
    pub async fn write(&mut self, events: &[MarketEvent]) -> Result<WriteSummary, StorageError> {
        let events: Vec<Positioned<'_>> = events.iter().map(Positioned::unpositioned).collect();
        self.write_positioned(&events).await
    }

    /// [`MarketStore::write`] of borrowed events.
    pub async fn write_refs(
        &mut self,
        events: &[&MarketEvent],
    ) -> Result<WriteSummary, StorageError> {
        let events: Vec<Positioned<'_>> = events
            .iter()
            .copied()
            .map(Positioned::unpositioned)
            .collect();
        self.write_positioned(&events).await
    }

    /// [`MarketStore::write`] of events with their stream positions, which trades and
    /// tickers keep (a row already stored keeps the position it was first stored with).
    pub async fn write_positioned(
        &mut self,
        events: &[Positioned<'_>],
    ) -> Result<WriteSummary, StorageError> {
        if events.is_empty() {
            return Ok(WriteSummary::default());
        }
        let now = UtcMicros::now();
        for positioned in events {
            validate(positioned.event, &self.config.bounds, now)?;
        }
        let mut trades = Vec::new();
        let mut tickers = Vec::new();
        let mut books = Vec::new();
        for &Positioned { event, position } in events {
            let packed = position.and_then(Position::packed);
            match &event.payload {
                Payload::Trade(t) => trades.push((event, t, packed)),
                Payload::Ticker(t) => tickers.push((event, t, packed)),
                Payload::OrderBook(b) => books.push((event, b)),
            }
        }
        // Read outside the transaction, so that every transaction starts with a write.
        self.ids
            .resolve(&self.db, events.iter().map(|p| p.event))
            .await?;
        self.load_last_books(&books).await?;
        let (tickers, tickers_sampled_out, tickers_last) = match &mut self.tickers_sampled {
            Some(sampler) => {
                sampler.load(&self.db, &self.ids, &tickers).await?;
                let sampled = sampler.sample(tickers);
                (sampled.keep, sampled.dropped, Some(sampled.last))
            }
            None => (tickers, 0, None),
        };
        let Throttled {
            keep: books,
            dropped: throttled,
            last_book,
        } = self.throttle(&books);

        let written = if let DatabaseConnection::SqlxPostgresPoolConnection(_) = &self.db {
            // The variant was just matched, so this returns its pool and cannot panic.
            let pool = self.db.get_postgres_connection_pool();
            let unique = rows::unique_trades(&trades);
            match postgres::write(pool, &self.ids, &unique, &tickers, &books).await {
                Err(e) if partitions::no_partition(&e) => {
                    self.cover(&unique, &tickers, &books).await?;
                    postgres::write(pool, &self.ids, &unique, &tickers, &books).await?
                }
                written => written?,
            }
        } else {
            sqlite::write(&self.db, &self.ids, &trades, &tickers, &books).await?
        };
        let summary = WriteSummary {
            trades_inserted: written.trades_inserted,
            trades_duplicate: trades.len().saturating_sub(written.trades_inserted),
            tickers: written.tickers,
            tickers_sampled_out,
            orderbooks_stored: written.orderbooks,
            orderbooks_throttled: throttled + books.len().saturating_sub(written.orderbooks),
            candles_touched: written.candles_touched,
        };

        // Only a committed snapshot moves the throttle on; a failed batch is retried in full.
        self.book_throttle.committed(
            last_book
                .iter()
                .filter_map(|(key, last)| last.map(|last| (*key, last))),
        );
        self.last_book.extend(last_book);
        if let (Some(sampler), Some(last)) = (&mut self.tickers_sampled, tickers_last) {
            sampler.committed(last);
        }
        Ok(summary)
    }

    /// Makes the partitions every row of a batch needs (a batch that found none for a row).
    async fn cover(
        &self,
        trades: &[rows::TradeRef<'_>],
        tickers: &[rows::TickerRef<'_>],
        books: &[BookRef<'_>],
    ) -> Result<(), StorageError> {
        let width = crate::maintenance::micros(self.config.partition_interval).max(1);
        let window = |e: &MarketEvent| {
            let start = e.exchange_time.as_micros().div_euclid(width) * width;
            (start, start + width)
        };
        let needed: [(&str, BTreeSet<(i64, i64)>); 3] = [
            ("trades", trades.iter().map(|(e, _, _)| window(e)).collect()),
            (
                "tickers",
                tickers.iter().map(|(e, _, _)| window(e)).collect(),
            ),
            (
                "orderbook_snapshots",
                books.iter().map(|(e, _)| window(e)).collect(),
            ),
        ];
        for (table, windows) in needed {
            if windows.is_empty() {
                continue;
            }
            let windows: Vec<(i64, i64)> = windows.into_iter().collect();
            let made = partitions::ensure(&self.db, table, &windows, true).await?;
            let made: Vec<String> = made
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.name)
                .collect();
            tracing::info!(table, ?made, "partitions made for a batch that found none");
        }
        Ok(())
    }

    /// Whether a book at `at` comes less than the interval after a snapshot kept at `last`.
    fn too_soon(&self, last: UtcMicros, at: UtcMicros) -> bool {
        at < last.add_micros(book_interval_us(&self.config))
    }

    /// Loads the time of the last stored book of every market in `books` not seen before.
    async fn load_last_books(&mut self, books: &[BookRef<'_>]) -> Result<(), StorageError> {
        for (event, _) in books {
            let key = (event.exchange, event.market);
            if self.last_book.contains_key(&key) {
                continue;
            }
            let last: Option<Option<i64>> = orderbook_snapshots::Entity::find()
                .select_only()
                .column_as(orderbook_snapshots::Column::ExchangeTimeUs.max(), "last")
                .filter(
                    orderbook_snapshots::Column::MarketId
                        .eq(self.ids.id(event.exchange, event.market)?),
                )
                .into_tuple()
                .one(&self.db)
                .await?;
            let last = last.flatten().map(UtcMicros::from_micros);
            if let Some(last) = last {
                self.book_throttle.committed([(key, last)]);
            }
            self.last_book.insert(key, last);
        }
        Ok(())
    }

    /// Picks the books to store: the first of a market, then each at least the interval of
    /// exchange time after the last one kept.
    fn throttle<'a>(&self, books: &[BookRef<'a>]) -> Throttled<'a> {
        let mut out = Throttled {
            keep: Vec::new(),
            dropped: 0,
            last_book: HashMap::new(),
        };
        for &(event, book) in books {
            let key = (event.exchange, event.market);
            let last = out
                .last_book
                .get(&key)
                .or_else(|| self.last_book.get(&key))
                .copied()
                .flatten();
            if last.is_none_or(|last| !self.too_soon(last, event.exchange_time)) {
                out.keep.push((event, book));
                out.last_book.insert(key, Some(event.exchange_time));
            } else {
                out.dropped += 1;
            }
        }
        out
    }
}
