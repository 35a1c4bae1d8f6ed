//! Stored trades and tickers read back in stream order, for stream clients resuming from
//! further back than the durable stream still holds.
//!
//! Each trade and ticker row keeps its position in the stream, packed into one integer that
//! sorts as positions do (the `position` column, written from the header the bridge adds).
//! [`archived_events`] reads the events of a range of positions from both tables, each read
//! walking the table's position index (`position > after AND position <= through ORDER BY
//! position LIMIT n`), and merges the two pages into one, ordered by position, so a resume can
//! stitch them exactly to what it then reads from the stream. Rows without a position (stored
//! before positions were kept) are never returned. Order books are not archived with
//! positions and are never returned.
//!
//! The filters (exchange, market, exchange time) are checked on the rows the index walk
//! meets rather than used to pick another index, so a call never sorts a market's whole
//! history; a narrow filter over a wide range may walk the whole range, so callers bound a
//! call's cost by the range they ask for. Run it on the history pool
//! ([`connect_history`](crate::connect_history)), whose statement timeout stops a read that
//! takes too long on PostgreSQL.

mod rows;

use sea_orm::ConnectionTrait;
use tickmesh_bus::Position;
use tickmesh_domain::{EventKind, Exchange, Market, MarketEvent, UtcMicros};

use self::rows::{MarketNames, Page};
use crate::StorageError;
use crate::entity::{tickers, trades};

/// The most events one [`archived_events`] call returns, whatever its limit.
pub const MAX_ARCHIVE_EVENTS: usize = 10_000;

/// What a replay asks the database for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Events of these exchanges; empty for every exchange.
    pub exchanges: Vec<Exchange>,
    /// Events of these markets (on any of `exchanges`); empty for every market.
    pub markets: Vec<Market>,
    /// Events of these kinds; empty for every archived kind. Only trades and tickers are
    /// archived with their positions; order books are never returned.
    pub kinds: Vec<EventKind>,
    /// Only events after this position (exclusive).
    pub after: Position,
    /// Only events at or before this position (inclusive).
    pub through: Position,
    /// Only events whose exchange time is at or after this, when set.
    pub since: Option<UtcMicros>,
    /// The most events to return; above [`MAX_ARCHIVE_EVENTS`], that many.
    pub limit: usize,
}

impl ArchiveQuery {
    /// Every archived event in `(after, through]`, at most `limit` of them.
    pub fn between(after: Position, through: Position, limit: usize) -> ArchiveQuery {
        ArchiveQuery {
            exchanges: Vec::new(),
            markets: Vec::new(),
            kinds: Vec::new(),
            after,
            through,
            since: None,
            limit,
        }
    }

    /// Whether events of `kind` are asked for.
    fn wants(&self, kind: EventKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// The stored trades and tickers `query` asks for, each with its stream position, ordered by
/// position, at most `query.limit` (and [`MAX_ARCHIVE_EVENTS`]) of them: the first ones after
/// `query.after`. Decimals come back with the digits and scale they were stored with; the
/// events carry no raw frame.
///
/// Fails when the database does, or when a row holds a value tickmesh does not write
/// ([`StorageError::InvalidRow`]).
pub async fn archived_events<C: ConnectionTrait>(
    db: &C,
    query: &ArchiveQuery,
) -> Result<Vec<(Position, MarketEvent)>, StorageError> {
    let limit = query.limit.min(MAX_ARCHIVE_EVENTS);
    let Some(range) = packed_range(query.after, query.through) else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut names = MarketNames::default();
    let only = if query.exchanges.is_empty() && query.markets.is_empty() {
        None
    } else {
        let ids = names.matching(db, &query.exchanges, &query.markets).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Some(ids)
    };
    let page = Page {
        range,
        only: only.as_deref(),
        since: query.since,
        limit: u64::try_from(limit).unwrap_or(u64::MAX),
    };
    let trades: Vec<trades::Model> = if query.wants(EventKind::Trade) {
        page.read(db).await?
    } else {
        Vec::new()
    };
    let tickers: Vec<tickers::Model> = if query.wants(EventKind::Ticker) {
        page.read(db).await?
    } else {
        Vec::new()
    };
    let ids = trades.iter().map(|r| r.market_id);
    names
        .learn(db, ids.chain(tickers.iter().map(|r| r.market_id)))
        .await?;
    let trades = names.events(&trades)?;
    let tickers = names.events(&tickers)?;
    Ok(merge(trades, tickers, limit))
}

/// The packed bounds of the positions in `(after, through]` a row can have: each bound
/// lowered to the last position [`Position::packed`] can hold at or before it, since no row
/// has one it cannot (such a position is stored as `NULL`). `None` when no row can be in the
/// range.
fn packed_range(after: Position, through: Position) -> Option<(i64, i64)> {
    let floor = |p: Position| {
        Position {
            ms: p.ms,
            seq: p.seq.min(Position::MAX_PACKED_SEQ),
        }
        .packed()
    };
    // Past what a packed position holds nothing is stored, so nothing comes after it.
    let after = floor(after)?;
    let through = floor(through).unwrap_or(i64::MAX);
    (after < through).then_some((after, through))
}

/// The first `limit` of two lists ordered by their packed positions, in that order.
fn merge<T>(a: Vec<(i64, T)>, b: Vec<(i64, T)>, limit: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(limit.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while out.len() < limit {
        let next = match (a.peek(), b.peek()) {
            (Some((x, _)), Some((y, _))) if y < x => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some((_, item)) => out.push(item),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ms: u64, seq: u64) -> Position {
        Position { ms, seq }
    }

    #[test]
    fn ranges_cover_exactly_the_storable_positions_between_the_bounds() {
        assert_eq!(packed_range(p(5, 3), p(6, 0)), Some((5_000_003, 6_000_000)));
        // Empty and reversed ranges read nothing.
        assert_eq!(packed_range(p(5, 3), p(5, 3)), None);
        assert_eq!(packed_range(p(6, 0), p(5, 3)), None);
        // A sequence too large to pack: after it comes the next millisecond, and at or before
        // it everything stored of its millisecond.
        let big = Position::MAX_PACKED_SEQ + 5;
        assert_eq!(
            packed_range(p(5, big), p(7, big)),
            Some((5_999_999, 7_999_999))
        );
        assert_eq!(
            packed_range(p(5, big), p(6, 0)),
            Some((5_999_999, 6_000_000))
        );
        assert_eq!(packed_range(p(5, big), p(5, big + 1)), None);
        // Past what packs: nothing after, everything before.
        assert_eq!(packed_range(p(u64::MAX, 0), p(u64::MAX, 1)), None);
        assert_eq!(
            packed_range(Position::ZERO, p(u64::MAX, 0)),
            Some((0, i64::MAX))
        );
    }

    #[test]
    fn merging_keeps_position_order_and_the_limit() {
        let a = vec![(1, "a1"), (4, "a4"), (5, "a5")];
        let b = vec![(2, "b2"), (3, "b3"), (9, "b9")];
        assert_eq!(
            merge(a.clone(), b.clone(), 10),
            ["a1", "b2", "b3", "a4", "a5", "b9"]
        );
        assert_eq!(merge(a.clone(), b.clone(), 4), ["a1", "b2", "b3", "a4"]);
        assert_eq!(merge(a.clone(), Vec::new(), 2), ["a1", "a4"]);
        assert_eq!(merge(Vec::new(), b, 0), Vec::<&str>::new());
    }
}
