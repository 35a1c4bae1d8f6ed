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

/// `TickStreamService` over a hub, giving each client a buffer of `per_client_capacity` events.
#[derive(Debug, Clone)]
pub struct TickStreamGrpc {
    hub: TickHub,
    per_client_capacity: usize,
}

impl TickStreamGrpc {
    /// A service streaming from `hub`, buffering at most `per_client_capacity` events per client.
    pub fn new(hub: TickHub, per_client_capacity: usize) -> TickStreamGrpc {
        TickStreamGrpc {
            hub,
            per_client_capacity,
        }
    }
}

/// The tonic service to add to a server.
pub fn server(hub: TickHub, per_client_capacity: usize) -> TickStreamServiceServer<TickStreamGrpc> {
    TickStreamServiceServer::new(TickStreamGrpc::new(hub, per_client_capacity))
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
        let filter = filter_from_request(request.get_ref()).map_err(ConvertError::into_status)?;
        debug!(?filter, "stream client connected");
        let ticks = self
            .hub
            .subscribe(filter, self.per_client_capacity)
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

/// Validates a request into a filter, naming the first bad entry (`exchanges[0]`,
/// `markets[2]`, `kinds[1]`). Markets are accepted in any spelling [`market_from_text`]
/// knows; unspecified exchanges and kinds are rejected rather than read as "all", which an
/// empty list already means.
pub fn filter_from_request(request: &wire::StreamTicksRequest) -> Result<TickFilter, ConvertError> {
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

    fn request(exchanges: &[i32], markets: &[&str], kinds: &[i32]) -> wire::StreamTicksRequest {
        wire::StreamTicksRequest {
            exchanges: exchanges.to_vec(),
            markets: markets.iter().map(|m| (*m).to_owned()).collect(),
            kinds: kinds.to_vec(),
        }
    }

    #[test]
    fn requests_become_filters_in_any_market_spelling() {
        let f = filter_from_request(&request(
            &[
                market::Exchange::Upbit as i32,
                market::Exchange::Korbit as i32,
            ],
            &["KRW-BTC", "btc_krw", "ETH"],
            &[market::EventKind::Trade as i32],
        ))
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
            filter_from_request(&request(&[], &[], &[])).unwrap(),
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
            let status = filter_from_request(&req).unwrap_err().into_status();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().contains(field), "{}", status.message());
        }
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
        let Some(Item::Gap(w)) = item_to_wire(&TickItem::Gap(gap)).item else {
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
