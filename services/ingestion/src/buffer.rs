//! The outage buffer: events waiting for the bus, bounded, with a stated policy when full.
//!
//! While Redis answers, the buffer holds only what arrived during the last round trip. While
//! it does not, events accumulate here up to `capacity` (counting the batch in flight), and
//! then the [`OverflowPolicy`] decides which event is lost. Every loss is counted.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use tickmesh_bus::Outgoing;

/// What a full buffer does with the next event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Drop the oldest waiting event to make room: live data stays current, and the stores
    /// lose the start of the outage (the default, as for most market-data consumers the
    /// newest tick matters most).
    #[default]
    DropOldest,
    /// Drop the arriving event: the stores keep the start of the outage.
    DropNewest,
    /// Stop reading from the feeds: nothing is dropped here, the feeds' channels and then
    /// the exchange sockets back up, and the exchange may cut the connection (after which
    /// the feed reconnects and backfills trades from REST).
    Block,
}

impl OverflowPolicy {
    /// The configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowPolicy::DropOldest => "drop-oldest",
            OverflowPolicy::DropNewest => "drop-newest",
            OverflowPolicy::Block => "block",
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverflowPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "drop-oldest" => Ok(OverflowPolicy::DropOldest),
            "drop-newest" => Ok(OverflowPolicy::DropNewest),
            "block" => Ok(OverflowPolicy::Block),
            other => Err(format!(
                "unknown overflow policy `{other}`: expected drop-oldest, drop-newest or block"
            )),
        }
    }
}

/// What [`OutageBuffer::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The event waits in the buffer.
    Stored,
    /// The event waits and the oldest waiting one was dropped.
    DroppedOldest,
    /// The event was dropped.
    DroppedNewest,
}

/// Events waiting for the bus, oldest first, plus the count of the batch in flight.
#[derive(Debug)]
pub struct OutageBuffer {
    queue: VecDeque<Outgoing>,
    in_flight: usize,
    capacity: usize,
    policy: OverflowPolicy,
}

impl OutageBuffer {
    /// A buffer of at most `capacity` events (at least 1).
    pub fn new(capacity: usize, policy: OverflowPolicy) -> OutageBuffer {
        let capacity = capacity.max(1);
        OutageBuffer {
            // Grows on demand: a healthy bus never needs the whole capacity.
            queue: VecDeque::with_capacity(capacity.min(1024)),
            in_flight: 0,
            capacity,
            policy,
        }
    }

    /// Events waiting or in flight.
    pub fn len(&self) -> usize {
        self.queue.len() + self.in_flight
    }

    /// Whether nothing waits and nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether another event fits without dropping one.
    pub fn has_room(&self) -> bool {
        self.len() < self.capacity
    }

    /// Whether events wait that are not in flight.
    pub fn has_waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Events waiting that are not in flight.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Whether the [`OverflowPolicy::Block`] policy says to stop reading.
    pub fn should_block(&self) -> bool {
        self.policy == OverflowPolicy::Block && !self.has_room()
    }

    /// Adds an event, applying the overflow policy when full. Under `Block` the caller stops
    /// reading before the buffer is full ([`should_block`](Self::should_block)); a push into
    /// a full blocking buffer still stores the event rather than lose it.
    pub fn push(&mut self, event: Outgoing) -> Pushed {
        if self.has_room() || self.policy == OverflowPolicy::Block {
            self.queue.push_back(event);
            return Pushed::Stored;
        }
        match self.policy {
            OverflowPolicy::DropOldest if !self.queue.is_empty() => {
                self.queue.pop_front();
                self.queue.push_back(event);
                Pushed::DroppedOldest
            }
            // Everything held is in flight (or the policy keeps the oldest): the arrival goes.
            _ => Pushed::DroppedNewest,
        }
    }

    /// Takes up to `max` of the oldest waiting events as the batch in flight.
    pub fn take_batch(&mut self, max: usize) -> Vec<Outgoing> {
        let n = max.min(self.queue.len());
        self.in_flight += n;
        self.queue.drain(..n).collect()
    }

    /// The batch in flight was published.
    pub fn confirm(&mut self, batch_len: usize) {
        self.in_flight = self.in_flight.saturating_sub(batch_len);
    }

    /// The batch in flight failed: it waits again, ahead of everything newer.
    pub fn restore(&mut self, batch: Vec<Outgoing>) {
        self.in_flight = self.in_flight.saturating_sub(batch.len());
        for event in batch.into_iter().rev() {
            self.queue.push_front(event);
        }
    }
}

#[cfg(test)]
mod tests;
