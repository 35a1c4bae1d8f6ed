//! In-process leases: the lease table of one process, for unit tests and the conformance
//! suite (embedded mode runs one ingestion and needs none).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::lease::{Acquired, Fence, Holding, Lease, LeaseStore, Offer, PublishedMark};
use crate::{BusError, Outgoing};

/// Leases held in this process.
#[derive(Debug, Default)]
pub struct MemoryLeases {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    members: BTreeMap<String, Instant>,
    held: HashMap<String, (Lease, Instant)>,
    tokens: HashMap<String, u64>,
    marks: HashMap<String, BTreeMap<String, PublishedMark>>,
    offers: HashMap<String, (Offer, Instant)>,
}

impl State {
    fn holder(&mut self, unit: &str, now: Instant) -> Option<&Lease> {
        if self.held.get(unit).is_some_and(|(_, until)| *until <= now) {
            self.held.remove(unit);
        }
        self.held.get(unit).map(|(lease, _)| lease)
    }

    fn offer(&mut self, unit: &str, now: Instant) -> Option<&mut Offer> {
        if self
            .offers
            .get(unit)
            .is_some_and(|(_, until)| *until <= now)
        {
            self.offers.remove(unit);
        }
        self.offers.get_mut(unit).map(|(offer, _)| offer)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl MemoryLeases {
    /// Every update leaves the table consistent, so a lock poisoned by a panic elsewhere is
    /// still safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Which events of `batch` may be written now, by index, and the marks their writes
    /// leave; the caller writes them while holding the returned guard, so no grant can come
    /// between the check and the write.
    pub(crate) fn admit<'a>(&'a self, batch: &[Outgoing]) -> Admitted<'a> {
        let now = Instant::now();
        let mut state = self.lock();
        let mut verdicts: HashMap<*const Fence, bool> = HashMap::new();
        let mut allowed = Vec::with_capacity(batch.len());
        for (index, out) in batch.iter().enumerate() {
            let ok = match &out.fence {
                None => true,
                Some(fence) => *verdicts
                    .entry(std::sync::Arc::as_ptr(fence))
                    .or_insert_with(|| {
                        state
                            .holder(&fence.unit, now)
                            .is_some_and(|lease| lease.holder_value() == fence.holder)
                    }),
            };
            if !ok {
                continue;
            }
            allowed.push(index);
            if let (Some(fence), Some(mark)) = (&out.fence, &out.mark) {
                state
                    .marks
                    .entry(fence.unit.clone())
                    .or_default()
                    .entry(out.record.key.clone())
                    .or_default()
                    .merge(mark);
            }
        }
        Admitted {
            _guard: state,
            allowed,
        }
    }
}

/// The outcome of [`MemoryLeases::admit`]: the table stays locked while it lives.
pub(crate) struct Admitted<'a> {
    _guard: MutexGuard<'a, State>,
    /// Indexes of the events to write.
    pub allowed: Vec<usize>,
}

#[async_trait]
impl LeaseStore for MemoryLeases {
    async fn heartbeat(&self, member: &str, ttl: Duration) -> Result<Vec<String>, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.members.insert(member.to_owned(), now + ttl);
        state.members.retain(|_, until| *until > now);
        Ok(state.members.keys().cloned().collect())
    }

    async fn leave(&self, member: &str) -> Result<(), BusError> {
        self.lock().members.remove(member);
        Ok(())
    }

    async fn acquire(
        &self,
        unit: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<Option<Acquired>, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.holder(unit, now).is_some() {
            return Ok(None);
        }
        if let Some(offer) = state.offer(unit, now)
            && offer.successor.as_deref().is_some_and(|s| s != member)
        {
            return Ok(None);
        }
        state.offers.remove(unit);
        let token = state.tokens.entry(unit.to_owned()).or_default();
        *token += 1;
        let lease = Lease {
            unit: unit.to_owned(),
            member: member.to_owned(),
            token: *token,
            granted_ms: now_ms(),
        };
        state
            .held
            .insert(unit.to_owned(), (lease.clone(), now + ttl));
        let marks = state.marks.get(unit).cloned().unwrap_or_default();
        Ok(Some(Acquired { lease, marks }))
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.holder(&lease.unit, now) != Some(lease) {
            return Ok(false);
        }
        state
            .held
            .insert(lease.unit.clone(), (lease.clone(), now + ttl));
        Ok(true)
    }

    async fn release(&self, lease: &Lease) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.holder(&lease.unit, now) != Some(lease) {
            return Ok(false);
        }
        state.held.remove(&lease.unit);
        Ok(true)
    }

    async fn offer(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.holder(&lease.unit, now) != Some(lease) {
            return Ok(false);
        }
        let kept = state.offer(&lease.unit, now).cloned().unwrap_or_default();
        state.offers.insert(lease.unit.clone(), (kept, now + ttl));
        Ok(true)
    }

    async fn claim(&self, unit: &str, member: &str) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(offer) = state.offer(unit, now) else {
            return Ok(false);
        };
        match &offer.successor {
            Some(s) => Ok(s == member),
            None => {
                offer.successor = Some(member.to_owned());
                Ok(true)
            }
        }
    }

    async fn ready(&self, unit: &str, member: &str) -> Result<(), BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(offer) = state.offer(unit, now)
            && offer.successor.as_deref() == Some(member)
        {
            offer.ready = true;
        }
        Ok(())
    }

    async fn offers(&self, units: &[String]) -> Result<Vec<Option<Offer>>, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        Ok(units
            .iter()
            .map(|unit| state.offer(unit, now).cloned())
            .collect())
    }

    async fn holders(&self, units: &[String]) -> Result<Vec<Option<Holding>>, BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        Ok(units
            .iter()
            .map(|unit| {
                state.holder(unit, now);
                state.held.get(unit).map(|(lease, until)| Holding {
                    lease: lease.clone(),
                    remaining: until.saturating_duration_since(now),
                })
            })
            .collect())
    }
}
