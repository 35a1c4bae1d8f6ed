//! What a parsed frame means besides market data, and why a frame or body did not parse.

use tickmesh_domain::Exchange;

use crate::Untrusted;

/// What a frame meant to the connection. Market data is appended to the caller's vector and
/// reported as [`Control::Data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Market data; the events were appended to the output vector.
    Data,
    /// A keepalive reply such as `{"status":"UP"}`.
    Keepalive,
    /// Korbit acknowledged the request with this id.
    Ack(u64),
    /// The exchange rejected (part of) a request but keeps the socket open (Korbit `fail`).
    Rejected {
        /// The request id, when the request carried one.
        request_id: Option<u64>,
        /// The exchange's code and explanation, for the log: escaped and cut ([`Untrusted`]).
        message: String,
    },
    /// The exchange reported an error and will close the socket (Upbit/Bithumb `error`); the
    /// message is escaped and cut ([`Untrusted`]).
    Fatal(String),
    /// Recognised and deliberately ignored (a subscription listing, for example).
    Ignored,
}

/// A frame that could not be parsed; the feed counts it, samples it into the log and goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {exchange} frame: {reason}")]
pub struct FrameError {
    /// Which exchange sent it.
    pub exchange: Exchange,
    /// What was wrong, escaped and cut ([`Untrusted`]): reasons quote the frame's own text.
    pub reason: String,
}

impl FrameError {
    pub(crate) fn new(exchange: Exchange, reason: impl AsRef<str>) -> Self {
        Self {
            exchange,
            reason: Untrusted::escaped(reason.as_ref()),
        }
    }
}

/// A REST body that was not what the endpoint documents, or an error envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestBodyError {
    /// The exchange answered with its error envelope (Bithumb does so with HTTP 200). The
    /// texts are the exchange's; they are shown escaped and cut ([`Untrusted`]).
    #[error("{exchange} answered with an error: {}: {}", Untrusted::text(.name), Untrusted::text(.message))]
    Exchange {
        /// Which exchange.
        exchange: Exchange,
        /// The error name or code.
        name: String,
        /// The exchange's message.
        message: String,
    },
    /// The body did not parse (the reason may quote the body; it is shown escaped and cut).
    #[error("unexpected {exchange} response body: {}", Untrusted::text(.reason))]
    Body {
        /// Which exchange.
        exchange: Exchange,
        /// What was wrong.
        reason: String,
    },
}
