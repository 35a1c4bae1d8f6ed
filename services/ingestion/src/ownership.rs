//! Replicated ingestion: the markets of each exchange are split into units (an exchange and a
//! shard of its markets, one connection each), and each unit is collected by the one replica
//! holding its lease (`tickmesh_bus::LeaseStore`, on the bus's Redis).
//!
//! Every replica runs a [`coordinator`]: it keeps itself in the member list, renews its
//! leases, and moves towards an even share (`ceil(units / members)`), taking free units and
//! handing over extra ones. A unit's events are published under its lease's fence, so a
//! replica that lost a lease (expired while it was paused, say) can publish nothing more of
//! it, checked by Redis in the same step as the write; and a replica stops a unit on its own
//! once its last renewal is older than the lease's time to live less a margin, before the
//! lease can be granted to anyone else.
//!
//! After a failover a successor starts the unit's connection from where the previous holder
//! stopped: the trades after its last published trade come from the exchange's REST history,
//! and a gap marker from its last event to the new subscription covers tickers and books
//! where trades show something was missed. A hand-over (a graceful stop, or a replica with
//! more than its share) is make-before-break (`coordinator::takeover`): the successor
//! connects and holds the unit's events back before the holder stops, and publishes what
//! the holder had not ([`after_seam`]).

mod coordinator;
mod units;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tickmesh_bus::{Fence, Lease, PublishedMark};
use tickmesh_domain::{Exchange, Market};

pub use coordinator::{Coordinator, LeaseCounters};
pub use units::{Unit, all_units, markets_of, shard_of};

/// Settings of replicated ingestion.
#[derive(Debug, Clone)]
pub struct OwnershipConfig {
    /// This replica's name among the members (unique; a pod's name).
    pub member: String,
    /// Shards per exchange: each is one connection. Sized so a shard's markets fit one
    /// connection's subscription limits (Upbit and Bithumb take every code in one request;
    /// 4 shards of a 200-market exchange is 50 codes each).
    pub shards: u16,
    /// A lease's time to live: how long a dead replica's units wait before another takes
    /// them.
    pub lease_ttl: Duration,
    /// How often leases are renewed and the share is checked.
    pub renew_every: Duration,
    /// How long a graceful hand-over waits for the publisher to write what the stopped
    /// feed handed it.
    pub drain_timeout: Duration,
}

impl OwnershipConfig {
    /// Defaults for `member`: 4 shards, a 3 s lease renewed every 500 ms.
    pub fn new(member: impl Into<String>) -> OwnershipConfig {
        OwnershipConfig {
            member: member.into(),
            shards: 4,
            lease_ttl: Duration::from_secs(3),
            renew_every: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(5),
        }
    }

    /// How long after sending a renewal this replica stops publishing a unit whose renewal
    /// did not succeed since: a fifth of the lease's time short of it, so the unit stops
    /// here before the lease can expire on the server.
    pub fn self_fence_after(&self) -> Duration {
        self.lease_ttl - self.lease_ttl / 5
    }
}

/// Each market's last event a predecessor published, by market key.
pub type Seam = Arc<BTreeMap<String, PublishedMark>>;

/// Where a unit is on this replica.
#[derive(Debug, Clone)]
pub enum UnitState {
    /// Not ours.
    Gone,
    /// Being taken over.
    Pending,
    /// Ours: published under the fence, after the seam.
    Held(Arc<Fence>, Seam),
}

/// How the publisher treats an event, by its unit's state on this replica.
#[derive(Debug, Clone)]
pub enum Route {
    /// Publish it under this fence, unless the seam says the predecessor already did.
    Publish(Arc<Fence>, Seam),
    /// Keep it: the unit is being taken over and its lease is not ours yet.
    Hold(Unit),
    /// Drop it: the unit is not (or no longer) ours.
    Drop,
}

#[derive(Debug, Clone)]
enum Slot {
    /// Being taken over: connected, its events held back.
    Pending,
    /// Held: its events are published under the fence; `seam` is where the predecessor of a
    /// make-before-break hand-over stopped, per market key.
    Held { fence: Arc<Fence>, seam: Seam },
}

/// The state of the units on this replica, read by the publisher for every event.
#[derive(Debug)]
pub struct Fences {
    shards: u16,
    slots: RwLock<HashMap<Unit, Slot>>,
    /// Bumped whenever a unit leaves the pending state, so the publisher looks again at
    /// what it holds back.
    changes: AtomicU64,
}

impl Fences {
    /// No unit held yet.
    pub fn new(shards: u16) -> Fences {
        Fences {
            shards,
            slots: RwLock::new(HashMap::new()),
            changes: AtomicU64::new(0),
        }
    }

