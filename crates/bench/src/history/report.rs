//! What a history run found: a table for people and the same figures as JSON.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::calls::CallFigures;
use super::fill::TableFill;
use crate::report::ProcessFigures;

/// The figures of one history run.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    /// `history`.
    pub mode: String,
    /// Where the history was stored: `postgresql` or `sqlite`.
    pub database: String,
    /// Markets per exchange.
    pub markets: usize,
    /// Days of one-minute candles filled.
    pub candle_days: u32,
    /// Days of trades and tickers filled.
    pub trade_days: u32,
    /// Trades per second per market and exchange.
    pub trades_per_second: f64,
    /// Tickers per second per market and exchange.
    pub tickers_per_second: f64,
    /// Measured rounds (each call once per round).
    pub rounds: u32,
    /// Logical CPUs of the machine.
    pub machine_cpus: usize,
    /// CPU model name from `/proc/cpuinfo`.
    pub machine_cpu: String,
    /// The fill.
    pub fill: FillFigures,
    /// Each call, in the order the table shows them.
    pub calls: Vec<CallFigures>,
    /// CPU and memory of storage, the bench and PostgreSQL while the calls ran.
    pub processes: Vec<ProcessFigures>,
    /// Problems found; empty when every answer held what it should.
    pub problems: Vec<String>,
}

/// How the database was filled.
#[derive(Debug, Clone, Serialize)]
pub struct FillFigures {
    /// Each table.
    pub tables: Vec<TableFill>,
    /// Rows in all.
    pub rows: u64,
    /// Seconds from the first insert to the last commit.
    pub seconds: f64,
    /// Rows per second over the fill.
    pub rows_per_second: f64,
    /// Connections that filled at once.
    pub connections: usize,
    /// Hourly candles computed from the filled minutes afterwards.
    pub hourly_candles: u64,
    /// Seconds computing them took.
    pub hourly_s: f64,
    /// Seconds tidying up after the fill took: `VACUUM (ANALYZE)` of the filled tables on
    /// PostgreSQL, a WAL checkpoint on SQLite.
    pub vacuum_s: f64,
    /// The database's size on disk afterwards, bytes.
    pub database_bytes: u64,
}

impl HistoryReport {
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
            "tickmesh bench: history on {}, {} markets x 3 exchanges: {} d of 1m candles, {} d of \
             trades ({}/s) and tickers ({}/s) per market and exchange, {} rounds",
            self.database,
            self.markets,
            self.candle_days,
            self.trade_days,
            self.trades_per_second,
            self.tickers_per_second,
            self.rounds
        )?;
        writeln!(out, "machine: {} x {}", self.machine_cpus, self.machine_cpu)?;
        writeln!(out)?;
        let f = &self.fill;
        let tidy = if self.database == "sqlite" {
            "wal checkpoint"
        } else {
            "vacuum analyze"
        };
        writeln!(
            out,
            "  filled {} rows in {:.1} s ({:.0} rows/s on {} connections), {} hourly candles from \
             them in {:.1} s, {tidy} {:.1} s, database {:.2} GiB",
            f.rows,
            f.seconds,
            f.rows_per_second,
            f.connections,
            f.hourly_candles,
            f.hourly_s,
            f.vacuum_s,
            f.database_bytes as f64 / f64::from(1u32 << 30)
        )?;
        for t in &f.tables {
            writeln!(
                out,
                "  {:<28} {:>12} rows  {:>4} partitions made",
                t.table, t.rows, t.partitions
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "  {:<32} {:>6} {:>11} {:>11} {:>11} {:>8}",
            "call", "rows", "p50 ms", "p99 ms", "max ms", "calls"
        )?;
        for c in &self.calls {
            let p = &c.latency;
            writeln!(
                out,
                "  {:<32} {:>6} {:>11.3} {:>11.3} {:>11.3} {:>8}",
                c.call, c.rows, p.p50_ms, p.p99_ms, p.max_ms, p.samples
            )?;
        }
        writeln!(out)?;
        crate::report::write_processes(out, &self.processes)?;
        writeln!(out)?;
        if self.problems.is_empty() {
            writeln!(
                out,
                "every answer held what the filled history says it should"
            )?;
        } else {
            for problem in &self.problems {
                writeln!(out, "problem: {problem}")?;
            }
        }
        Ok(())
    }
}
