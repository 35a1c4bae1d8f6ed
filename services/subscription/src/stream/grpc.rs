//! The gRPC edge of live streaming: `TickStreamService.StreamTicks` over a [`TickHub`].
//!
//! The request is validated into a [`TickFilter`] (a bad entry is `INVALID_ARGUMENT` naming
//! it, `markets[1]`) and a start point (`resume_after`, `start_time`), the client gets a
//! [`Session`] (a replay when it asked for one, then its own bounded buffer in the hub), and
//! session items become `StreamTicksResponse`s with their cursors. The stream ends when the
//! client goes away (tonic drops the response stream, which removes the client from the hub)
//! or when the hub is closed on shutdown; the latter ends it with `UNAVAILABLE`, so clients
//! know to reconnect, and a replay that cannot read history ends it with `UNAVAILABLE` naming
//! the cursor to resume from.

use std::pin::Pin;

use futures::{Stream, stream};
use tickmesh_bus::Position;
use tickmesh_domain::{FeedGap, UtcMicros};
use tickmesh_proto::convert::{
    ConvertError, event_to_wire, exchange_to_wire, kind_from_wire, market_from_text,
    market_to_wire, required_exchange, time_from_wire, time_to_wire,
};
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_server::{
    TickStreamService, TickStreamServiceServer,
};
use tonic::{Request, Response, Status};
use tracing::debug;

use super::filter::TickFilter;
use super::hub::{HubError, TickHub};
use super::replay::{ReplayFrom, Replayer};
use super::session::{Session, SessionError, SessionItem};

/// What one `StreamTicks` client may ask for and hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Events buffered for a client before it starts losing them to lagged markers.
    pub client_capacity: usize,
    /// Markets one request may list: each is a filter the client holds for the life of its
    /// stream, matched against every event.
    pub max_markets: usize,
}

impl StreamLimits {
    /// Markets a request may list unless configured otherwise.
    pub const DEFAULT_MAX_MARKETS: usize = 256;
    /// Events buffered per client unless configured otherwise: 100 ms of the whole feed at
    /// 10,000 events/s, and 24 KiB (24 bytes an item) for a client that stops reading, so the
    /// thousands of streams the server admits stay within a few hundred MiB.
    pub const DEFAULT_CLIENT_CAPACITY: usize = 1024;
    /// Exchanges or kinds a request may list: there are three exchanges and three kinds, so
    /// more entries than this are a broken or hostile client.
    pub const MAX_ENUM_ENTRIES: usize = 16;

    /// Limits with `client_capacity` and the default market cap.
    pub fn new(client_capacity: usize) -> StreamLimits {
        StreamLimits {
            client_capacity,
            max_markets: Self::DEFAULT_MAX_MARKETS,
        }
    }
}

/// `TickStreamService` over a hub, within [`StreamLimits`], replaying history through a
/// [`Replayer`] when it has one.
#[derive(Debug, Clone)]
pub struct TickStreamGrpc {
    hub: TickHub,
    limits: StreamLimits,
    replayer: Option<Replayer>,
}

impl TickStreamGrpc {
    /// A service streaming from `hub` within `limits`; without a `replayer`, requests to
    /// resume are refused.
    pub fn new(hub: TickHub, limits: StreamLimits, replayer: Option<Replayer>) -> TickStreamGrpc {
        TickStreamGrpc {
            hub,
            limits,
            replayer,
        }
    }

    async fn session(&self, request: &wire::StreamTicksRequest) -> Result<Session, Status> {
        let filter = filter_from_request(request, &self.limits)?;
        let from = start_from_request(request)?;
        debug!(?filter, ?from, "stream client connected");
        let capacity = self.limits.client_capacity;
        let Some(from) = from else {
            return Session::live(&self.hub, filter, capacity)
                .await
                .map_err(hub_status);
        };
        let Some(replayer) = &self.replayer else {
            return Err(Status::failed_precondition(
                "this server keeps no history to replay: connect without resume_after and \
                 start_time",
            ));
        };
        let replay = replayer.replay(filter.clone(), from);
        Ok(Session::resume(
            &self.hub,
            filter,
            capacity,
            replay,
            replayer.config().rate,
        ))
    }
}

/// The tonic service to add to a server.
pub fn server(
    hub: TickHub,
    limits: StreamLimits,
    replayer: Option<Replayer>,
) -> TickStreamServiceServer<TickStreamGrpc> {
    TickStreamServiceServer::new(TickStreamGrpc::new(hub, limits, replayer))
}

