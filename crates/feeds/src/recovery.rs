//! Backfill off the session loop.
//!
//! REST history can take long: up to [`BackfillLimits::max_pages`] requests per market, each
//! waiting for its turn at the exchange's request pacer and for a slow answer. The session
//! must meanwhile go on reading the socket and answering pings, or a slow REST answer would
//! look like a dead socket and cause a reconnect, and with it another backfill. So the pages
//! are fetched by a task of their own ([`Recovery`]), which hands each market's trades back to
//! the session over a bounded channel; the session alone checks them, runs them through its
//! deduper and forwards them, so the deduper keeps a single owner.
//!
//! What is still to recover is kept per feed ([`Unrecovered`]), not per session: when a
//! session ends before its backfill finished, the next one recovers from the earliest start
//! either outage had, so a reconnect during a backfill loses nothing.

use std::collections::HashMap;
use std::sync::Arc;

use tickmesh_domain::{Market, UtcMicros};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::backfill::{Backfill, BackfillLimits, backfill};
use crate::dedupe::LastTrade;
use crate::protocol::{RestError, TradeHistory};

/// Markets' results the task may hold ready before the session takes them; it then waits.
/// Each is at most `max_pages * page_size` trades.
const RESULTS_BUFFERED: usize = 2;

/// An outage of one market still to recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outage {
    /// The newest trade seen before it (or where watching began, or the startup window).
    pub since: LastTrade,
    /// Whether to report it as a gap once recovered (not for the startup window, which is no
    /// outage this process saw).
    pub report_gap: bool,
    /// Where the reported gap starts when that is not `since` (a market taken over from
    /// another owner: its last event of any kind).
    pub gap_from: Option<UtcMicros>,
}

/// What is still to recover, per market.
#[derive(Debug, Default)]
pub(crate) struct Unrecovered(HashMap<Market, Outage>);

impl Unrecovered {
    /// Adds an outage of `market`, merged with one already pending: from the earlier start,
    /// reported as a gap if either is.
    pub(crate) fn add(&mut self, market: Market, outage: Outage) {
        let merged = match self.0.get(&market) {
            Some(old) => Outage {
                since: if (old.since.time, old.since.id) <= (outage.since.time, outage.since.id) {
                    old.since
                } else {
                    outage.since
                },
                report_gap: old.report_gap || outage.report_gap,
                gap_from: match (old.gap_from, outage.gap_from) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            },
            None => outage,
        };
        self.0.insert(market, merged);
    }

    /// Forgets markets no longer wanted.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Market) -> bool) {
        self.0.retain(|m, _| keep(m));
    }

    /// Marks `market` recovered.
    pub(crate) fn remove(&mut self, market: &Market) {
        self.0.remove(market);
    }

    /// Whether anything is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pending outages, in market order.
    pub(crate) fn pending(&self) -> Vec<(Market, Outage)> {
        let mut jobs: Vec<(Market, Outage)> = self.0.iter().map(|(m, o)| (*m, *o)).collect();
        jobs.sort_by_key(|(m, _)| *m);
        jobs
    }
}

/// One market's backfill, as the task hands it to the session.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The market.
    pub market: Market,
    /// The outage it covers.
    pub outage: Outage,
    /// When the backfill was started (the end of the outage).
    pub to: UtcMicros,
    /// The trades, or why there are none.
    pub result: Result<Backfill, RestError>,
}

/// A running backfill; dropping it stops the task (its REST calls are cancelled).
#[derive(Debug)]
pub(crate) struct Recovery {
    task: JoinHandle<()>,
    results: mpsc::Receiver<Recovered>,
}

impl Recovery {
    /// Starts backfilling `jobs` one market after another.
    pub(crate) fn spawn(
        history: Arc<dyn TradeHistory>,
        jobs: Vec<(Market, Outage)>,
        limits: BackfillLimits,
        to: UtcMicros,
    ) -> Self {
        let (tx, results) = mpsc::channel(RESULTS_BUFFERED);
        let task = tokio::spawn(async move {
            for (market, outage) in jobs {
                let result = backfill(history.as_ref(), market, outage.since, limits).await;
                let recovered = Recovered {
                    market,
                    outage,
                    to,
                    result,
                };
                // Full: wait for the session (backpressure). Closed: the session is gone.
                if tx.send(recovered).await.is_err() {
                    return;
                }
            }
        });
        Self { task, results }
    }

    /// The next market's result; `None` once every market was handed over.
    pub(crate) async fn next(&mut self) -> Option<Recovered> {
        self.results.recv().await
    }
}

impl Drop for Recovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use tickmesh_domain::TradeId;

    use super::*;

    fn outage(time: i64, report_gap: bool) -> Outage {
        Outage {
            since: LastTrade {
                time: UtcMicros(time),
                id: TradeId(1),
            },
            report_gap,
            gap_from: None,
        }
    }

    #[test]
    fn outages_merge_to_the_earliest_start_and_report_if_either_does() {
        let btc = Market::parse("BTC").unwrap();
        let eth = Market::parse("ETH").unwrap();
        let mut pending = Unrecovered::default();
        pending.add(btc, outage(50, false));
        pending.add(btc, outage(70, true));
        pending.add(eth, outage(90, false));
        assert_eq!(
            pending.pending(),
            vec![(btc, outage(50, true)), (eth, outage(90, false))]
        );
        pending.add(btc, outage(10, false));
        assert_eq!(pending.pending()[0], (btc, outage(10, true)));
        pending.retain(|m| *m == eth);
        pending.remove(&eth);
        assert!(pending.is_empty());
    }
}
