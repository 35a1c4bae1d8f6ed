//! Dead letters: the record as it came, plus why it can never be written and where it was.

use bytes::Bytes;

use crate::{Delivery, Record};

/// Header with the reason a record was dead-lettered.
pub const DEAD_LETTER_REASON: &str = "tickmesh-error";
/// Header with where the record was read: `{topic}@{cursor}`.
pub const DEAD_LETTER_SOURCE: &str = "tickmesh-source";
/// Header present when the dead-letter topic refused the record and it was sent without its
/// payload: the payload's size in bytes.
pub const PAYLOAD_DROPPED: &str = "tickmesh-payload-dropped";

/// Longest reason kept; a reason can quote untrusted input.
const MAX_REASON_BYTES: usize = 1_024;
/// Longest key kept when the record is stripped (keys are `{exchange}:{market}` normally).
const MAX_STRIPPED_KEY_BYTES: usize = 256;

/// The dead letter of `record`, read from `delivery`, refused for `reason`.
pub(crate) fn letter(record: &Record, delivery: &Delivery, reason: &str) -> Record {
    record
        .clone()
        .with_header(DEAD_LETTER_REASON, cut(reason, MAX_REASON_BYTES).to_owned())
        .with_header(
            DEAD_LETTER_SOURCE,
            format!("{}@{}", delivery.topic, delivery.cursor),
        )
}

/// `letter` without its payload (and with a cut key), for a dead-letter topic that refuses
/// the whole record: what is left is small enough for any topic.
pub(crate) fn strip(letter: &Record) -> Record {
    let mut stripped = Record::new(cut(&letter.key, MAX_STRIPPED_KEY_BYTES), Bytes::new());
    for name in [DEAD_LETTER_REASON, DEAD_LETTER_SOURCE] {
        if let Some(value) = letter.header(name) {
            stripped.headers.push((name.to_owned(), value.clone()));
        }
    }
    stripped.with_header(PAYLOAD_DROPPED, letter.payload.len().to_string())
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cursor;

    #[test]
    fn a_letter_keeps_the_record_and_says_why_and_where() {
        let record = Record::new("upbit:BTC/KRW", vec![1u8, 2, 3]).with_header("traceparent", "tp");
        let delivery = Delivery {
            topic: "tickmesh:events".into(),
            cursor: Cursor::new("17-0"),
            record: Record::default(),
        };
        let letter = letter(&record, &delivery, &"é".repeat(1_000));
        assert_eq!(letter.payload, record.payload);
        assert_eq!(letter.header("traceparent").unwrap(), "tp");
        assert_eq!(letter.header(DEAD_LETTER_REASON).unwrap().len(), 1_024);
        assert_eq!(
            letter.header(DEAD_LETTER_SOURCE).unwrap(),
            "tickmesh:events@17-0"
        );
        let stripped = strip(&letter);
        assert!(stripped.payload.is_empty());
        assert_eq!(stripped.header(PAYLOAD_DROPPED).unwrap(), "3");
        assert_eq!(
            stripped.header(DEAD_LETTER_SOURCE),
            letter.header(DEAD_LETTER_SOURCE)
        );
        assert!(stripped.header("traceparent").is_none());
    }
}