fn hub_status(e: HubError) -> Status {
    match e {
        HubError::Closed => Status::unavailable("the server is shutting down"),
        HubError::Subscribe(e) => Status::unavailable(e.to_string()),
    }
}

/// The response stream of `StreamTicks`.
pub type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<wire::StreamTicksResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TickStreamService for TickStreamGrpc {
    type StreamTicksStream = ResponseStream;

    async fn stream_ticks(
        &self,
        request: Request<wire::StreamTicksRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let session = self.session(request.get_ref()).await?;
        // The hub only ends a stream when it closes (shutdown, or the live bus went away), so
        // the client is told to come back rather than seeing a clean end.
        let responses = stream::unfold(Some(session), |session| async move {
            let mut session = session?;
            match session.next().await {
                Some(Ok((item, cursor))) => Some((Ok(item_to_wire(&item, cursor)), Some(session))),
                Some(Err(e)) => Some((Err(session_status(&e, session.cursor())), None)),
                None => Some((
                    Err(Status::unavailable(
                        "live ticks stopped: the server is shutting down",
                    )),
                    None,
                )),
            }
        });
        Ok(Response::new(Box::pin(responses)))
    }
}

/// The status that ends a stream whose session failed, naming where to resume.
fn session_status(error: &SessionError, cursor: Option<Position>) -> Status {
    let chain = tickmesh_telemetry::ErrorChain(error).to_string();
    match cursor {
        Some(cursor) => Status::unavailable(format!(
            "{chain}; reconnect with resume_after {cursor} to continue"
        )),
        None => Status::unavailable(format!("{chain}; reconnect to try again")),
    }
}

/// How far ahead of this server's clock a cursor may be (the stream's server clock may run a
/// little ahead of ours).
const FUTURE_CURSOR_SLACK_MS: u64 = 60_000;

/// Where a request asks to start: after `resume_after`, from `start_time`, or live (`None`).
/// A cursor that is not one is `INVALID_ARGUMENT`.
pub fn start_from_request(
    request: &wire::StreamTicksRequest,
) -> Result<Option<ReplayFrom>, Status> {
    if !request.resume_after.is_empty() {
        let position: Position = request
            .resume_after
            .parse()
            .map_err(|e| Status::invalid_argument(format!("resume_after: {e}")))?;
        // A stream only hands out positions up to its server's clock: one well ahead of ours
        // came from somewhere else, and would hide every event until that time.
        let now_ms = u64::try_from(UtcMicros::now().as_millis()).unwrap_or(0);
        if position.ms > now_ms.saturating_add(FUTURE_CURSOR_SLACK_MS) {
            return Err(Status::invalid_argument(format!(
                "resume_after: cursor {position} is ahead of this server's clock, so no stream \
                 of this deployment gave it; resume from a cursor a stream item carried, or use \
                 start_time"
            )));
        }
        return Ok(Some(ReplayFrom::After(position)));
    }
    match &request.start_time {
        None => Ok(None),
        Some(time) => {
            let time =
                time_from_wire("start_time", Some(time)).map_err(ConvertError::into_status)?;
            Ok(Some(ReplayFrom::Since(time)))
        }
    }
}

/// Validates a request into a filter: `INVALID_ARGUMENT` for a list longer than `limits`
/// allow (naming the limit) or for the first bad entry (`exchanges[0]`, `markets[2]`,
/// `kinds[1]`). Markets are accepted in any spelling [`market_from_text`] knows; unspecified
/// exchanges and kinds are rejected rather than read as "all", which an empty list already
/// means.
pub fn filter_from_request(
    request: &wire::StreamTicksRequest,
    limits: &StreamLimits,
) -> Result<TickFilter, Status> {
    for (field, len, max) in [
        ("markets", request.markets.len(), limits.max_markets),
        (
            "exchanges",
            request.exchanges.len(),
            StreamLimits::MAX_ENUM_ENTRIES,
        ),
        ("kinds", request.kinds.len(), StreamLimits::MAX_ENUM_ENTRIES),
    ] {
        if len > max {
            return Err(Status::invalid_argument(format!(
                "{field}: {len} entries, at most {max} allowed (subscription.stream_max_markets \
                 sets the markets limit); open several streams, or leave the list empty for all"
            )));
        }
    }
    filter_entries(request).map_err(ConvertError::into_status)
}

