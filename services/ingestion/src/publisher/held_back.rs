//! Events of units being taken over (make-before-break): kept until the lease is this
//! replica's, then published after the seam, or dropped if the take-over is given up.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tickmesh_bus::Outgoing;
use tracing::info;

use crate::buffer::{OutageBuffer, Pushed};
use crate::ownership::{Fences, Unit, UnitState, after_seam};
use crate::stats::PublisherStats;

/// Most events held back for units being taken over, together; past it the oldest go (the
/// take-over then has a gap, reported by nobody: size it above a hand-over's worth).
const HELD_BACK_MAX: usize = 100_000;

/// Events of units being taken over, kept until the lease is ours or the unit is given up.
#[derive(Debug, Default)]
pub(super) struct HeldBack {
    units: HashMap<Unit, VecDeque<Outgoing>>,
    len: usize,
    seen_changes: u64,
}

impl HeldBack {
    pub(super) fn push(&mut self, unit: Unit, out: Outgoing, stats: &PublisherStats) {
        if self.len >= HELD_BACK_MAX
            && let Some(queue) = self.units.values_mut().find(|q| !q.is_empty())
        {
            queue.pop_front();
            self.len -= 1;
            stats.dropped();
        }
        self.units.entry(unit).or_default().push_back(out);
        self.len += 1;
    }

    /// Moves the events of units that stopped pending into `buffer` (those after the seam,
    /// under the new fence) or drops them (the unit was given up).
    pub(super) fn release(
        &mut self,
        fences: &Fences,
        buffer: &mut OutageBuffer,
        stats: &PublisherStats,
        recovering: &mut super::Recovering,
    ) {
        let changes = fences.changes();
        if changes == self.seen_changes {
            return;
        }
        self.seen_changes = changes;
        let units: Vec<Unit> = self.units.keys().copied().collect();
        for unit in units {
            let state = fences.state(unit);
            if matches!(state, UnitState::Pending) {
                continue;
            }
            let queue = self.units.remove(&unit).unwrap_or_default();
            self.len -= queue.len();
            let UnitState::Held(fence, seam) = state else {
                // Given up: what was held back goes.
                continue;
            };
            let mut skipped = 0;
            for mut out in queue {
                let keep = out.mark.as_ref().is_none_or(|mark| {
                    after_seam(mark, mark.trade.is_some(), seam.get(&out.record.key))
                });
                if !keep {
                    skipped += 1;
                    continue;
                }
                out.fence = Some(Arc::clone(&fence));
                recovering.apply(&mut out);
                if !matches!(buffer.push(out), Pushed::Stored) {
                    stats.dropped();
                }
            }
            info!(%unit, skipped, "took the unit over; events the predecessor published were skipped");
        }
    }
}
