//! What a run found: a table for people and the same figures as JSON for machines.

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::latency::Percentiles;

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `embedded` or `distributed`.
    pub mode: String,
    /// Events per second asked for.
    pub target_rate: u32,
    /// Markets per exchange.
    pub markets: usize,
    /// Seconds the simulators generated.
    pub duration_s: f64,
    /// Seconds left out of the latency figures at the start.
    pub warmup_s: f64,
    /// Logical CPUs of the machine, and its model.
    pub machine_cpus: usize,
    /// CPU model name from `/proc/cpuinfo`.
    pub machine_cpu: String,
    /// Events generated (trades, tickers, books).
    pub events_generated: u64,
    /// Events generated per second of the run.
    pub events_per_second: f64,
    /// The database side.
    pub rows: RowFigures,
    /// The StreamTicks clients, when there were any.
    pub stream: Option<StreamFigures>,
    /// Replicated ingestion's hand-overs, when it ran replicated.
    pub failover: Option<crate::FailoverFigures>,
    /// The client that resumed from history, when one did.
    pub replay: Option<crate::ReplayFigures>,
    /// CPU and memory per process, services first.
    pub processes: Vec<ProcessFigures>,
    /// Busy cores of the whole machine during generation.
    pub machine_cores: f64,
    /// Problems found; empty when the run lost nothing.
    pub problems: Vec<String>,
}

/// Trades from simulator to database.
#[derive(Debug, Clone, Serialize)]
pub struct RowFigures {
    /// Trades generated.
    pub trades_generated: u64,
    /// Trades counted in the database at the end.
    pub trades_stored: u64,
    /// Generated trades missing from the database after the drain.
    pub trades_missing: u64,
    /// Trades seen stored per second while the simulators generated.
    pub stored_per_second: f64,
    /// Trades generated but not yet seen stored when generation stopped.
    pub backlog_at_stop: u64,
    /// Seconds from the end of generation until every trade was seen stored.
    pub drain_s: f64,
    /// Frame to committed row.
    pub latency: Percentiles,
    /// Database polls made and their mean time in milliseconds.
    pub polls: u64,
    /// Mean poll time in milliseconds.
    pub poll_ms: f64,
}

/// Events from simulator to StreamTicks clients.
#[derive(Debug, Clone, Serialize)]
pub struct StreamFigures {
    /// Clients attached.
    pub clients: usize,
    /// What each asked for: `pair`, `market` or `all`.
    pub filter: String,
    /// Events the clients should have received in all.
    pub expected: u64,
    /// Events they received.
    pub received: u64,
    /// Events that should have arrived and did not.
    pub missing: u64,
    /// Events the server reported dropping for slow clients.
    pub lagged: u64,
    /// Clients that received every event they asked for.
    pub complete_clients: usize,
    /// Events delivered per second across all clients.
    pub deliveries_per_second: f64,
    /// Frame to client.
    pub latency: Percentiles,
    /// Ingestion reading the frame to client: the mesh's own part of `latency`, without the
    /// simulator and the exchange socket (by the wall clock, which ingestion and the bench share on one machine).
    pub from_ingestion: Percentiles,
}

/// One process's share of the machine.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessFigures {
    /// The service, `bench` (simulators and clients), or the infrastructure server.
    pub name: String,
    /// Cores used on average while the simulators generated.
    pub cpu_cores: f64,
    /// Peak resident memory in MiB (`VmHWM`) of a service or the bench; for infrastructure
    /// servers, which outlive runs, the resident size at the end of generation (`VmRSS`) of
    /// their largest process.
    pub peak_rss_mib: f64,
    /// A service's CPU by thread name, the busiest first (empty for the bench and the
    /// infrastructure servers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadFigures>,
}

/// The cores one thread name of a service used (threads of one name added up).
#[derive(Debug, Clone, Serialize)]
pub struct ThreadFigures {
    /// The thread's name as `/proc` shows it (`tokio-rt-worker`, `rdk:broker1`, ...).
    pub name: String,
    /// Cores used on average while the simulators generated.
    pub cpu_cores: f64,
}

fn percentiles_row(out: &mut String, name: &str, p: &Percentiles) -> fmt::Result {
    writeln!(
        out,
        "  {name:<28} p50 {:>9.3} ms  p99 {:>9.3} ms  p99.9 {:>9.3} ms  max {:>9.3} ms  ({} samples)",
        p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms, p.samples
    )
}

