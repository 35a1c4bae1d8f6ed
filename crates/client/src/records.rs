//! Stored trades, tickers and candles as records, read page by page or chunk by chunk, so a
//! command or an export of any range holds one page at a time.

use std::time::Duration;

use tickmesh_domain::{CandleInterval, Exchange, UtcMicros};
use tickmesh_proto::convert::{exchange_to_wire, interval_to_wire, time_to_wire};
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::market::v1 as market;
use tonic::transport::Channel;

use crate::output::{Column, Value, machine, shown};
use crate::range::RangeArgs;
use crate::render::Zone;
use crate::server::{ServerArgs, explain};
use crate::wire::{decimal, parse_exchange, required_decimal, time};

/// The largest page the server hands out.
pub const PAGE_SIZE: u32 = 1000;

/// The fields of a trade.
pub const TRADE_COLUMNS: &[Column] = &[
    shown("time", "TIME"),
    shown("exchange", "EXCHANGE"),
    machine("market"),
    shown("trade_id", "TRADE ID"),
    shown("price", "PRICE"),
    shown("size", "SIZE"),
    shown("side", "SIDE"),
    machine("received_time"),
];

/// The fields of a ticker.
pub const TICKER_COLUMNS: &[Column] = &[
    shown("time", "TIME"),
    shown("exchange", "EXCHANGE"),
    machine("market"),
    shown("last", "LAST"),
    machine("open"),
    machine("high"),
    machine("low"),
    machine("prev_close"),
    shown("volume_24h", "24H VOLUME"),
    machine("quote_volume_24h"),
    shown("best_bid", "BID"),
    shown("best_ask", "ASK"),
    machine("received_time"),
];

/// The fields of a candle.
pub const CANDLE_COLUMNS: &[Column] = &[
    shown("open_time", "OPEN TIME"),
    machine("exchange"),
    machine("market"),
    machine("interval"),
    shown("open", "OPEN"),
    shown("high", "HIGH"),
    shown("low", "LOW"),
    shown("close", "CLOSE"),
    shown("volume", "VOLUME"),
    machine("quote_volume"),
    shown("trade_count", "TRADES"),
];

/// The market, exchange and range a history command reads.
#[derive(Debug, Clone, clap::Args)]
pub struct SeriesArgs {
    /// The market, in any spelling.
    pub market: String,
    /// The exchange.
    #[arg(long, default_value = "upbit")]
    pub exchange: String,
    #[command(flatten)]
    pub range: RangeArgs,
}

impl SeriesArgs {
    /// A reader of the series these arguments name (the last `default_since` when they give
    /// no start), connected to the server.
    pub async fn reader(
        &self,
        default_since: Duration,
        server: &ServerArgs,
        zone: Zone,
    ) -> anyhow::Result<Reader> {
        let (start, end) = self.range.resolve(UtcMicros::now(), default_since, zone)?;
        let series = Series::new(parse_exchange(&self.exchange)?, &self.market, start, end);
        Ok(Reader::new(server.connect().await?, server.clone(), series))
    }
}

/// What every stored record of one series shares.
#[derive(Debug, Clone)]
pub struct Series {
    /// The exchange.
    pub exchange: Exchange,
    /// The market as the user spelled it (the server reads every spelling).
    pub market: String,
    /// The market in canonical form (`BTC/KRW`) where this client reads the spelling, for
    /// the records.
    pub label: String,
    /// `[start, end)`.
    pub start: UtcMicros,
    /// Exclusive end.
    pub end: UtcMicros,
}

impl Series {
    /// `market` on `exchange` over `[start, end)`.
    pub fn new(exchange: Exchange, market: &str, start: UtcMicros, end: UtcMicros) -> Series {
        let label = market
            .parse::<tickmesh_domain::Market>()
            .map_or_else(|_| market.to_owned(), |m| m.to_string());
        Series {
            exchange,
            market: market.to_owned(),
            label,
            start,
            end,
        }
    }
}

/// A stored trade as a record of [`TRADE_COLUMNS`].
pub fn trade_row(series: &Series, stored: &history::StoredTrade) -> anyhow::Result<Vec<Value>> {
    let trade = stored.trade.clone().unwrap_or_default();
    let side = match market::Side::try_from(trade.side) {
        Ok(market::Side::Buy) => "buy",
        Ok(market::Side::Sell) => "sell",
        _ => "unknown",
    };
    Ok(vec![
        Value::time(time(stored.exchange_time.as_ref())),
        Value::Text(series.exchange.to_string()),
        Value::Text(series.label.clone()),
        Value::Id(trade.trade_id),
        Value::Decimal(required_decimal("price", &trade.price)?),
        Value::Decimal(required_decimal("size", &trade.size)?),
        Value::Text(side.to_owned()),
        Value::time(time(stored.received_time.as_ref())),
    ])
}

/// A stored ticker as a record of [`TICKER_COLUMNS`].
pub fn ticker_row(series: &Series, stored: &history::StoredTicker) -> anyhow::Result<Vec<Value>> {
    let t = stored.ticker.clone().unwrap_or_default();
    let d = |field: &str, text: &str| decimal(field, text).map(Value::decimal);
    Ok(vec![
        Value::time(time(stored.exchange_time.as_ref())),
        Value::Text(series.exchange.to_string()),
        Value::Text(series.label.clone()),
        Value::Decimal(required_decimal("last", &t.last)?),
        d("open", &t.open)?,
        d("high", &t.high)?,
        d("low", &t.low)?,
        d("prev_close", &t.prev_close)?,
        d("volume_24h", &t.volume_24h)?,
        d("quote_volume_24h", &t.quote_volume_24h)?,
        d("best_bid", &t.best_bid)?,
        d("best_ask", &t.best_ask)?,
        Value::time(time(stored.received_time.as_ref())),
    ])
}