    /// What to do with an event of `market` on `exchange`.
    pub fn route(&self, exchange: Exchange, market: &Market) -> Route {
        let unit = Unit {
            exchange,
            shard: shard_of(market, self.shards),
        };
        // Every update leaves the map whole, so a poisoned lock is still usable.
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        match slots.get(&unit) {
            Some(Slot::Held { fence, seam }) => Route::Publish(Arc::clone(fence), Arc::clone(seam)),
            Some(Slot::Pending) => Route::Hold(unit),
            None => Route::Drop,
        }
    }

    /// How many times a unit left the pending state so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Where `unit` is on this replica.
    pub fn state(&self, unit: Unit) -> UnitState {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        match slots.get(&unit) {
            None => UnitState::Gone,
            Some(Slot::Pending) => UnitState::Pending,
            Some(Slot::Held { fence, seam }) => {
                UnitState::Held(Arc::clone(fence), Arc::clone(seam))
            }
        }
    }

    fn set(&self, unit: Unit, slot: Option<Slot>) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let was_pending = matches!(slots.get(&unit), Some(Slot::Pending));
        match slot {
            Some(slot) => slots.insert(unit, slot),
            None => slots.remove(&unit),
        };
        if was_pending {
            self.changes.fetch_add(1, Ordering::Release);
        }
    }

    pub(crate) fn pend(&self, unit: Unit) {
        self.set(unit, Some(Slot::Pending));
    }

    /// Publishes `unit`'s events under `lease` from now on; the fence returned is the one
    /// every such event carries until it is written (its count of holders tells the
    /// coordinator when none is left in the publisher).
    pub(crate) fn hold(
        &self,
        unit: Unit,
        lease: &Lease,
        seam: BTreeMap<String, PublishedMark>,
    ) -> Arc<Fence> {
        let fence = lease.fence();
        let slot = Slot::Held {
            fence: Arc::clone(&fence),
            seam: Arc::new(seam),
        };
        self.set(unit, Some(slot));
        fence
    }

    pub(crate) fn drop_unit(&self, unit: Unit) {
        self.set(unit, None);
    }
}

/// Whether an event held back during a take-over was not already published by the
/// predecessor, whose last event per market is `seam`: a trade after its last trade (by time
/// and id), anything else after its last event. An event of the very moment of the last
/// published one counts as published.
pub fn after_seam(mark: &PublishedMark, is_trade: bool, seam: Option<&PublishedMark>) -> bool {
    let Some(seam) = seam else { return true };
    if is_trade {
        match (mark.trade, seam.trade) {
            (Some(trade), Some(last)) => trade > last,
            _ => true,
        }
    } else {
        mark.event_us > seam.event_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(event_us: i64, trade: Option<(i64, u64)>) -> PublishedMark {
        PublishedMark { event_us, trade }
    }

    #[test]
    fn the_seam_keeps_only_what_the_predecessor_did_not_publish() {
        let seam = mark(100, Some((90, 7)));
        // Trades by time and id against its last trade.
        assert!(!after_seam(&mark(90, Some((90, 7))), true, Some(&seam)));
        assert!(!after_seam(&mark(80, Some((80, 9))), true, Some(&seam)));
        assert!(after_seam(&mark(90, Some((90, 8))), true, Some(&seam)));
        assert!(after_seam(&mark(95, Some((95, 1))), true, Some(&seam)));
        // Anything else by time against its last event; the same moment counts as published.
        assert!(!after_seam(&mark(100, None), false, Some(&seam)));
        assert!(after_seam(&mark(101, None), false, Some(&seam)));
        // A market it never published, or published no trade of, keeps everything.
        assert!(after_seam(&mark(1, None), false, None));
        assert!(after_seam(
            &mark(1, Some((1, 1))),
            true,
            Some(&mark(100, None))
        ));
    }

    #[test]
    fn events_of_a_pending_unit_are_held_and_a_change_is_counted_when_it_settles() {
        let fences = Fences::new(4);
        let btc = Market::parse("BTC").unwrap_or_else(|e| panic!("{e}"));
        let unit = Unit {
            exchange: Exchange::Upbit,
            shard: shard_of(&btc, 4),
        };
        assert!(matches!(fences.route(Exchange::Upbit, &btc), Route::Drop));
        fences.pend(unit);
        assert!(matches!(fences.route(Exchange::Upbit, &btc), Route::Hold(u) if u == unit));
        let before = fences.changes();
        let lease = Lease {
            unit: unit.to_string(),
            member: "a".into(),
            token: 3,
            granted_ms: 1,
        };
        let fence = fences.hold(unit, &lease, BTreeMap::new());
        assert_eq!(fences.changes(), before + 1);
        assert!(matches!(fences.route(Exchange::Upbit, &btc), Route::Publish(f, _) if f == fence));
        fences.drop_unit(unit);
        assert!(matches!(fences.state(unit), UnitState::Gone));
    }
}