impl Report {
    /// The report as a plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_table(&mut out);
        out
    }

    fn write_table(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "tickmesh bench: {} mesh, {} markets x 3 exchanges, {} events/s asked, {:.0} s (+{:.0} s warm-up excluded from latency)",
            self.mode, self.markets, self.target_rate, self.duration_s, self.warmup_s
        )?;
        writeln!(out, "machine: {} x {}", self.machine_cpus, self.machine_cpu)?;
        writeln!(out)?;
        writeln!(
            out,
            "  events generated            {:>12} ({:.0}/s)",
            self.events_generated, self.events_per_second
        )?;
        let r = &self.rows;
        writeln!(
            out,
            "  trades generated / stored   {:>12} / {} ({} missing)",
            r.trades_generated, r.trades_stored, r.trades_missing
        )?;
        writeln!(
            out,
            "  trades stored per second    {:>12.0} (backlog at stop {}, drained in {:.2} s)",
            r.stored_per_second, r.backlog_at_stop, r.drain_s
        )?;
        percentiles_row(out, "frame -> committed row", &r.latency)?;
        if let Some(s) = &self.stream {
            writeln!(
                out,
                "  stream clients              {:>12} ({} filter), {}/{} complete",
                s.clients, s.filter, s.complete_clients, s.clients
            )?;
            writeln!(
                out,
                "  events expected / received  {:>12} / {} ({} missing, {} lagged)",
                s.expected, s.received, s.missing, s.lagged
            )?;
            writeln!(
                out,
                "  deliveries per second       {:>12.0}",
                s.deliveries_per_second
            )?;
            percentiles_row(out, "frame -> stream client", &s.latency)?;
            percentiles_row(out, "  of which ingestion -> client", &s.from_ingestion)?;
        }
        if let Some(f) = &self.failover {
            writeln!(out)?;
            writeln!(out, "  ingestion replicas          {:>12}", f.replicas)?;
            writeln!(
                out,
                "  killed: markets taken over {:>12}   longest pause {:>6} ms",
                f.killed_markets, f.killed_pause_max_ms
            )?;
            writeln!(
                out,
                "  stopped: markets handed over {:>10}   longest pause {:>6} ms",
                f.handed_over_markets, f.handover_pause_max_ms
            )?;
            writeln!(
                out,
                "  trades in the stream        {:>12}   published twice {:>6}",
                f.trades_in_stream, f.trades_published_twice
            )?;
        }
        if let Some(r) = &self.replay {
            writeln!(out)?;
            writeln!(
                out,
                "  resumed from {:>6.0} s back   {:>12} events in {:.2} s ({:.0}/s){}",
                r.back_s,
                r.events,
                r.catch_up_s,
                r.events_per_second,
                if r.caught_up {
                    ", then live"
                } else {
                    ", not live by the end"
                }
            )?;
        }
        writeln!(out)?;
        write_processes(out, &self.processes)?;
        writeln!(
            out,
            "  {:<28} {:>10.2}",
            "whole machine", self.machine_cores
        )?;
        writeln!(out)?;
        if self.problems.is_empty() {
            writeln!(out, "no loss: every trade stored, every client complete")?;
        } else {
            for problem in &self.problems {
                writeln!(out, "problem: {problem}")?;
            }
        }
        Ok(())
    }
}

/// The per-process table every report ends with: CPU cores and peak RSS.
pub(crate) fn write_processes(out: &mut String, processes: &[ProcessFigures]) -> fmt::Result {
    writeln!(
        out,
        "  {:<28} {:>10} {:>14}",
        "process", "cpu cores", "peak rss MiB"
    )?;
    for p in processes {
        writeln!(
            out,
            "  {:<28} {:>10.2} {:>14.1}",
            p.name, p.cpu_cores, p.peak_rss_mib
        )?;
        // The threads that used at least a thousandth of a core.
        let busy: Vec<String> = p
            .threads
            .iter()
            .filter(|t| t.cpu_cores >= 0.001)
            .map(|t| format!("{} {:.3}", t.name, t.cpu_cores))
            .collect();
        if !busy.is_empty() {
            writeln!(out, "    threads: {}", busy.join(", "))?;
        }
    }
    Ok(())
}
