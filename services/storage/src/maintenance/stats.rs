//! Counters of the maintenance rounds, for the metrics (`tickmesh_storage_partitions_*`,
//! `tickmesh_storage_retention_*`, `tickmesh_storage_hourly_candles_computed_total`).

use std::sync::atomic::{AtomicU64, Ordering};

use super::TableReport;
use super::partitions::PARTITIONED;

/// What maintenance did since the process started, per table in [`PARTITIONED`] order.
#[derive(Debug, Default)]
pub struct MaintenanceStats {
    partitions_created: [AtomicU64; 3],
    partitions_dropped: [AtomicU64; 3],
    rows_dropped: [AtomicU64; 3],
    failures: AtomicU64,
    hours_computed: AtomicU64,
}

/// One table's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCounts {
    /// The table.
    pub table: &'static str,
    /// Partitions made.
    pub partitions_created: u64,
    /// Partitions dropped by retention.
    pub partitions_dropped: u64,
    /// Rows removed by retention.
    pub rows_dropped: u64,
}

impl MaintenanceStats {
    /// Adds what a round did.
    pub fn record(&self, reports: &[TableReport]) {
        for r in reports {
            let Some(i) = PARTITIONED.iter().position(|t| *t == r.table) else {
                continue;
            };
            let add = |c: &AtomicU64, n: usize| c.fetch_add(n as u64, Ordering::Relaxed);
            add(&self.partitions_created[i], r.partitions_created.len());
            add(&self.partitions_dropped[i], r.partitions_dropped.len());
            self.rows_dropped[i].fetch_add(r.rows_dropped, Ordering::Relaxed);
        }
    }

    /// Counts a round that failed.
    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts hourly candles computed from their minutes (SQLite).
    pub fn computed_hours(&self, n: u64) {
        self.hours_computed.fetch_add(n, Ordering::Relaxed);
    }

    /// Hourly candles computed from their minutes so far (SQLite).
    pub fn hours_computed(&self) -> u64 {
        self.hours_computed.load(Ordering::Relaxed)
    }

    /// Rounds that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Every table's counters.
    pub fn tables(&self) -> [TableCounts; 3] {
        std::array::from_fn(|i| TableCounts {
            table: PARTITIONED[i],
            partitions_created: self.partitions_created[i].load(Ordering::Relaxed),
            partitions_dropped: self.partitions_dropped[i].load(Ordering::Relaxed),
            rows_dropped: self.rows_dropped[i].load(Ordering::Relaxed),
        })
    }
}
