//! Leases: which member of a group owns a unit of work, one at a time, with fencing.
//!
//! Ingestion replicas split the exchanges' markets into units and each unit is collected by
//! the one replica holding its lease. A lease expires unless its holder renews it within its
//! time to live, so a replica that dies frees its units for the others. Every grant carries a
//! fencing token, larger than any earlier grant of the unit: the holder puts a [`Fence`] on
//! what it publishes, and the publisher refuses, in the same atomic step as the write, an
//! event whose fence no longer names the unit's holder. A former holder that was paused past
//! its expiry (a stopped process, a long GC-like stall, a partition) therefore cannot publish
//! after its successor started, whatever its own clock says.
//!
//! The lease table lives where the events are written (the Redis server of the bus), so the
//! fence check and the write are one step; [`crate::memory::MemoryLeases`] is the in-process
//! adapter and [`crate::conformance::lease`] the contract both pass.
//!
//! The store also keeps, per unit, the last event each market's holder published
//! ([`PublishedMark`]), written with the events themselves, so a successor knows exactly
//! where its predecessor stopped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::BusError;

/// A lease as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The unit (`upbit-0`).
    pub unit: String,
    /// The holder.
    pub member: String,
    /// The fencing token: larger than every earlier grant of this unit.
    pub token: u64,
    /// When it was granted, in UTC milliseconds of the store's clock.
    pub granted_ms: i64,
}

impl Lease {
    /// The value the store keeps for this grant: member, token and grant time, so a later
    /// grant to the same member never matches an earlier one.
    pub fn holder_value(&self) -> String {
        format!("{}|{}|{}", self.member, self.token, self.granted_ms)
    }

    /// Parses [`Lease::holder_value`]; `None` for anything else.
    pub fn parse(unit: &str, value: &str) -> Option<Lease> {
        let mut parts = value.rsplitn(3, '|');
        let granted_ms = parts.next()?.parse().ok()?;
        let token = parts.next()?.parse().ok()?;
        let member = parts.next()?.to_owned();
        Some(Lease {
            unit: unit.to_owned(),
            member,
            token,
            granted_ms,
        })
    }

    /// The fence to put on what this holder publishes for the unit.
    pub fn fence(&self) -> Arc<Fence> {
        Arc::new(Fence {
            unit: self.unit.clone(),
            holder: self.holder_value(),
            owner_tag: format!("{}|{}", self.member, self.token),
        })
    }
}

/// A condition on a publish: write only while `unit`'s lease is held by `holder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The unit.
    pub unit: String,
    /// The holder value the lease must have ([`Lease::holder_value`]).
    pub holder: String,
    /// `member|token`, written into every durable record as the `tickmesh-owner` header, so
    /// who published what can be checked from the stream.
    pub owner_tag: String,
}

/// The header naming the lease holder that published a record (`member|token`).
pub const OWNER_HEADER: &str = "tickmesh-owner";

/// The last event a unit's holder published for one market: the checkpoint a successor
/// resumes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishedMark {
    /// Exchange time of the last event of any kind, UTC microseconds.
    pub event_us: i64,
    /// Exchange time and id of the last trade, if any was published.
    pub trade: Option<(i64, u64)>,
}

impl PublishedMark {
    /// This mark moved past `later` (what a later write of the same market says).
    pub fn merge(&mut self, later: &PublishedMark) {
        self.event_us = self.event_us.max(later.event_us);
        if later.trade.is_some() {
            self.trade = later.trade;
        }
    }
}

/// What acquiring a unit gives: the lease, and where the previous holders stopped, per
/// market (the markets' routing keys, `upbit:BTC/KRW`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    /// The new lease.
    pub lease: Lease,
    /// The last event published per market under this unit by any earlier holder.
    pub marks: BTreeMap<String, PublishedMark>,
}

/// A unit's current holder, as any member can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The lease.
    pub lease: Lease,
    /// How long it has left unless renewed.
    pub remaining: Duration,
}

