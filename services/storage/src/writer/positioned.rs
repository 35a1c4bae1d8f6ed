//! [`Positioned`]: an event on its way to the database with its place in the durable stream.

use tickmesh_bus::Position;
use tickmesh_domain::MarketEvent;

/// An event to write, with its position in the durable stream when its record carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positioned<'a> {
    /// The event.
    pub event: &'a MarketEvent,
    /// Its position in the stream (the record's `tickmesh-position` header). Kept for trades
    /// and tickers; `None`, or a position [`Position::packed`] cannot hold, stores `NULL`.
    pub position: Option<Position>,
}

impl<'a> Positioned<'a> {
    /// `event` without a position.
    pub fn unpositioned(event: &'a MarketEvent) -> Positioned<'a> {
        Positioned {
            event,
            position: None,
        }
    }
}