/// A candle as a record of [`CANDLE_COLUMNS`].
pub fn candle_row(
    series: &Series,
    interval: CandleInterval,
    c: &history::Candle,
) -> anyhow::Result<Vec<Value>> {
    Ok(vec![
        Value::time(time(c.open_time.as_ref())),
        Value::Text(series.exchange.to_string()),
        Value::Text(series.label.clone()),
        Value::Text(interval.to_string()),
        Value::Decimal(required_decimal("open", &c.open)?),
        Value::Decimal(required_decimal("high", &c.high)?),
        Value::Decimal(required_decimal("low", &c.low)?),
        Value::Decimal(required_decimal("close", &c.close)?),
        Value::Decimal(required_decimal("volume", &c.volume)?),
        Value::Decimal(required_decimal("quote_volume", &c.quote_volume)?),
        Value::Count(c.trade_count),
    ])
}

/// Reads a series' stored records page by page (trades, tickers) or chunk by chunk
/// (candles), each call one request.
#[derive(Debug)]
pub struct Reader {
    client: HistoryServiceClient<Channel>,
    server: ServerArgs,
    series: Series,
    /// The next page token; `None` once the last page was read.
    token: Option<String>,
    /// Where the next candle chunk starts.
    cursor: UtcMicros,
}

/// Minutes of one-minute rows one candle request covers at most, well inside the server's
/// per-call row limit, so an export of any range never meets it.
const CANDLE_CHUNK_MINUTES: i64 = 100_000;

impl Reader {
    /// A reader of `series` over `channel`.
    pub fn new(channel: Channel, server: ServerArgs, series: Series) -> Reader {
        let cursor = series.start;
        Reader {
            client: HistoryServiceClient::new(channel),
            server,
            series,
            token: Some(String::new()),
            cursor,
        }
    }

    /// The series read.
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// The next page of trades, `None` after the last.
    pub async fn trades(&mut self) -> anyhow::Result<Option<Vec<history::StoredTrade>>> {
        let Some(token) = self.token.take() else {
            return Ok(None);
        };
        let s = &self.series;
        let request = history::ListTradesRequest {
            exchange: exchange_to_wire(s.exchange) as i32,
            market: s.market.clone(),
            start_time: Some(time_to_wire(s.start)),
            end_time: Some(time_to_wire(s.end)),
            page_size: PAGE_SIZE,
            page_token: token,
        };
        let page = self
            .client
            .list_trades(self.server.request(request)?)
            .await
            .map_err(explain)?
            .into_inner();
        self.token = Some(page.next_page_token).filter(|t| !t.is_empty());
        Ok(Some(page.trades))
    }

    /// The next page of tickers, `None` after the last.
    pub async fn tickers(&mut self) -> anyhow::Result<Option<Vec<history::StoredTicker>>> {
        let Some(token) = self.token.take() else {
            return Ok(None);
        };
        let s = &self.series;
        let request = history::ListTickersRequest {
            exchange: exchange_to_wire(s.exchange) as i32,
            market: s.market.clone(),
            start_time: Some(time_to_wire(s.start)),
            end_time: Some(time_to_wire(s.end)),
            page_size: PAGE_SIZE,
            page_token: token,
        };
        let page = self
            .client
            .list_tickers(self.server.request(request)?)
            .await
            .map_err(explain)?
            .into_inner();
        self.token = Some(page.next_page_token).filter(|t| !t.is_empty());
        Ok(Some(page.tickers))
    }

    /// The candles of the next chunk of the range, `None` after the last. Chunk edges fall
    /// on whole intervals, so no candle is split between two requests.
    pub async fn candles(
        &mut self,
        interval: CandleInterval,
    ) -> anyhow::Result<Option<Vec<history::Candle>>> {
        let start = self.cursor;
        if start >= self.series.end {
            return Ok(None);
        }
        let width = micros(interval.duration());
        let span = (CANDLE_CHUNK_MINUTES * 60_000_000 / width).max(1) * width;
        let edge = (start.as_micros().div_euclid(width) * width).saturating_add(span);
        let end = UtcMicros(edge.min(self.series.end.as_micros()));
        let s = &self.series;
        let request = history::ListCandlesRequest {
            exchange: exchange_to_wire(s.exchange) as i32,
            market: s.market.clone(),
            interval: interval_to_wire(interval) as i32,
            start_time: Some(time_to_wire(start)),
            end_time: Some(time_to_wire(end)),
        };
        let candles = self
            .client
            .list_candles(self.server.request(request)?)
            .await
            .map_err(explain)?
            .into_inner()
            .candles;
        self.cursor = end;
        Ok(Some(candles))
    }

    /// How far through the range the reader is, from 0 to 1, judged by `reached`, the time
    /// of the last record read.
    pub fn progress(&self, reached: Option<UtcMicros>) -> f64 {
        let s = &self.series;
        let at = reached.unwrap_or(self.cursor).as_micros();
        let whole = (s.end.as_micros() - s.start.as_micros()).max(1) as f64;
        ((at - s.start.as_micros()) as f64 / whole).clamp(0.0, 1.0)
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
