//! Where an event sits in the durable stream: the cursor stream clients resume from.
//!
//! A position is the stream's own id, `{milliseconds}-{sequence}` as Redis gives it to an
//! `XADD` and as the in-process log gives it the same way. One stream holds every event of
//! every exchange and market, so positions order all events totally, and every process that
//! reads the stream (any subscription replica, the bridge, storage through the header the
//! bridge adds) sees the same position for the same event.
//!
//! The live message of an event carries its position too ([`frame`]): the publisher appends
//! first and publishes the framed payload in the same atomic step, so a client switching from
//! reading the stream to reading live can tell exactly which live events it already has.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut as _, Bytes, BytesMut};

/// Header the bridge adds to each record it forwards: the record's position in the stream,
/// so storage can keep it beside the row.
pub const POSITION_HEADER: &str = "tickmesh-position";

/// An event's place in the durable stream. Orders by time, then sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The append's wall-clock time in milliseconds since the Unix epoch (UTC), as the
    /// stream's server read it.
    pub ms: u64,
    /// The append's number within that millisecond.
    pub seq: u64,
}

/// A cursor that is not a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a stream cursor: expected `{{milliseconds}}-{{sequence}}`, as a stream item's cursor field gives it"
)]
pub struct PositionError {
    text: String,
}

impl Position {
    /// The position before every event.
    pub const ZERO: Position = Position { ms: 0, seq: 0 };
    /// The most a sequence may be to pack a position into an `i64` ([`Position::packed`]):
    /// a million appends in one millisecond, a thousand times what the stream takes.
    pub const MAX_PACKED_SEQ: u64 = 999_999;

    /// The first position of millisecond `ms`.
    pub const fn at_ms(ms: u64) -> Position {
        Position { ms, seq: 0 }
    }

    /// The position as one `i64` that sorts the same way, `ms * 1,000,000 + seq`, for
    /// storing beside a row; `None` past what it can hold (the year 2262, or a sequence
    /// above [`Position::MAX_PACKED_SEQ`]).
    pub fn packed(self) -> Option<i64> {
        if self.seq > Self::MAX_PACKED_SEQ {
            return None;
        }
        let packed = self.ms.checked_mul(1_000_000)?.checked_add(self.seq)?;
        i64::try_from(packed).ok()
    }

    /// The position [`Position::packed`] gave; `None` for a negative number.
    pub fn from_packed(packed: i64) -> Option<Position> {
        let packed = u64::try_from(packed).ok()?;
        Some(Position {
            ms: packed / 1_000_000,
            seq: packed % 1_000_000,
        })
    }

    /// The next position after this one.
    pub fn next(self) -> Position {
        match self.seq.checked_add(1) {
            Some(seq) => Position { ms: self.ms, seq },
            None => Position {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for Position {
    type Err = PositionError;

    fn from_str(text: &str) -> Result<Position, PositionError> {
        let error = || PositionError {
            text: text.chars().take(64).collect(),
        };
        let (ms, seq) = text.split_once('-').ok_or_else(error)?;
        let digits = |s: &str| {
            (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        Ok(Position {
            ms: digits(ms).ok_or_else(error)?,
            seq: digits(seq).ok_or_else(error)?,
        })
    }
}

/// First byte of a framed live payload. Never the first byte of a protobuf message (field
/// number 0 does not exist), so a subscriber tells framed payloads from bare ones.
const FRAME_MARK: u8 = 0;

/// The live payload of an event at `position`: a zero byte, the length of the position's
/// text in one byte, the text, then the event's payload.
pub fn frame(position: Position, payload: &[u8]) -> Bytes {
    let text = position.to_string();
    let mut out = BytesMut::with_capacity(2 + text.len() + payload.len());
    out.put_u8(FRAME_MARK);
    // A position's text is at most 41 bytes (two u64s and a dash), so it fits one byte.
    out.put_u8(u8::try_from(text.len()).unwrap_or(u8::MAX));
    out.put_slice(text.as_bytes());
    out.put_slice(payload);
    out.freeze()
}

/// A live payload split into the position it was framed with (`None` for a bare payload, or
/// a frame whose position does not parse) and the event's payload.
pub fn unframe(payload: &Bytes) -> (Option<Position>, Bytes) {
    if payload.first() != Some(&FRAME_MARK) || payload.len() < 2 {
        return (None, payload.clone());
    }
    let len = usize::from(payload[1]);
    let Some(text) = payload.get(2..2 + len) else {
        return (None, payload.clone());
    };
    let position = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<Position>().ok());
    (position, payload.slice(2 + len..))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn positions_read_and_write_as_stream_ids() {
        let p: Position = "1765000000123-7".parse().unwrap();
        assert_eq!(
            p,
            Position {
                ms: 1_765_000_000_123,
                seq: 7
            }
        );
        assert_eq!(p.to_string(), "1765000000123-7");
        for bad in [
            "", "-", "1-", "-1", "1", "a-1", "1-b", "1-2-3", " 1-2", "+1-2",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
        let long = "9".repeat(1000);
        let message = long.parse::<Position>().unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn packing_keeps_the_order() {
        let a = Position {
            ms: 5,
            seq: 999_999,
        };
        let b = Position { ms: 6, seq: 0 };
        assert!(a.packed().unwrap() < b.packed().unwrap());
        assert_eq!(Position::from_packed(a.packed().unwrap()), Some(a));
        assert_eq!(
            Position {
                ms: 1,
                seq: 1_000_000
            }
            .packed(),
            None
        );
        assert_eq!(
            Position {
                ms: u64::MAX,
                seq: 0
            }
            .packed(),
            None
        );
        assert_eq!(Position::from_packed(-1), None);
        assert!(
            a < b
                && a.next()
                    == Position {
                        ms: 5,
                        seq: 1_000_000
                    }
        );
    }

    #[test]
    fn frames_carry_the_position_and_bare_payloads_pass() {
        let p = Position { ms: 42, seq: 3 };
        let framed = frame(p, b"\x08\x01payload");
        assert_eq!(
            unframe(&framed),
            (Some(p), Bytes::from_static(b"\x08\x01payload"))
        );
        let bare = Bytes::from_static(b"\x08\x01payload");
        assert_eq!(unframe(&bare), (None, bare.clone()));
        // A frame cut short is passed on whole rather than read past its end.
        let cut = Bytes::from_static(b"\x00\x09ab");
        assert_eq!(unframe(&cut).0, None);
    }
}
