//! `tickmesh history` (candles), `trades` and `spread`: stored history of one market.

use std::time::Duration;

use tickmesh_domain::{CandleInterval, UtcMicros};
use tickmesh_proto::convert::{exchange_to_wire, interval_to_wire, time_to_wire};
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;

use crate::output::{Column, OutputArgs, Printer, Shape, Value, machine, shown};
use crate::range::RangeArgs;
use crate::records::{CANDLE_COLUMNS, Series, SeriesArgs, TRADE_COLUMNS, candle_row, trade_row};
use crate::server::{ServerArgs, explain};
use crate::wire::{parse_exchange, required_decimal, time};

/// Options of `tickmesh history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Candle width: 1m, 5m, 15m, 1h or 1d.
    #[arg(long, default_value = "1m")]
    interval: CandleInterval,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `tickmesh trades`.
#[derive(Debug, clap::Args)]
pub struct TradesArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Print at most this many trades, oldest first (0: every trade in the range).
    #[arg(long, default_value_t = 1000)]
    limit: u64,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `tickmesh spread`.
#[derive(Debug, clap::Args)]
pub struct SpreadArgs {
    /// The market, in any spelling.
    market: String,
    /// The exchange the spread is measured from.
    #[arg(long)]
    base: String,
    /// The exchange compared with it: spread = other close - base close.
    #[arg(long)]
    other: String,
    /// Width of the buckets compared: 1m, 5m, 15m, 1h or 1d.
    #[arg(long, default_value = "1m")]
    interval: CandleInterval,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The fields of a spread point.
pub const SPREAD_COLUMNS: &[Column] = &[
    shown("time", "TIME"),
    machine("market"),
    machine("base"),
    machine("other"),
    shown("base_close", "BASE CLOSE"),
    shown("other_close", "OTHER CLOSE"),
    shown("spread", "SPREAD"),
    shown("spread_percent", "SPREAD %"),
];

const HOUR: Duration = Duration::from_secs(3600);

/// Runs `tickmesh history`: the candles of the range (default: the last hour).
pub async fn run_history(args: HistoryArgs) -> anyhow::Result<()> {
    let mut reader = args
        .series
        .reader(HOUR, &args.server, args.output.zone())
        .await?;
    let mut printer = Printer::stdout(&args.output, CANDLE_COLUMNS, Shape::List);
    while let Some(candles) = reader.candles(args.interval).await? {
        for c in &candles {
            printer.row(candle_row(reader.series(), args.interval, c)?)?;
        }
    }
    let notes = empty_note(&printer, "candles", reader.series());
    printer.finish(Vec::new(), &notes)?;
    Ok(())
}

/// Runs `tickmesh trades`: the stored trades of the range (default: the last 10 minutes),
/// oldest first, read a page at a time.
pub async fn run_trades(args: TradesArgs) -> anyhow::Result<()> {
    let ten_minutes = Duration::from_secs(600);
    let mut reader = args
        .series
        .reader(ten_minutes, &args.server, args.output.zone())
        .await?;
    let mut printer = Printer::stdout(&args.output, TRADE_COLUMNS, Shape::List);
    let mut more = false;
    'pages: while let Some(trades) = reader.trades().await? {
        for t in &trades {
            if args.limit != 0 && printer.rows() == args.limit {
                more = true;
                break 'pages;
            }
            printer.row(trade_row(reader.series(), t)?)?;
        }
    }
    let mut notes = empty_note(&printer, "trades", reader.series());
    if more {
        notes.push(format!(
            "the first {} trades of the range; --limit 0 prints all, --from and --to narrow it",
            args.limit
        ));
    }
    printer.finish(Vec::new(), &notes)?;
    Ok(())
}

/// Runs `tickmesh spread`: other close minus base close per bucket (default: the last hour).
pub async fn run_spread(args: SpreadArgs) -> anyhow::Result<()> {
    let (start, end) = args
        .range
        .resolve(UtcMicros::now(), HOUR, args.output.zone())?;
    let (base, other) = (parse_exchange(&args.base)?, parse_exchange(&args.other)?);
    let mut client = HistoryServiceClient::new(args.server.connect().await?);
    let request = history::GetSpreadHistoryRequest {
        market: args.market.clone(),
        base_exchange: exchange_to_wire(base) as i32,
        other_exchange: exchange_to_wire(other) as i32,
        interval: interval_to_wire(args.interval) as i32,
        start_time: Some(time_to_wire(start)),
        end_time: Some(time_to_wire(end)),
    };
    let points = client
        .get_spread_history(args.server.request(request)?)
        .await
        .map_err(explain)?
        .into_inner()
        .points;
    let series = Series::new(base, &args.market, start, end);
    let mut printer = Printer::stdout(&args.output, SPREAD_COLUMNS, Shape::List);
    for p in &points {
        printer.row(vec![
            Value::time(time(p.time.as_ref())),
            Value::Text(series.label.clone()),
            Value::Text(base.to_string()),
            Value::Text(other.to_string()),
            Value::Decimal(required_decimal("base_close", &p.base_close)?),
            Value::Decimal(required_decimal("other_close", &p.other_close)?),
            Value::Decimal(required_decimal("spread", &p.spread)?),
            Value::Percent(required_decimal("spread_percent", &p.spread_percent)?),
        ])?;
    }
    let notes = if points.is_empty() {
        vec![format!(
            "no {} buckets in which both {base} and {other} traded {}",
            args.interval, series.label
        )]
    } else {
        Vec::new()
    };
    printer.finish(Vec::new(), &notes)?;
    Ok(())
}

/// The table's note when nothing was found.
fn empty_note<W: std::io::Write>(printer: &Printer<W>, what: &str, s: &Series) -> Vec<String> {
    if printer.rows() > 0 {
        return Vec::new();
    }
    vec![format!(
        "no {what} of {} on {} from {} to {}",
        s.label,
        s.exchange,
        crate::render::machine_time(s.start),
        crate::render::machine_time(s.end)
    )]
}