/// A unit its holder offered to hand over (see [`LeaseStore::offer`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Offer {
    /// The member that claimed it, if one did.
    pub successor: Option<String>,
    /// Whether that member is ready to take it (its connection is up).
    pub ready: bool,
}

/// Where leases are kept.
///
/// Contract (checked by [`crate::conformance::lease`]):
/// - at most one member holds a unit at a time; [`LeaseStore::acquire`] of a held unit
///   returns `None`;
/// - each grant's token is larger than every earlier grant's of the same unit;
/// - a lease not renewed within its time to live can be acquired by another member;
/// - [`LeaseStore::renew`] and [`LeaseStore::release`] of a lease that is no longer held
///   (expired, or granted to another) change nothing and say so;
/// - a publish whose [`Fence`] no longer names its unit's holder writes nothing of the
///   fenced events (see [`crate::EventPublisher`]);
/// - a unit offered by its holder ([`LeaseStore::offer`]) and claimed by a member can be
///   acquired, once released, only by that member until the offer expires.
///
/// The offer is a make-before-break hand-over: the holder offers, a successor claims and
/// connects without publishing, says it is ready, the holder stops and releases, and the
/// successor acquires; between the two, each market's last published event
/// ([`Acquired::marks`]) is the seam.
#[async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug {
    /// Records that `member` is alive for `ttl` and returns every live member, sorted.
    async fn heartbeat(&self, member: &str, ttl: Duration) -> Result<Vec<String>, BusError>;

    /// Removes `member` from the live members at once (a graceful stop).
    async fn leave(&self, member: &str) -> Result<(), BusError>;

    /// Grants `unit` to `member` for `ttl` if nobody holds it.
    async fn acquire(
        &self,
        unit: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<Option<Acquired>, BusError>;

    /// Extends `lease` by `ttl` from now; `false` if it is no longer held.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError>;

    /// Gives `lease` up so another member can take it at once; `false` if it was no longer
    /// held.
    async fn release(&self, lease: &Lease) -> Result<bool, BusError>;

    /// The holder of each of `units`, in order.
    async fn holders(&self, units: &[String]) -> Result<Vec<Option<Holding>>, BusError>;

    /// Offers `lease`'s unit to a successor for `ttl`; `false` if the lease is no longer
    /// held.
    async fn offer(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError>;

    /// Claims the offered `unit` for `member`; `true` if `member` is now its successor.
    async fn claim(&self, unit: &str, member: &str) -> Result<bool, BusError>;

    /// Says that `member`, the successor of `unit`, is ready to take it.
    async fn ready(&self, unit: &str, member: &str) -> Result<(), BusError>;

    /// The offer of each of `units`, in order (`None`: not offered).
    async fn offers(&self, units: &[String]) -> Result<Vec<Option<Offer>>, BusError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn holder_values_round_trip_even_with_bars_in_the_member_name() {
        let lease = Lease {
            unit: "upbit-3".into(),
            member: "pod|a".into(),
            token: 42,
            granted_ms: 1_700_000_000_000,
        };
        assert_eq!(
            Lease::parse("upbit-3", &lease.holder_value()).unwrap(),
            lease
        );
        assert_eq!(Lease::parse("upbit-3", "garbage"), None);
        assert_eq!(lease.fence().owner_tag, "pod|a|42");
    }

    #[test]
    fn a_mark_keeps_the_latest_event_and_the_last_trade_seen() {
        let mut mark = PublishedMark {
            event_us: 10,
            trade: Some((9, 1)),
        };
        mark.merge(&PublishedMark {
            event_us: 12,
            trade: None,
        });
        assert_eq!(mark.trade, Some((9, 1)));
        assert_eq!(mark.event_us, 12);
        mark.merge(&PublishedMark {
            event_us: 11,
            trade: Some((11, 2)),
        });
        assert_eq!(mark.event_us, 12);
        assert_eq!(mark.trade, Some((11, 2)));
    }
}
