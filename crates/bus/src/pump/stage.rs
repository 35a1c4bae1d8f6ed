//! What a pump needs from the service it runs: how to turn deliveries into items, how to
//! write items, and how a write failed.

use std::time::Instant;

use async_trait::async_trait;

use crate::{BusError, Delivery, Record};

/// The items of a batch, ready to write, and the deliveries that can never be written.
#[derive(Debug)]
pub struct Prepared<I> {
    /// Items to write, in delivery order.
    pub items: Vec<I>,
    /// For each item, the index of its delivery in the batch (for its dead letter).
    pub origins: Vec<usize>,
    /// Deliveries refused outright, with the reason; they are dead-lettered before the write.
    pub rejects: Vec<(usize, String)>,
}

impl<I> Default for Prepared<I> {
    fn default() -> Self {
        Prepared {
            items: Vec::new(),
            origins: Vec::new(),
            rejects: Vec::new(),
        }
    }
}

impl<I> Prepared<I> {
    /// An empty preparation with room for `n` items.
    pub fn with_capacity(n: usize) -> Self {
        Prepared {
            items: Vec::with_capacity(n),
            origins: Vec::with_capacity(n),
            rejects: Vec::new(),
        }
    }

    /// Adds the item of delivery `origin`.
    pub fn push(&mut self, origin: usize, item: I) {
        self.items.push(item);
        self.origins.push(origin);
    }

    /// Refuses delivery `origin` for `reason`.
    pub fn reject(&mut self, origin: usize, reason: impl Into<String>) {
        self.rejects.push((origin, reason.into()));
    }
}

/// Why a write failed, as the pump must treat it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The destination is unavailable, timed out or refused for a reason that has nothing to
    /// do with the records (a connection, a lock, a full queue): the same write may succeed
    /// later, so it is retried with backoff.
    #[error("write failed, retrying")]
    Retryable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// At least one record can never be written (too large, out of range, violating a
    /// constraint): the pump splits the write until the records at fault are isolated and
    /// dead-letters them with this error as the reason.
    #[error("records refused")]
    Permanent(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl WriteError {
    /// A retryable failure.
    pub fn retryable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> WriteError {
        WriteError::Retryable(source.into())
    }

    /// A permanent failure.
    pub fn permanent(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> WriteError {
        WriteError::Permanent(source.into())
    }

    /// Whether the same write may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, WriteError::Retryable(_))
    }

    /// The error chain below this one, for logs and dead-letter reasons.
    pub fn reason(&self) -> String {
        let (WriteError::Retryable(source) | WriteError::Permanent(source)) = self;
        crate::error::chain(source.as_ref())
    }
}

impl From<BusError> for WriteError {
    /// A bus append: [`BusError::Rejected`] is permanent, everything else retryable.
    fn from(e: BusError) -> WriteError {
        if matches!(e, BusError::Rejected { .. }) {
            WriteError::permanent(e)
        } else {
            WriteError::retryable(e)
        }
    }
}

/// The service side of a [`Pump`](super::Pump).
///
/// `prepare` and `write` take `&self` because the pump prepares the next batch while the
/// current one is written; a stage with mutable state keeps it behind its own lock.
#[async_trait]
pub trait Stage: Send + Sync {
    /// One record's worth of work.
    type Item: Send + Sync;

    /// Turns a batch into items. It may take records out of the deliveries (they are kept
    /// for their acknowledgement only), except those it rejects: a rejected delivery is
    /// dead-lettered from its record.
    fn prepare(&self, batch: &mut [Delivery]) -> Prepared<Self::Item>;

    /// Writes `items` durably. A write may be repeated after it failed, and parts of a batch
    /// may be written again after a restart: writes must be idempotent or the readers must
    /// deduplicate.
    async fn write(&self, items: &[Self::Item]) -> Result<(), WriteError>;

    /// The record to dead-letter for `item` of `delivery` when the item can never be written.
    fn dead_record<'a>(&self, item: &'a Self::Item, delivery: &'a Delivery) -> &'a Record;

    /// Called after `items` were written (the records are durable at the destination).
    fn written(&self, _items: &[Self::Item]) {}
}

/// What a pump reports as it goes, for a service's statistics.
pub trait PumpEvents: Send + Sync {
    /// `n` deliveries were read.
    fn read(&self, _n: usize) {}
    /// Joining, polling or acknowledging the source failed (each is retried).
    fn source_failed(&self, _error: &BusError) {}
    /// A write failed (retried, or split to isolate records at fault).
    fn write_failed(&self, _error: &WriteError) {}
    /// `n` records were sent to the dead-letter topic.
    fn dead_lettered(&self, _n: usize) {}
    /// Stream entries the source dropped before this pump read them (see
    /// [`Backlog::trimmed`](crate::Backlog::trimmed)), since the last report.
    fn trimmed(&self, _n: u64) {}
    /// The group's backlog, sampled every [`PumpConfig::sample_every`](super::PumpConfig).
    fn backlog(&self, _backlog: &crate::Backlog) {}
    /// A batch of `n` deliveries was acknowledged; its write started at `write_started`.
    fn settled(&self, _n: usize, _write_started: Instant) {}
}

/// A [`PumpEvents`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl PumpEvents for NoEvents {}
