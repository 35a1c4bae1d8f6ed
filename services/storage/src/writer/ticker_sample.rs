//! Optional ticker sampling: at most one stored ticker per market per
//! [`StoreConfig::ticker_interval`](super::StoreConfig) of exchange time, for deployments that
//! want price history without every update the exchanges send (about as many tickers as trades
//! at busy times). The live stream is not affected: sampling happens where storage writes.
//!
//! The first ticker of a market is kept, then each one at least the interval after the last
//! kept, as the order-book throttle does. The last kept time of a market comes from the
//! database the first time the market is seen, so a restarted storage goes on where it was.
//! A replayed batch keeps the same tickers it kept before, or (after a restart) ones already
//! stored, which `ON CONFLICT DO NOTHING` skips.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use tickmesh_domain::{Exchange, Market, UtcMicros};

use super::market_ids::MarketIds;
use super::rows::TickerRef;
use crate::StorageError;
use crate::entity::tickers;

/// The sampler of one writer: the exchange time of each market's last stored ticker.
#[derive(Debug, Default)]
pub(super) struct TickerSampler {
    interval_us: i64,
    last: HashMap<(Exchange, Market), Option<UtcMicros>>,
}

/// What one batch keeps.
pub(super) struct Sampled<'a> {
    /// The tickers to store.
    pub keep: Vec<TickerRef<'a>>,
    /// How many were left out.
    pub dropped: usize,
    /// The last kept time per market, for [`TickerSampler::committed`].
    pub last: HashMap<(Exchange, Market), UtcMicros>,
}

impl TickerSampler {
    /// A sampler keeping one ticker per `interval_us` of exchange time.
    pub(super) fn new(interval_us: i64) -> TickerSampler {
        TickerSampler {
            interval_us,
            last: HashMap::new(),
        }
    }

    /// Reads the last stored ticker of every market in `tickers` not seen before.
    pub(super) async fn load(
        &mut self,
        db: &DatabaseConnection,
        ids: &MarketIds,
        tickers: &[TickerRef<'_>],
    ) -> Result<(), StorageError> {
        for (event, _, _) in tickers {
            let key = (event.exchange, event.market);
            if self.last.contains_key(&key) {
                continue;
            }
            let last: Option<Option<i64>> = tickers::Entity::find()
                .select_only()
                .column_as(tickers::Column::ExchangeTimeUs.max(), "last")
                .filter(tickers::Column::MarketId.eq(ids.id(event.exchange, event.market)?))
                .into_tuple()
                .one(db)
                .await?;
            self.last
                .insert(key, last.flatten().map(UtcMicros::from_micros));
        }
        Ok(())
    }

    /// Picks the tickers to store, in order: the first of a market, then each at least the
    /// interval after the last one kept.
    pub(super) fn sample<'a>(&self, tickers: Vec<TickerRef<'a>>) -> Sampled<'a> {
        let mut out = Sampled {
            keep: Vec::with_capacity(tickers.len()),
            dropped: 0,
            last: HashMap::new(),
        };
        for ticker in tickers {
            let (event, _, _) = ticker;
            let key = (event.exchange, event.market);
            let last = out
                .last
                .get(&key)
                .copied()
                .or_else(|| self.last.get(&key).copied().flatten());
            if last.is_none_or(|last| event.exchange_time >= last.add_micros(self.interval_us)) {
                out.last.insert(key, event.exchange_time);
                out.keep.push(ticker);
            } else {
                out.dropped += 1;
            }
        }
        out
    }

    /// Moves the sampler on past a committed batch (a failed batch is sampled again in full).
    pub(super) fn committed(&mut self, last: HashMap<(Exchange, Market), UtcMicros>) {
        for (key, at) in last {
            self.last.insert(key, Some(at));
        }
    }
}
