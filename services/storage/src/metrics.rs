//! Storage's batches as Prometheus metrics, read from the service's lock-free stats at scrape time.
//!
//! The service already keeps atomic counters for its gRPC status calls and tests, so the
//! collector copies a snapshot of them on each scrape instead of adding counters to the hot
//! paths or running a sampler task: nothing is paid between scrapes and a scrape never sees a
//! stale value. `docs/metrics.md` lists every name, and a test of the binary checks that the
//! two agree.

use std::sync::Arc;

use tickmesh_telemetry::Metrics;

use crate::{BATCH_SECONDS_BOUNDS, MaintenanceStats, StorageStats};

/// Storage metrics (`tickmesh_storage_*`).
pub fn register(metrics: &Metrics, stats: Arc<StorageStats>, maintenance: Arc<MaintenanceStats>) {
    metrics.collect("storage", move |s| {
        let tables = maintenance.tables();
        let per_table = |f: fn(&crate::maintenance::stats::TableCounts) -> u64| {
            tables.iter().map(|t| (t.table, f(t))).collect::<Vec<_>>()
        };
        s.counters(
            "partitions_created",
            "Time partitions made ahead or on demand (PostgreSQL)",
            "table",
            &per_table(|t| t.partitions_created),
        )?;
        s.counters(
            "retention_partitions_dropped",
            "Partitions dropped because their whole range was older than the retention (PostgreSQL)",
            "table",
            &per_table(|t| t.partitions_dropped),
        )?;
        s.counters(
            "retention_rows_dropped",
            "Rows removed by retention (in dropped partitions, or deleted on SQLite)",
            "table",
            &per_table(|t| t.rows_dropped),
        )?;
        s.counter(
            "maintenance_failures",
            "Maintenance rounds (partitions, retention) that failed; the next round tries again",
            maintenance.failures(),
        )?;
        s.counter(
            "hourly_candles_computed",
            "Hourly candles computed from their minutes after a write marked them stale (SQLite)",
            maintenance.hours_computed(),
        )?;
        let st = stats.snapshot();
        s.counter("batches", "Batches committed", st.batches)?;
        s.counter(
            "events",
            "Valid events in committed batches",
            st.events_written,
        )?;
        s.counter(
            "trades_inserted",
            "Trades stored for the first time",
            st.trades_inserted,
        )?;
        s.counter(
            "trades_duplicate",
            "Trades that were already stored (replays)",
            st.trades_duplicate,
        )?;
        s.counter(
            "tickers_sampled_out",
            "Ticker updates not stored because storage.ticker_interval samples them",
            st.tickers_sampled_out,
        )?;
        s.counter("dlq", "Records sent to the dead-letter topic", st.dlq)?;
        s.counter(
            "db_errors",
            "Failed database writes (each retried)",
            st.db_errors,
        )?;
        let buckets: Vec<(f64, u64)> = BATCH_SECONDS_BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(st.batch_buckets)
            .collect();
        s.histogram(
            "batch_seconds",
            "Time from a batch's database write to its acknowledgement",
            st.batch_micros as f64 / 1e6,
            st.batch_buckets.iter().sum(),
            &buckets,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_renders_its_snapshot() {
        let metrics = Metrics::new("0");
        register(
            &metrics,
            Arc::new(StorageStats::new()),
            Arc::new(MaintenanceStats::default()),
        );
        let text = metrics.render();
        for line in [
            "tickmesh_storage_trades_inserted_total 0",
            "tickmesh_storage_batch_seconds_count 0",
            "tickmesh_storage_batch_seconds_bucket{le=\"+Inf\"} 0",
            "tickmesh_storage_retention_rows_dropped_total{table=\"trades\"} 0",
            "tickmesh_storage_maintenance_failures_total 0",
            "tickmesh_storage_hourly_candles_computed_total 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