fn filter_entries(request: &wire::StreamTicksRequest) -> Result<TickFilter, ConvertError> {
    let exchanges = request
        .exchanges
        .iter()
        .enumerate()
        .map(|(i, &v)| required_exchange(&format!("exchanges[{i}]"), v))
        .collect::<Result<_, _>>()?;
    let markets = request
        .markets
        .iter()
        .enumerate()
        .map(|(i, text)| market_from_text(&format!("markets[{i}]"), text))
        .collect::<Result<_, _>>()?;
    let kinds = request
        .kinds
        .iter()
        .enumerate()
        .map(|(i, &v)| kind_from_wire(&format!("kinds[{i}]"), v))
        .collect::<Result<_, _>>()?;
    Ok(TickFilter {
        exchanges,
        markets,
        kinds,
    })
}

/// A session item as the response message, carrying `cursor`.
pub fn item_to_wire(item: &SessionItem, cursor: Option<Position>) -> wire::StreamTicksResponse {
    let text = |p: Option<Position>| p.map(|p| p.to_string()).unwrap_or_default();
    let mut replayed = false;
    let item = match item {
        SessionItem::Live(event) => Item::Event(event_to_wire(&event.event)),
        SessionItem::Replayed(_, event) => {
            replayed = true;
            Item::Event(event_to_wire(event))
        }
        SessionItem::Lagged {
            missed,
            after,
            before,
        } => Item::Lagged(wire::Lagged {
            missed: *missed,
            after_cursor: text(*after),
            before_cursor: text(*before),
        }),
        SessionItem::Gap(gap) => Item::Gap(gap_to_wire(gap)),
        SessionItem::NotRetained { after, before } => {
            // Part of the replay: what history could not give.
            replayed = true;
            Item::Gap(wire::Gap {
                from_time: Some(time_to_wire(position_time(*after))),
                to_time: Some(time_to_wire(position_time(*before))),
                missed_trades_unknown: true,
                cause: wire::GapCause::NotRetained as i32,
                after_cursor: after.to_string(),
                before_cursor: before.to_string(),
                ..wire::Gap::default()
            })
        }
    };
    wire::StreamTicksResponse {
        item: Some(item),
        cursor: text(cursor),
        replayed,
    }
}

/// The stream time of a position.
fn position_time(position: Position) -> UtcMicros {
    UtcMicros(i64::try_from(position.ms.saturating_mul(1000)).unwrap_or(i64::MAX))
}

