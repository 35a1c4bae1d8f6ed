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
//! A successor starts the unit's connection from where the previous holder stopped: the
//! trades after its last published trade come from the exchange's REST history, and a gap
//! marker from its last event to the new subscription covers tickers and books. A graceful
//! stop hands every unit over: its feed stops, what it handed the publisher is published,
//! then the lease is released, so a successor takes the unit at its next balance tick.

mod coordinator;
mod units;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tickmesh_bus::{Fence, Lease};
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

/// The fences of the units this replica holds, read by the publisher for every event.
#[derive(Debug)]
pub struct Fences {
    shards: u16,
    held: RwLock<HashMap<Unit, Arc<Fence>>>,
}

impl Fences {
    /// No unit held yet.
    pub fn new(shards: u16) -> Fences {
        Fences {
            shards,
            held: RwLock::new(HashMap::new()),
        }
    }

    /// The fence for an event of `market` on `exchange`; `None` when its unit is not held
    /// here (the event must not be published).
    pub fn fence_for(&self, exchange: Exchange, market: &Market) -> Option<Arc<Fence>> {
        let unit = Unit {
            exchange,
            shard: shard_of(market, self.shards),
        };
        // Every update leaves the map whole, so a poisoned lock is still usable.
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        held.get(&unit).cloned()
    }

    pub(crate) fn hold(&self, unit: Unit, lease: &Lease) {
        let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
        held.insert(unit, lease.fence());
    }

    pub(crate) fn drop_unit(&self, unit: Unit) {
        let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
        held.remove(&unit);
    }
}
