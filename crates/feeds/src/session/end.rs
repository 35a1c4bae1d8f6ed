//! Why a session ended.

use std::fmt;
use std::time::Duration;

use tickmesh_exchanges::Untrusted;

/// Why a session ended. Texts that came from the network are held escaped and cut
/// ([`Untrusted`]), since they are logged and reported in `ListFeeds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// tickmesh is shutting down.
    Shutdown,
    /// The desired set became empty, so the socket was closed on purpose.
    Unsubscribed,
    /// Whoever consumes the feed's output went away.
    DownstreamClosed,
    /// The exchange sent a close frame.
    ServerClosed(String),
    /// The connection ended without a close frame (the exchanges' idle cut looks like this).
    Dropped(String),
    /// Nothing at all, not even a pong, arrived for the idle timeout: a dead or stalled socket.
    IdleTimeout(Duration),
    /// The exchange reported an error and closes the socket after it.
    ExchangeError(String),
    /// A frame was longer than the socket reads at all (the hard cap), so the connection could
    /// not go on.
    Oversize(String),
}

impl SessionEnd {
    /// Returns whether the feed should reconnect after this end.
    pub fn should_reconnect(&self) -> bool {
        !matches!(
            self,
            SessionEnd::Shutdown | SessionEnd::DownstreamClosed | SessionEnd::Unsubscribed
        )
    }

    /// The exchange closed with `code` and `reason`.
    pub(crate) fn server_closed(code: impl fmt::Display, reason: &str) -> SessionEnd {
        SessionEnd::ServerClosed(format!("{code} {}", Untrusted::text(reason)))
    }

    /// The connection failed with `error`.
    pub(crate) fn dropped(error: impl fmt::Display) -> SessionEnd {
        SessionEnd::Dropped(Untrusted::escaped(&error.to_string()))
    }
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionEnd::Shutdown => f.write_str("shutting down"),
            SessionEnd::Unsubscribed => f.write_str("no market subscribed"),
            SessionEnd::DownstreamClosed => f.write_str("output channel closed"),
            SessionEnd::ServerClosed(why) => write!(f, "exchange closed the connection: {why}"),
            SessionEnd::Dropped(why) => {
                write!(f, "connection dropped without a close frame: {why}")
            }
            SessionEnd::IdleTimeout(after) => write!(f, "no traffic for {after:?}"),
            SessionEnd::ExchangeError(why) => write!(f, "exchange error: {why}"),
            SessionEnd::Oversize(why) => write!(f, "frame over the hard size cap: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_texts_are_escaped_and_cut() {
        let end = SessionEnd::server_closed(1000, "bye\n2026-01-01 INFO forged");
        assert_eq!(
            end.to_string(),
            r"exchange closed the connection: 1000 bye\n2026-01-01 INFO forged"
        );
        let long = SessionEnd::dropped("x".repeat(5_000));
        assert!(long.to_string().ends_with("…[cut, 5000 bytes]"), "{long}");
        assert!(long.to_string().len() < 400);
    }
}
