//! Stored events older than the durable stream still holds: the database side of a replay.
//!
//! Storage keeps each trade and ticker with the stream position it was published at, so a
//! replay that reaches past the stream's oldest entry continues from the database exactly
//! where the stream stops, by position, with nothing twice. Order books are not kept by
//! position (storage throttles their snapshots), so a replay reaching that far back marks
//! the stretch as not retained for them.

use std::sync::Mutex;

use async_trait::async_trait;
use tickmesh_bus::Position;
use tickmesh_domain::{EventKind, MarketEvent, UtcMicros};

use super::filter::TickFilter;

#[cfg(feature = "conformance")]
pub mod conformance;

/// What a replay asks the archive for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// The events wanted.
    pub filter: TickFilter,
    /// Only events at positions after this one.
    pub after: Position,
    /// Only events at positions up to this one (inclusive).
    pub through: Position,
    /// Only events whose exchange time is at or after this, when set.
    pub since: Option<UtcMicros>,
    /// At most this many events.
    pub limit: usize,
}

/// The archive could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading stored events failed")]
pub struct ArchiveError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Events kept with their stream positions.
///
/// Contract (checked by `conformance::run`, feature `conformance`): `events` returns the
/// kept events (trades and tickers, see [`archived`]) matching the query's filter, positions
/// and time, in position order, at most `limit`; `dropped_through` is at least the position
/// of every event the archive dropped (retention) and `None` while it dropped none;
/// `stored_through` is the highest position kept.
#[async_trait]
pub trait EventArchive: Send + Sync + std::fmt::Debug {
    /// The matching events, in position order.
    async fn events(
        &self,
        query: &ArchiveQuery,
    ) -> Result<Vec<(Position, MarketEvent)>, ArchiveError>;

    /// The highest position the archive has dropped, if it dropped any: a replay reaching
    /// further back than that is told the stretch is not retained.
    async fn dropped_through(&self) -> Result<Option<Position>, ArchiveError>;

    /// The highest position kept, if any: how far the archive's writer has come.
    async fn stored_through(&self) -> Result<Option<Position>, ArchiveError>;
}

/// Whether an archive keeps events of `kind` by position.
pub fn archived(kind: EventKind) -> bool {
    matches!(kind, EventKind::Trade | EventKind::Ticker)
}

/// An in-process archive, for tests and for wiring without a database.
#[derive(Debug, Default)]
pub struct MemoryArchive {
    events: Mutex<Vec<(Position, MarketEvent)>>,
    dropped_through: Mutex<Option<Position>>,
}

impl MemoryArchive {
    /// Drops every event at or before `position`, as retention would.
    pub fn drop_through(&self, position: Position) {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        events.retain(|(p, _)| *p > position);
        let mut dropped = self
            .dropped_through
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *dropped = (*dropped).max(Some(position));
    }

    /// Keeps `event` at `position` (kept in position order; order books are not kept).
    pub fn keep(&self, position: Position, event: MarketEvent) {
        if !archived(event.kind()) {
            return;
        }
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = events.partition_point(|(p, _)| *p < position);
        if events.get(at).is_none_or(|(p, _)| *p != position) {
            events.insert(at, (position, event));
        }
    }
}

#[async_trait]
impl EventArchive for MemoryArchive {
    async fn events(
        &self,
        query: &ArchiveQuery,
    ) -> Result<Vec<(Position, MarketEvent)>, ArchiveError> {
        let events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let from = events.partition_point(|(p, _)| *p <= query.after);
        Ok(events[from..]
            .iter()
            .take_while(|(p, _)| *p <= query.through)
            .filter(|(_, e)| {
                query.filter.matches(e) && query.since.is_none_or(|since| e.exchange_time >= since)
            })
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn stored_through(&self) -> Result<Option<Position>, ArchiveError> {
        let events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(events.last().map(|(p, _)| *p))
    }

    async fn dropped_through(&self) -> Result<Option<Position>, ArchiveError> {
        Ok(*self
            .dropped_through
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}
