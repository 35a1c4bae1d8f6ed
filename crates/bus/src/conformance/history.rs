//! The [`StreamHistory`] contract, checked against what the [`EventPublisher`] of the same
//! stream wrote, and the positions its live messages carry.

use super::{PATIENCE, records};
use crate::position::unframe;
use crate::{EventPublisher, LiveBus, Outgoing, Position, Received, Record, StreamHistory};

/// Publishes `n` events to a fresh `stream` in batches of ten and returns each one's
/// position as its live message carried it, with the records sent.
async fn publish_and_listen(
    publisher: &dyn EventPublisher,
    live: &dyn LiveBus,
    prefix: &str,
    n: usize,
) -> Vec<(Position, Record)> {
    let channel = format!("{prefix}:live:upbit:BTC/KRW");
    let mut inbox = live
        .subscribe(&[format!("{prefix}:live:*")], n + 10)
        .await
        .unwrap();
    let sent: Vec<Outgoing> = records("upbit:BTC/KRW", 0, n)
        .into_iter()
        .map(|r| Outgoing::new(channel.clone(), r))
        .collect();
    for batch in sent.chunks(10) {
        publisher.publish(batch).await.unwrap();
    }
    let mut out = Vec::with_capacity(n);
    for sent in &sent {
        let got = tokio::time::timeout(PATIENCE, inbox.recv())
            .await
            .expect("no live message within the patience")
            .expect("the live subscription closed");
        let Received::Item(message) = got else {
            panic!("the live inbox lagged with room to spare");
        };
        let (position, payload) = unframe(&message.payload);
        let position = position.expect("a published event's live message carries its position");
        assert_eq!(
            payload, sent.record.payload,
            "the framed payload is the event's"
        );
        out.push((position, sent.record.clone()));
    }
    out
}

/// Reads everything after `after` in pages of `page`.
async fn read_all(
    history: &dyn StreamHistory,
    stream: &str,
    mut after: Position,
    page: usize,
) -> Vec<(Position, Record)> {
    let mut all = Vec::new();
    loop {
        let got = history.read_after(stream, after, page).await.unwrap();
        assert!(
            got.entries.len() <= page,
            "a page holds at most what was asked"
        );
        let Some(last) = got.entries.last() else {
            return all;
        };
        after = last.0;
        all.extend(got.entries);
    }
}

/// Live messages carry the positions the stream gave, and the stream reads back after any
/// position, in pages, in order.
pub async fn run(
    publisher: &dyn EventPublisher,
    live: &dyn LiveBus,
    history: &dyn StreamHistory,
    stream: &str,
    prefix: &str,
) {
    let sent = publish_and_listen(publisher, live, prefix, 50).await;
    assert!(
        sent.windows(2).all(|w| w[0].0 < w[1].0),
        "positions grow with every append"
    );

    let page = history
        .read_after(stream, Position::ZERO, 1000)
        .await
        .unwrap();
    assert_eq!(page.entries, sent, "the stream reads back as published");
    assert!(
        page.trimmed_through.is_none_or(|t| t < sent[0].0),
        "nothing published was trimmed"
    );
    assert_eq!(read_all(history, stream, Position::ZERO, 7).await, sent);

    let after = history.read_after(stream, sent[9].0, 5).await.unwrap();
    assert_eq!(after.entries, sent[10..15], "strictly after the position");
    // A position between two entries (or of nothing) reads from the next one.
    let between = Position {
        ms: sent[20].0.ms,
        seq: sent[20].0.seq,
    };
    let got = history.read_after(stream, between, 3).await.unwrap();
    assert_eq!(got.entries, sent[21..24]);
    let last = sent.last().unwrap().0;
    assert!(
        history
            .read_after(stream, last, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    let empty = history
        .read_after(&format!("{prefix}:never-written"), Position::ZERO, 10)
        .await
        .unwrap();
    assert!(empty.entries.is_empty() && empty.trimmed_through.is_none());
}

/// Once the stream dropped its oldest entries to stay within its bound, `trimmed_through`
/// covers every dropped one and none it still holds. `publisher` must write `stream` with a
/// bound far below 2,000 entries.
pub async fn trimming(
    publisher: &dyn EventPublisher,
    live: &dyn LiveBus,
    history: &dyn StreamHistory,
    stream: &str,
    prefix: &str,
) {
    let sent = publish_and_listen(publisher, live, prefix, 2_000).await;
    let held = read_all(history, stream, Position::ZERO, 500).await;
    assert!(
        !held.is_empty() && held.len() < sent.len(),
        "the bound trimmed the stream"
    );
    let first = held[0].0;
    let kept_from = sent.iter().position(|(p, _)| *p == first).unwrap();
    assert_eq!(
        held,
        sent[kept_from..],
        "what is held is the newest, in order"
    );
    let page = history.read_after(stream, Position::ZERO, 1).await.unwrap();
    let trimmed = page.trimmed_through.expect("the stream says it trimmed");
    assert!(
        trimmed >= sent[kept_from - 1].0,
        "every dropped entry is covered"
    );
    assert!(trimmed < first, "no held entry is covered");
}
