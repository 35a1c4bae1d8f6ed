//! `tickmesh export`: stored trades, tickers or candles of one market to a CSV or Parquet
//! file, streamed a page at a time so memory stays flat for any range.
//!
//! The file is written beside its final name with a `.partial` suffix and renamed when
//! complete, so a failed or interrupted export never leaves a file that looks whole.

pub mod parquet;

use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use tickmesh_domain::CandleInterval;

use self::parquet::{ParquetSink, Type};
use crate::output::{Column, Format, OutputArgs, Printer, Shape, Value, machine, object_text};
use crate::records::{
    CANDLE_COLUMNS, Reader, SeriesArgs, TICKER_COLUMNS, TRADE_COLUMNS, candle_row, ticker_row,
    trade_row,
};
use crate::render::{grouped, machine_time};
use crate::server::{Failure, ServerArgs};
use crate::wire::time;

/// Options of `tickmesh export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// What to export.
    #[arg(long, value_enum, default_value_t = Kind::Trades)]
    kind: Kind,
    /// Candle width, with --kind candles: 1m, 5m, 15m, 1h or 1d.
    #[arg(long, default_value = "1m")]
    interval: CandleInterval,
    /// File format; by default from the --out file's extension (.csv or .parquet).
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// The file to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Every stored trade.
    Trades,
    /// Candles at --interval.
    Candles,
    /// Every stored ticker.
    Tickers,
}

/// An export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values, decimals exactly as stored.
    Csv,
    /// Apache Parquet, decimals as DECIMAL(38, 18).
    Parquet,
}

const TRADE_TYPES: &[Type] = &[
    Type::Time,
    Type::Text,
    Type::Text,
    Type::UInt64,
    Type::Decimal,
    Type::Decimal,
    Type::Text,
    Type::Time,
];
const TICKER_TYPES: &[Type] = &[
    Type::Time,
    Type::Text,
    Type::Text,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Time,
];
const CANDLE_TYPES: &[Type] = &[
    Type::Time,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::Decimal,
    Type::UInt64,
];

/// Where records go.
enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    Parquet(ParquetSink),
}

impl Sink {
    fn write(&mut self, rows: &[Vec<Value>]) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => {
                for row in rows {
                    w.write_record(row.iter().map(Value::to_csv))?;
                }
                Ok(())
            }
            Sink::Parquet(p) => p.write(rows),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Csv(mut w) => {
                w.flush()?;
                Ok(())
            }
            Sink::Parquet(p) => p.finish(),
        }
    }
}

/// Runs `tickmesh export` (default range: the last hour).
pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(f) => f,
        None => format_of(&args.out)?,
    };
    let hour = Duration::from_secs(3600);
    let mut reader = args
        .series
        .reader(hour, &args.server, args.output.zone())
        .await?;
    let (columns, types): (&'static [Column], &'static [Type]) = match args.kind {
        Kind::Trades => (TRADE_COLUMNS, TRADE_TYPES),
        Kind::Tickers => (TICKER_COLUMNS, TICKER_TYPES),
        Kind::Candles => (CANDLE_COLUMNS, CANDLE_TYPES),
    };
    let partial = partial_path(&args.out);
    let result = write(&mut reader, &args, format, columns, types, &partial).await;
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            // Nothing half-written is left behind; the error says what failed.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot move the export to {}", args.out.display()))?;
    let bytes = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    let kind = format!("{:?}", args.kind).to_ascii_lowercase();
    let s = reader.series();
    if args.output.output == Format::Table {
        println!(
            "wrote {} {kind} of {} on {} from {} to {} to {} ({} bytes)",
            grouped(rows.into(), 0),
            s.label,
            s.exchange,
            machine_time(s.start),
            machine_time(s.end),
            args.out.display(),
            grouped(bytes.into(), 0),
        );
        return Ok(());
    }
    let summary = vec![
        Value::Text(args.out.display().to_string()),
        Value::Text(format!("{format:?}").to_ascii_lowercase()),
        Value::Text(kind),
        Value::Text(s.exchange.to_string()),
        Value::Text(s.label.clone()),
        Value::Time(s.start),
        Value::Time(s.end),
        Value::Count(rows),
        Value::Count(bytes),
    ];
    if args.output.output == Format::Json {
        println!("{}", object_text(SUMMARY, &summary));
    } else {
        let mut printer = Printer::stdout(&args.output, SUMMARY, Shape::List);
        printer.row(summary)?;
        printer.finish(Vec::new(), &[])?;
    }
    Ok(())
}

/// What `export` prints for scripts: one object (JSON, NDJSON) or one CSV record.
const SUMMARY: &[Column] = &[
    machine("file"),
    machine("format"),
    machine("kind"),
    machine("exchange"),
    machine("market"),
    machine("from"),
    machine("to"),
    machine("rows"),
    machine("bytes"),
];

/// Reads every page into `partial`; the number of records written.
async fn write(
    reader: &mut Reader,
    args: &ExportArgs,
    format: FileFormat,
    columns: &'static [Column],
    types: &'static [Type],
    partial: &Path,
) -> anyhow::Result<u64> {
    let file =
        File::create(partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut sink = match format {
        FileFormat::Csv => {
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(columns.iter().map(|c| c.name))?;
            Sink::Csv(w)
        }
        FileFormat::Parquet => Sink::Parquet(ParquetSink::new(file, columns, types)?),
    };
    let mut progress = Progress::new(args.kind);
    loop {
        let (rows, reached) = match args.kind {
            Kind::Trades => match reader.trades().await? {
                Some(page) => {
                    let reached = page.last().and_then(|t| time(t.exchange_time.as_ref()));
                    let rows = page.iter().map(|t| trade_row(reader.series(), t));
                    (rows.collect::<anyhow::Result<Vec<_>>>()?, reached)
                }
                None => break,
            },
            Kind::Tickers => match reader.tickers().await? {
                Some(page) => {
                    let reached = page.last().and_then(|t| time(t.exchange_time.as_ref()));
                    let rows = page.iter().map(|t| ticker_row(reader.series(), t));
                    (rows.collect::<anyhow::Result<Vec<_>>>()?, reached)
                }
                None => break,
            },
            Kind::Candles => match reader.candles(args.interval).await? {
                Some(chunk) => {
                    let rows = chunk
                        .iter()
                        .map(|c| candle_row(reader.series(), args.interval, c));
                    (rows.collect::<anyhow::Result<Vec<_>>>()?, None)
                }
                None => break,
            },
        };
        sink.write(&rows)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        progress.advance(rows.len() as u64, reader.progress(reached));
    }
    sink.finish()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    progress.done();
    Ok(progress.rows)
}

fn format_of(out: &Path) -> anyhow::Result<FileFormat> {
    match out.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Ok(FileFormat::Csv),
        Some(e) if e.eq_ignore_ascii_case("parquet") => Ok(FileFormat::Parquet),
        _ => Err(Failure::usage(format!(
            "cannot tell the format of {}: name it .csv or .parquet, or pass --format",
            out.display()
        ))),
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A progress line on standard error while it is a terminal.
struct Progress {
    kind: Kind,
    rows: u64,
    shown: bool,
}

impl Progress {
    fn new(kind: Kind) -> Progress {
        Progress {
            kind,
            rows: 0,
            shown: std::io::stderr().is_terminal(),
        }
    }

    fn advance(&mut self, rows: u64, fraction: f64) {
        self.rows += rows;
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rexporting {:?}: {:>3.0}%, {} rows",
                self.kind,
                fraction * 100.0,
                grouped(self.rows.into(), 0)
            );
            let _ = err.flush();
        }
    }

    fn done(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
