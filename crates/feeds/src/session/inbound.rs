//! What a session does with what it receives: frames from the socket and trades from the
//! backfill task, both checked at the edge and deduplicated before they are forwarded.

use bytes::Bytes;
use tickmesh_domain::{FeedGap, MarketEvent, Payload, UtcMicros};
use tickmesh_exchanges::Untrusted;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::Instrument as _;
use tracing::{debug, info, warn};

use super::{SessionContext, SessionEnd};
use crate::config::FeedOutput;
use crate::edge::{Gate, LOG_SAMPLE, LOGGED_IN_FULL, Refusal, Verdict, refused};
use crate::protocol::Control;
use crate::recovery::Recovered;

impl SessionContext<'_> {
    /// Handles what the socket yielded; `Some` ends the session.
    pub(super) async fn on_frame(
        &mut self,
        frame: Option<Result<Message, WsError>>,
        events: &mut Vec<MarketEvent>,
        gate: &Gate,
    ) -> Option<SessionEnd> {
        let received = UtcMicros::now();
        let payload = match frame {
            None => return Some(SessionEnd::Dropped("stream ended".to_owned())),
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                // Past the hard cap the socket refused to buffer the frame and is unusable;
                // the reconnect backfills what it carried.
                let refusal = Refusal::Oversize {
                    bytes: size,
                    limit: self.config.edge.max_frame_bytes,
                };
                refused(self.status, self.config.exchange, None, &refusal);
                return Some(SessionEnd::Oversize(format!(
                    "{size} bytes, the socket reads at most {max_size}"
                )));
            }
            Some(Err(e)) => return Some(SessionEnd::dropped(e)),
            Some(Ok(Message::Binary(b))) => b,
            Some(Ok(Message::Text(t))) => Bytes::from(t),
            Some(Ok(Message::Close(frame))) => {
                return Some(match frame {
                    Some(f) => SessionEnd::server_closed(f.code, &f.reason),
                    None => SessionEnd::ServerClosed("no reason".to_owned()),
                });
            }
            Some(Ok(_)) => {
                // Pings are answered by tungstenite itself; pongs prove liveness.
                self.status.record_traffic(received);
                return None;
            }
        };
        self.handle_payload(&payload, received, events, gate).await
    }

    /// Handles one frame's payload; `Some` ends the session.
    pub(super) async fn handle_payload(
        &mut self,
        payload: &[u8],
        received: UtcMicros,
        events: &mut Vec<MarketEvent>,
        gate: &Gate,
    ) -> Option<SessionEnd> {
        let exchange = self.config.exchange;
        let limit = self.config.edge.max_frame_bytes;
        if payload.len() > limit {
            self.status.record_traffic(received);
            let refusal = Refusal::Oversize {
                bytes: payload.len(),
                limit,
            };
            refused(self.status, exchange, None, &refusal);
            return None;
        }
        events.clear();
        match self.protocol.parse(payload, received, events) {
            Ok(Control::Data) => {
                // One span per data frame, at debug level so it costs nothing unless asked for
                // (`log.filter = "info,tickmesh_feeds=debug"` with OTLP export on).
                let frame = tracing::debug_span!("feed.frame", %exchange, events = events.len());
                let forwarded = async {
                    let mut admitted = 0u64;
                    for event in events.drain(..) {
                        match gate.live(&event) {
                            Verdict::Admit => {}
                            Verdict::Leaving => continue,
                            Verdict::Refuse(refusal) => {
                                refused(self.status, exchange, Some(event.market), &refusal);
                                continue;
                            }
                        }
                        admitted += 1;
                        if let Payload::Trade(trade) = &event.payload
                            && !self.dedupe.first_sighting(
                                event.market,
                                trade.trade_id,
                                event.exchange_time,
                            )
                        {
                            self.status.record_duplicate();
                            continue;
                        }
                        if self.out.send(FeedOutput::Event(event)).await.is_err() {
                            return None;
                        }
                    }
                    Some(admitted)
                }
                .instrument(frame)
                .await;
                let Some(admitted) = forwarded else {
                    return Some(SessionEnd::DownstreamClosed);
                };
                self.status.record_message(received, admitted);
            }
            Ok(Control::Keepalive | Control::Ignored) => self.status.record_traffic(received),
            Ok(Control::Ack(id)) => {
                debug!(%exchange, request_id = id, "subscription acknowledged")
            }
            Ok(Control::Rejected {
                request_id,
                message,
            }) => {
                warn!(%exchange, ?request_id, %message, "exchange rejected a subscription request");
            }
            Ok(Control::Fatal(message)) => return Some(SessionEnd::ExchangeError(message)),
            Err(e) => {
                let count = self.status.record_parse_error();
                if count <= LOGGED_IN_FULL || count.is_multiple_of(LOG_SAMPLE) {
                    let sample = Untrusted::bytes(payload);
                    warn!(%exchange, error = %e, %sample, count, "skipping malformed frame");
                }
            }
        }
        None
    }

    /// Forwards one market's backfilled trades that pass the edge checks and were not seen
    /// yet, and reports the outage as a gap unless it was the startup window.
    pub(super) async fn apply_recovered(
        &mut self,
        recovered: Recovered,
        gate: &Gate,
    ) -> Result<(), SessionEnd> {
        let (market, announced) = (recovered.market, recovered.outage.report_gap);
        self.forward_recovered(recovered, gate).await?;
        if !announced {
            return Ok(());
        }
        let finished = FeedOutput::RecoveryFinished {
            exchange: self.config.exchange,
            market,
        };
        if self.out.send(finished).await.is_err() {
            return Err(SessionEnd::DownstreamClosed);
        }
        Ok(())
    }

    /// [`Self::apply_recovered`] before the end of the recovery is announced.
    async fn forward_recovered(
        &mut self,
        recovered: Recovered,
        gate: &Gate,
    ) -> Result<(), SessionEnd> {
        let Recovered {
            market,
            outage,
            to,
            result,
        } = recovered;
        let exchange = self.config.exchange;
        self.unrecovered.remove(&market);
        if !gate.subscribes(&market) {
            // Unsubscribed while its history was read: nobody wants these trades any more.
            return Ok(());
        }
        let (count, complete) = match result {
            Ok(found) => {
                let mut count = 0u64;
                for (time, trade) in found.trades {
                    let id = trade.trade_id;
                    let event = MarketEvent {
                        exchange,
                        market,
                        exchange_time: time,
                        received_time: UtcMicros::now(),
                        payload: Payload::Trade(trade),
                        raw: None,
                    };
                    if let Err(refusal) = gate.backfilled(&event) {
                        refused(self.status, exchange, Some(market), &refusal);
                        continue;
                    }
                    if !self.dedupe.first_sighting(market, id, time) {
                        continue;
                    }
                    count += 1;
                    if self.out.send(FeedOutput::Event(event)).await.is_err() {
                        return Err(SessionEnd::DownstreamClosed);
                    }
                }
                (count, found.complete)
            }
            Err(e) => {
                warn!(%exchange, %market, error = %e, "trade backfill failed");
                (0, false)
            }
        };
        self.status.record_events(to, count);
        if !outage.report_gap {
            info!(%exchange, %market, recovered = count, "recovered recent trades at startup");
            return Ok(());
        }
        if outage.gap_from.is_some() && count == 0 && complete {
            // Taken over from another owner and no trade happened in between: no ticker
            // changed either, and the first book after subscribing is a full snapshot, so
            // nothing was missed and no gap is reported.
            info!(%exchange, %market, "took the market over with nothing missed");
            return Ok(());
        }
        self.status.record_gap(count);
        let gap = FeedGap {
            exchange,
            market,
            from: outage.gap_from.unwrap_or(outage.since.time),
            to,
            backfilled_trades: count,
            complete,
        };
        info!(%exchange, %market, recovered = count, complete, "reported feed gap after reconnect");
        if self.out.send(FeedOutput::Gap(gap)).await.is_err() {
            return Err(SessionEnd::DownstreamClosed);
        }
        Ok(())
    }
}
