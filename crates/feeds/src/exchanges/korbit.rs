//! Korbit: incremental subscribe and unsubscribe requests, each acknowledged; the protocol
//! remembers what every outstanding request id asked for, so an ack or a rejection is matched
//! to the markets it concerns.

use std::collections::{BTreeMap, BTreeSet};

use tickmesh_domain::{Exchange, Market, MarketEvent, UtcMicros};
use tickmesh_exchanges::korbit::{self, Method};

use crate::protocol::{Control, FrameError, WireProtocol};

/// Requests awaiting an ack are bounded: an exchange that never answers must not grow memory.
const MAX_PENDING: usize = 1024;

/// The Korbit (Digital X) dialect.
#[derive(Debug)]
pub struct KorbitProtocol {
    next_id: u64,
    pending: BTreeMap<u64, (Method, BTreeSet<Market>)>,
}

impl Default for KorbitProtocol {
    fn default() -> Self {
        Self::new()
    }
}

impl KorbitProtocol {
    /// A fresh dialect state.
    pub fn new() -> Self {
        Self {
            next_id: 1,
            pending: BTreeMap::new(),
        }
    }

    /// Request ids sent and not yet acknowledged or rejected.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn request(&mut self, method: Method, markets: BTreeSet<Market>) -> String {
        let (text, ids) = korbit::subscription_request(method, self.next_id, &markets);
        self.next_id += ids.len() as u64;
        for id in ids {
            if self.pending.len() >= MAX_PENDING
                && let Some(oldest) = self.pending.keys().next().copied()
            {
                self.pending.remove(&oldest);
            }
            self.pending.insert(id, (method, markets.clone()));
        }
        text
    }
}

impl WireProtocol for KorbitProtocol {
    fn exchange(&self) -> Exchange {
        Exchange::Korbit
    }

    fn reset(&mut self) {
        // Acks of the old connection will never come.
        self.pending.clear();
    }

    fn resubscribe(
        &mut self,
        current: &BTreeSet<Market>,
        desired: &BTreeSet<Market>,
    ) -> Vec<String> {
        let removed: BTreeSet<Market> = current.difference(desired).copied().collect();
        let added: BTreeSet<Market> = desired.difference(current).copied().collect();
        let mut requests = Vec::new();
        if !removed.is_empty() {
            requests.push(self.request(Method::Unsubscribe, removed));
        }
        if !added.is_empty() {
            requests.push(self.request(Method::Subscribe, added));
        }
        requests
    }

    fn keepalive(&self) -> Option<&'static str> {
        // Korbit pings the client itself; protocol pings from the session suffice.
        None
    }

    fn subscription_confirmed(&self) -> bool {
        self.pending.is_empty()
    }

    fn parse(
        &mut self,
        payload: &[u8],
        received: UtcMicros,
        out: &mut Vec<MarketEvent>,
    ) -> Result<Control, FrameError> {
        let control = korbit::parse_frame(payload, received, false, out)?;
        Ok(match control {
            Control::Ack(id) => {
                self.pending.remove(&id);
                Control::Ack(id)
            }
            Control::Rejected {
                request_id: Some(id),
                message,
            } => {
                let message = match self.pending.remove(&id) {
                    Some((method, markets)) => {
                        let list: Vec<String> = markets.iter().map(ToString::to_string).collect();
                        format!("{method:?} of {} rejected: {message}", list.join(", "))
                    }
                    None => message,
                };
                Control::Rejected {
                    request_id: Some(id),
                    message,
                }
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<Market> {
        names.iter().map(|n| Market::parse(n).unwrap()).collect()
    }

    #[test]
    fn changes_become_incremental_requests_matched_to_acks() {
        let mut p = KorbitProtocol::new();
        let first = p.resubscribe(&set(&[]), &set(&["BTC", "ETH"]));
        assert_eq!(first.len(), 1);
        assert!(first[0].contains(r#""method":"subscribe""#) && first[0].contains("eth_krw"));
        assert_eq!(p.pending(), 3);

        let change = p.resubscribe(&set(&["BTC", "ETH"]), &set(&["ETH", "XRP"]));
        assert_eq!(change.len(), 2);
        assert!(change[0].contains(r#""method":"unsubscribe""#) && change[0].contains("btc_krw"));
        assert!(!change[0].contains("eth_krw"));
        assert!(change[1].contains(r#""method":"subscribe""#) && change[1].contains("xrp_krw"));

        let mut out = Vec::new();
        assert_eq!(
            p.parse(
                br#"{"status":"success","requestId":1}"#,
                UtcMicros(0),
                &mut out
            )
            .unwrap(),
            Control::Ack(1)
        );
        let rejected = p
            .parse(br#"{"status":"fail","code":"INVALID_SYMBOL","message":"The symbol does not exist (xrp_krw)","requestId":7}"#, UtcMicros(0), &mut out)
            .unwrap();
        let Control::Rejected { message, .. } = rejected else {
            panic!("{rejected:?}")
        };
        assert!(
            message.starts_with("Subscribe of XRP/KRW rejected: INVALID_SYMBOL"),
            "{message}"
        );
        assert_eq!(p.pending(), 7);
        p.reset();
        assert_eq!(p.pending(), 0);
    }
}
