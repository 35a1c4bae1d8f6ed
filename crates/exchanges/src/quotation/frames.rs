//! Borrowed wire types of the quotation dialect. One struct takes every frame kind and both
//! formats (DEFAULT keys with their SIMPLE aliases), so a frame is deserialised in one pass
//! and routed afterwards; numbers stay raw JSON text until converted exactly.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Any quotation frame: ticker, trade, order book, `{"status":"UP"}`, `{"error":{..}}` or a
/// `LIST_SUBSCRIPTIONS` reply. Unknown keys are skipped.
#[derive(Debug, Deserialize)]
pub(crate) struct Frame<'a> {
    #[serde(rename = "type", alias = "ty", borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(alias = "cd", alias = "mk", alias = "market", borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(alias = "tms", borrow)]
    pub timestamp: Option<&'a RawValue>,

    #[serde(alias = "tp", borrow)]
    pub trade_price: Option<&'a RawValue>,
    #[serde(alias = "tv", borrow)]
    pub trade_volume: Option<&'a RawValue>,
    #[serde(alias = "ab", borrow)]
    pub ask_bid: Option<Cow<'a, str>>,
    #[serde(alias = "ttms", borrow)]
    pub trade_timestamp: Option<&'a RawValue>,
    #[serde(alias = "sid", borrow)]
    pub sequential_id: Option<&'a RawValue>,

    #[serde(alias = "op", borrow)]
    pub opening_price: Option<&'a RawValue>,
    #[serde(alias = "hp", borrow)]
    pub high_price: Option<&'a RawValue>,
    #[serde(alias = "lp", borrow)]
    pub low_price: Option<&'a RawValue>,
    #[serde(alias = "pcp", borrow)]
    pub prev_closing_price: Option<&'a RawValue>,
    #[serde(alias = "atv24h", borrow)]
    pub acc_trade_volume_24h: Option<&'a RawValue>,
    #[serde(alias = "atp24h", borrow)]
    pub acc_trade_price_24h: Option<&'a RawValue>,

    #[serde(alias = "obu", borrow)]
    pub orderbook_units: Option<Vec<Unit<'a>>>,

    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub error: Option<ErrorBody<'a>>,
    #[serde(alias = "mthd", borrow)]
    pub method: Option<Cow<'a, str>>,
}

/// One order book row: the i-th best ask and the i-th best bid.
#[derive(Debug, Deserialize)]
pub(crate) struct Unit<'a> {
    #[serde(alias = "ap", borrow)]
    pub ask_price: Option<&'a RawValue>,
    #[serde(alias = "as", borrow)]
    pub ask_size: Option<&'a RawValue>,
    #[serde(alias = "bp", borrow)]
    pub bid_price: Option<&'a RawValue>,
    #[serde(alias = "bs", borrow)]
    pub bid_size: Option<&'a RawValue>,
}

/// `{"error":{"name":..,"message":..}}`; `name` is a string on the socket and sometimes a
/// number in REST bodies.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(borrow)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
}

impl ErrorBody<'_> {
    pub(crate) fn name(&self) -> String {
        self.name
            .map(|n| n.get().trim_matches('"').to_owned())
            .unwrap_or_else(|| "UNKNOWN".to_owned())
    }

    pub(crate) fn message(&self) -> String {
        self.message.as_deref().unwrap_or("").to_owned()
    }
}
