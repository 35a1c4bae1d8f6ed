//! What travels on the durable side of the bus.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// Header carrying the W3C trace context, so one trace follows an event across services.
pub const TRACEPARENT: &str = "traceparent";
/// Header naming the payload encoding.
pub const CONTENT_TYPE: &str = "content-type";

/// The largest record the in-process and Redis adapters take, like Kafka's default
/// `message.max.bytes`: every market event is far smaller (frames are bounded at the edge), so
/// anything larger is refused as never writable instead of filling memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The content type of tickmesh's protobuf `MarketEvent` payloads.
pub fn content_type_protobuf() -> Bytes {
    Bytes::from_static(b"application/x-protobuf; messageType=tickmesh.market.v1.MarketEvent")
}

/// One record: a key that orders it (records with the same key stay in order), opaque
/// payload bytes, and headers. The default is empty: what is left where a record was taken
/// out of a delivery that is kept for its acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Ordering key, `{exchange}:{market}` for market events.
    pub key: String,
    /// The payload (a protobuf `MarketEvent` for market events).
    pub payload: Bytes,
    /// Headers, in order; names are lower-case.
    pub headers: Vec<(String, Bytes)>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: impl Into<String>, payload: impl Into<Bytes>) -> Record {
        Record {
            key: key.into(),
            payload: payload.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<Bytes>) -> Record {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The record's size on the wire, near enough: key, payload and headers.
    pub fn size(&self) -> usize {
        self.key.len()
            + self.payload.len()
            + self
                .headers
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>()
    }

    /// The W3C `traceparent` the record carries, if it has one in UTF-8: the trace a batch
    /// built from it continues.
    pub fn traceparent(&self) -> Option<&str> {
        self.header(TRACEPARENT)
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// Where a delivery sits in its log: a Redis stream id, a Kafka `partition:offset`, an
/// in-process sequence number. Opaque outside its adapter; shown in logs and dead letters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cursor(Arc<str>);

impl Cursor {
    /// A cursor from the adapter's own text.
    pub fn new(text: impl Into<Arc<str>>) -> Cursor {
        Cursor(text.into())
    }

    /// The adapter's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record handed to a consumer, to be acknowledged once processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The topic it was read from.
    pub topic: String,
    /// Its position there.
    pub cursor: Cursor,
    /// The record.
    pub record: Record,
}
