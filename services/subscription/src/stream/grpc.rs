//! The gRPC edge of live streaming: `TickStreamService.StreamTicks` over a [`TickHub`].
//!
//! The request is validated into a [`TickFilter`] (a bad entry is `INVALID_ARGUMENT` naming
//! it, `markets[1]`), the client gets its own bounded buffer in the hub, and hub items become
//! `StreamTicksResponse`s. The stream ends when the client goes away (tonic drops the response
//! stream, which removes the client from the hub) or when the hub is closed on shutdown; the
//! latter ends it with `UNAVAILABLE`, so clients know to reconnect.

use std::pin::Pin;

use futures::{Stream, StreamExt as _, stream};
use tickmesh_domain::FeedGap;
use tickmesh_proto::convert::{
    ConvertError, event_to_wire, exchange_to_wire, kind_from_wire, market_from_text,
    market_to_wire, required_exchange, time_to_wire,
};
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_server::{
    TickStreamService, TickStreamServiceServer,
};
use tonic::{Request, Response, Status};
use tracing::debug;

use super::filter::TickFilter;
use super::hub::{HubError, TickHub, TickItem};

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

/// `TickStreamService` over a hub, within [`StreamLimits`].
#[derive(Debug, Clone)]
pub struct TickStreamGrpc {
    hub: TickHub,
    limits: StreamLimits,
}

impl TickStreamGrpc {
    /// A service streaming from `hub` within `limits`.
    pub fn new(hub: TickHub, limits: StreamLimits) -> TickStreamGrpc {
        TickStreamGrpc { hub, limits }
    }
}

/// The tonic service to add to a server.
pub fn server(hub: TickHub, limits: StreamLimits) -> TickStreamServiceServer<TickStreamGrpc> {
    TickStreamServiceServer::new(TickStreamGrpc::new(hub, limits))
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
        let filter = filter_from_request(request.get_ref(), &self.limits)?;
        debug!(?filter, "stream client connected");
        let ticks = self
            .hub
            .subscribe(filter, self.limits.client_capacity)
            .await
            .map_err(|e| match e {
                HubError::Closed => Status::unavailable("the server is shutting down"),
                HubError::Subscribe(e) => Status::unavailable(e.to_string()),
            })?;
        // The hub only ends a stream when it closes (shutdown, or the live bus went away), so
        // the client is told to come back rather than seeing a clean end.
        let responses = ticks
            .into_stream()
            .map(|item| Ok(item_to_wire(&item)))
            .chain(stream::once(async {
                Err(Status::unavailable(
                    "live ticks stopped: the server is shutting down",
                ))
            }));
        Ok(Response::new(Box::pin(responses)))
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

/// A hub item as the response message.
pub fn item_to_wire(item: &TickItem) -> wire::StreamTicksResponse {
    let item = match item {
        TickItem::Event(event) => Item::Event(event_to_wire(event)),
        TickItem::Lagged(missed) => Item::Lagged(wire::Lagged { missed: *missed }),
        TickItem::Gap(gap) => Item::Gap(gap_to_wire(gap)),
    };
    wire::StreamTicksResponse { item: Some(item) }
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
        let Some(Item::Gap(w)) = item_to_wire(&TickItem::Gap(gap.into())).item else {
            panic!("not a gap");
        };
        assert_eq!(w.exchange, market::Exchange::Bithumb as i32);
        assert_eq!(w.market.unwrap().base, "XRP");
        assert_eq!(w.from_time.unwrap().nanos, 500_000_000);
        assert_eq!(w.to_time.unwrap().seconds, 2);
        assert_eq!(w.backfilled_trades, 42);
        assert!(w.missed_trades_unknown);
        let lagged = item_to_wire(&TickItem::Lagged(7)).item;
        assert_eq!(lagged, Some(Item::Lagged(wire::Lagged { missed: 7 })));
    }
}
