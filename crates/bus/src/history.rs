//! Reading the durable stream back from a position, for stream clients that resume.

use async_trait::async_trait;

use crate::{BusError, Position, Record};

/// One page of the stream read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// Records after the position asked for, in position order.
    pub entries: Vec<(Position, Record)>,
    /// The highest position the stream has dropped to stay within its bound, if it dropped
    /// any. When it is at or after the position asked for, the records between the two are
    /// gone from the stream.
    pub trimmed_through: Option<Position>,
}

/// Reads what the durable stream still holds, in position order.
///
/// Contract (checked by [`crate::conformance::history`]): `read_after` returns, in order, the
/// first `max` records appended to `stream` at a position after `after` that the stream still
/// holds, each with the position its append was given (the same one its live message was
/// framed with); a record appended after a page was read comes in a later page, never before
/// one already returned; `trimmed_through` is at least the position of every record dropped
/// before the read.
#[async_trait]
pub trait StreamHistory: Send + Sync + std::fmt::Debug {
    /// Up to `max` records of `stream` after `after`.
    async fn read_after(
        &self,
        stream: &str,
        after: Position,
        max: usize,
    ) -> Result<HistoryPage, BusError>;
}