/// A feed outage as the `Gap` message; `missed_trades_unknown` is set when backfill did not
/// reach back to the start of the outage.
pub fn gap_to_wire(gap: &FeedGap) -> wire::Gap {
    wire::Gap {
        exchange: exchange_to_wire(gap.exchange) as i32,
        market: Some(market_to_wire(gap.market)),
        from_time: Some(time_to_wire(gap.from)),
        to_time: Some(time_to_wire(gap.to)),
        backfilled_trades: gap.backfilled_trades,
        missed_trades_unknown: !gap.complete,
        cause: wire::GapCause::FeedOutage as i32,
        ..wire::Gap::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tickmesh_domain::{EventKind, Exchange, Market, UtcMicros};
    use tickmesh_proto::market::v1 as market;

    use super::*;

    const LIMITS: StreamLimits = StreamLimits {
        client_capacity: 8,
        max_markets: 3,
    };

    fn request(exchanges: &[i32], markets: &[&str], kinds: &[i32]) -> wire::StreamTicksRequest {
        wire::StreamTicksRequest {
            exchanges: exchanges.to_vec(),
            markets: markets.iter().map(|m| (*m).to_owned()).collect(),
            kinds: kinds.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn requests_become_filters_in_any_market_spelling() {
        let f = filter_from_request(
            &request(
                &[
                    market::Exchange::Upbit as i32,
                    market::Exchange::Korbit as i32,
                ],
                &["KRW-BTC", "btc_krw", "ETH"],
                &[market::EventKind::Trade as i32],
            ),
            &LIMITS,
        )
        .unwrap();
        assert_eq!(f.exchanges.len(), 2);
        assert!(f.exchanges.contains(&Exchange::Korbit));
        assert_eq!(
            f.markets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["BTC/KRW", "ETH/KRW"]
        );
        assert_eq!(f.kinds.into_iter().collect::<Vec<_>>(), [EventKind::Trade]);
        assert_eq!(
            filter_from_request(&request(&[], &[], &[]), &LIMITS).unwrap(),
            TickFilter::all()
        );
    }

    #[test]
    fn bad_entries_are_named() {
        for (req, field) in [
            (request(&[], &["BTC", "???"], &[]), "markets[1]"),
            (request(&[1, 0], &[], &[]), "exchanges[1]"),
            (request(&[9], &[], &[]), "exchanges[0]"),
            (request(&[], &[], &[2, 2, 7]), "kinds[2]"),
            (request(&[], &[], &[0]), "kinds[0]"),
        ] {
            let status = filter_from_request(&req, &LIMITS).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().contains(field), "{}", status.message());
        }
    }

    #[test]
    fn lists_over_their_limit_are_refused_naming_it() {
        let markets = ["BTC", "ETH", "XRP", "SOL"];
        for (req, field) in [
            (request(&[], &markets, &[]), "markets: 4 entries, at most 3"),
            (
                request(&[1; 17], &[], &[]),
                "exchanges: 17 entries, at most 16",
            ),
            (request(&[], &[], &[1; 17]), "kinds: 17 entries, at most 16"),
        ] {
            let status = filter_from_request(&req, &LIMITS).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().contains(field), "{}", status.message());
        }
        // At the limit is fine.
        let f = filter_from_request(&request(&[], &markets[..3], &[]), &LIMITS).unwrap();
        assert_eq!(f.markets.len(), 3);
    }

    #[test]
    fn gaps_say_when_trades_may_be_missing() {
        let gap = FeedGap {
            exchange: Exchange::Bithumb,
            market: Market::parse("XRP").unwrap(),
            from: UtcMicros(1_500_000),
            to: UtcMicros(2_000_001),
            backfilled_trades: 42,
            complete: false,
        };
        let at = Some(Position { ms: 9, seq: 1 });
        let response = item_to_wire(&SessionItem::Gap(gap.into()), at);
        assert_eq!(response.cursor, "9-1");
        let Some(Item::Gap(w)) = response.item else {
            panic!("not a gap");
        };
        assert_eq!(w.cause, wire::GapCause::FeedOutage as i32);
        assert_eq!(w.exchange, market::Exchange::Bithumb as i32);
        assert_eq!(w.market.unwrap().base, "XRP");
        assert_eq!(w.from_time.unwrap().nanos, 500_000_000);
        assert_eq!(w.to_time.unwrap().seconds, 2);
        assert_eq!(w.backfilled_trades, 42);
        assert!(w.missed_trades_unknown);
        let lagged = SessionItem::Lagged {
            missed: 7,
            after: at,
            before: None,
        };
        let wanted = wire::Lagged {
            missed: 7,
            after_cursor: "9-1".to_owned(),
            before_cursor: String::new(),
        };
        assert_eq!(item_to_wire(&lagged, at).item, Some(Item::Lagged(wanted)));
    }

    #[test]
    fn not_retained_stretches_carry_their_cursors_and_stream_times() {
        let after = Position { ms: 1_500, seq: 3 };
        let before = Position { ms: 2_000, seq: 0 };
        let response = item_to_wire(&SessionItem::NotRetained { after, before }, Some(after));
        let Some(Item::Gap(w)) = response.item else {
            panic!("not a gap");
        };
        assert_eq!(w.cause, wire::GapCause::NotRetained as i32);
        assert_eq!(
            (w.after_cursor.as_str(), w.before_cursor.as_str()),
            ("1500-3", "2000-0")
        );
        assert_eq!(w.from_time.unwrap().nanos, 500_000_000);
        assert_eq!(w.to_time.unwrap().seconds, 2);
        assert!(w.exchange == 0 && w.market.is_none());
    }

    #[test]
    fn start_points_are_read_from_the_request() {
        let mut r = request(&[], &[], &[]);
        assert_eq!(start_from_request(&r).unwrap(), None);
        r.start_time = Some(time_to_wire(UtcMicros(5_000_000)));
        assert_eq!(
            start_from_request(&r).unwrap(),
            Some(ReplayFrom::Since(UtcMicros(5_000_000)))
        );
        r.resume_after = "12-3".to_owned();
        assert_eq!(
            start_from_request(&r).unwrap(),
            Some(ReplayFrom::After(Position { ms: 12, seq: 3 }))
        );
        let ahead = UtcMicros::now().as_millis() + 3_600_000;
        r.resume_after = format!("{ahead}-0");
        let status = start_from_request(&r).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().contains("ahead of this server's clock"),
            "{}",
            status.message()
        );
        r.resume_after = "12".to_owned();
        let status = start_from_request(&r).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().starts_with("resume_after: "),
            "{}",
            status.message()
        );
    }
}
