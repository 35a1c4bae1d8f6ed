//! The live side: fan-out on named channels, lossy by design.

use async_trait::async_trait;
use bytes::Bytes;

use crate::{BusError, Inbox};

/// A message on a live channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMessage {
    /// The channel, `tickmesh:live:{exchange}:{market}` for market events.
    pub channel: String,
    /// The payload.
    pub payload: Bytes,
}

/// Live publish/subscribe.
///
/// Contract (checked by [`crate::conformance::live`]): a subscriber receives, in publish
/// order, every message published after `subscribe` returned on a channel matching one of its
/// patterns, unless its inbox was full, in which case it gets a lagged marker with the count
/// instead; it never receives messages of other channels; publishing with no subscriber
/// succeeds and the message is gone.
#[async_trait]
pub trait LiveBus: Send + Sync + std::fmt::Debug {
    /// Publishes the messages, in order.
    async fn publish(&self, messages: &[LiveMessage]) -> Result<(), BusError>;

    /// Subscribes to every channel matching one of `patterns` (`*` matches any run of
    /// characters, as in Redis `PSUBSCRIBE`), buffering at most `capacity` messages.
    async fn subscribe(
        &self,
        patterns: &[String],
        capacity: usize,
    ) -> Result<Inbox<LiveMessage>, BusError>;
}

/// Whether `channel` matches `pattern`, where `*` matches any run of characters (the subset
/// of Redis glob patterns tickmesh uses; no `?`, `[..]` or escapes).
pub fn channel_matches(pattern: &str, channel: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return channel.is_empty();
    };
    let Some(mut rest) = channel.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::channel_matches;

    #[test]
    fn globs_match_like_redis_psubscribe() {
        for (pattern, channel, expected) in [
            ("tickmesh:live:*", "tickmesh:live:upbit:BTC/KRW", true),
            (
                "tickmesh:live:*:BTC/KRW",
                "tickmesh:live:korbit:BTC/KRW",
                true,
            ),
            (
                "tickmesh:live:*:BTC/KRW",
                "tickmesh:live:korbit:ETH/KRW",
                false,
            ),
            (
                "tickmesh:live:upbit:BTC/KRW",
                "tickmesh:live:upbit:BTC/KRW",
                true,
            ),
            (
                "tickmesh:live:upbit:BTC/KRW",
                "tickmesh:live:upbit:BTC/KRWX",
                false,
            ),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("*", "", true),
            ("a*a", "a", false),
        ] {
            assert_eq!(
                channel_matches(pattern, channel),
                expected,
                "{pattern} {channel}"
            );
        }
    }
}
