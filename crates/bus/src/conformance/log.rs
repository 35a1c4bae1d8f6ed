//! The [`DurableLog`] contract. Group names carry the prefix too: a group on a shared broker
//! may still hold members of an earlier run until their sessions time out.

use std::time::Duration;

use super::{PATIENCE, records};
use crate::{Delivery, DurableLog, LogConsumer, Record};

/// Polls until `n` deliveries came, failing after the patience.
pub async fn collect(consumer: &mut dyn LogConsumer, n: usize) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} records arrived within the patience",
            got.len()
        );
        let batch = consumer
            .poll(n - got.len(), Duration::from_millis(500))
            .await
            .unwrap();
        assert!(
            batch.len() <= n - got.len(),
            "poll returned more than asked"
        );
        got.extend(batch);
    }
    got
}

fn plain(deliveries: &[Delivery]) -> Vec<Record> {
    deliveries.iter().map(|d| d.record.clone()).collect()
}

/// Asserts that nothing more arrives for a while.
pub async fn assert_quiet(consumer: &mut dyn LogConsumer) {
    let extra = consumer.poll(10, Duration::from_secs(1)).await.unwrap();
    assert!(extra.is_empty(), "unexpected deliveries: {extra:?}");
}

/// Runs every check; `prefix` makes topic and group names unique to this run. The log must
/// reclaim abandoned records within a few seconds (configure it so for the test).
pub async fn run(log: &dyn DurableLog, prefix: &str) {
    groups_read_everything_in_order(log, prefix).await;
    unacknowledged_records_come_back_to_a_rejoining_consumer(log, prefix).await;
    one_consumer_reads_several_topics(log, prefix).await;
    abandoned_records_go_to_another_member(log, prefix).await;
    an_oversize_record_is_refused_and_the_log_goes_on(log, prefix).await;
}

/// A record far larger than any event (4 MiB) is refused as never writable, not as an
/// outage, and records before and after it are written and read as usual.
pub async fn an_oversize_record_is_refused_and_the_log_goes_on(log: &dyn DurableLog, prefix: &str) {
    let topic = format!("{prefix}.oversize");
    let before = records("upbit:BTC/KRW", 0, 2);
    log.append(&topic, &before).await.unwrap();
    let huge = Record::new("upbit:BTC/KRW", vec![b'x'; 4 << 20]);
    let refused = log.append(&topic, std::slice::from_ref(&huge)).await;
    assert!(
        matches!(refused, Err(crate::BusError::Rejected { .. })),
        "a 4 MiB record must be refused as never writable, got {refused:?}"
    );
    let after = records("upbit:BTC/KRW", 2, 2);
    log.append(&topic, &after).await.unwrap();
    let mut consumer = log
        .consume(&[&topic], &format!("{prefix}-oversize"), "c")
        .await
        .unwrap();
    let got = collect(consumer.as_mut(), 4).await;
    let payloads: Vec<_> = plain(&got).into_iter().map(|r| r.payload).collect();
    let expected: Vec<_> = before
        .iter()
        .chain(&after)
        .map(|r| r.payload.clone())
        .collect();
    assert_eq!(payloads, expected);
    consumer.ack(&got).await.unwrap();
}

/// Each group reads every record, in order, with key, payload and headers intact, whether
/// appended from a slice or by reference ([`DurableLog::append_refs`]).
pub async fn groups_read_everything_in_order(log: &dyn DurableLog, prefix: &str) {
    let topic = format!("{prefix}.everything");
    let written = records("upbit:BTC/KRW", 0, 20);
    log.append(&topic, &written[..5]).await.unwrap();
    let mut first = log
        .consume(&[&topic], &format!("{prefix}-g1"), "c1")
        .await
        .unwrap();
    let lent: Vec<&Record> = written[5..].iter().collect();
    log.append_refs(&topic, &lent).await.unwrap();
    let mut second = log
        .consume(&[&topic], &format!("{prefix}-g2"), "c1")
        .await
        .unwrap();
    for consumer in [&mut first, &mut second] {
        let got = collect(consumer.as_mut(), 20).await;
        assert_eq!(plain(&got), written);
        assert!(got.iter().all(|d| d.topic == topic));
        consumer.ack(&got).await.unwrap();
    }
    assert_quiet(first.as_mut()).await;
}

/// A consumer that went away without acknowledging gets those records again when it comes
/// back under the same name, and never the ones it acknowledged.
pub async fn unacknowledged_records_come_back_to_a_rejoining_consumer(
    log: &dyn DurableLog,
    prefix: &str,
) {
    let topic = format!("{prefix}.redelivery");
    let group = format!("{prefix}-redelivery");
    let written = records("korbit:ETH/KRW", 0, 10);
    log.append(&topic, &written).await.unwrap();

    let mut consumer = log.consume(&[&topic], &group, "bridge-0").await.unwrap();
    let got = collect(consumer.as_mut(), 10).await;
    assert_eq!(plain(&got), written);
    consumer.ack(&got[..4]).await.unwrap();
    drop(consumer);

    let later = records("korbit:ETH/KRW", 10, 3);
    log.append(&topic, &later).await.unwrap();
    let mut again = log.consume(&[&topic], &group, "bridge-0").await.unwrap();
    let got = collect(again.as_mut(), 9).await;
    let mut expected = written[4..].to_vec();
    expected.extend(later);
    assert_eq!(plain(&got), expected);
    again.ack(&got).await.unwrap();
    assert_quiet(again.as_mut()).await;
    drop(again);

    let mut third = log.consume(&[&topic], &group, "bridge-0").await.unwrap();
    assert_quiet(third.as_mut()).await;
}

/// One consumer reads several topics, each in order.
pub async fn one_consumer_reads_several_topics(log: &dyn DurableLog, prefix: &str) {
    let trades = format!("{prefix}.trades");
    let tickers = format!("{prefix}.tickers");
    let written_trades = records("upbit:BTC/KRW", 0, 6);
    let written_tickers = records("bithumb:BTC/KRW", 0, 6);
    log.append(&trades, &written_trades).await.unwrap();
    log.append(&tickers, &written_tickers).await.unwrap();
    let mut consumer = log
        .consume(
            &[&trades, &tickers],
            &format!("{prefix}-storage"),
            "storage-0",
        )
        .await
        .unwrap();
    let got = collect(consumer.as_mut(), 12).await;
    let of = |topic: &str| -> Vec<Record> {
        got.iter()
            .filter(|d| d.topic == topic)
            .map(|d| d.record.clone())
            .collect()
    };
    assert_eq!(of(&trades), written_trades);
    assert_eq!(of(&tickers), written_tickers);
    consumer.ack(&got).await.unwrap();
}

/// Records a member was given and never acknowledged go to another member of the group once
/// that member is gone (Redis: `XAUTOCLAIM` after the idle time; Kafka: the rebalance).
pub async fn abandoned_records_go_to_another_member(log: &dyn DurableLog, prefix: &str) {
    let topic = format!("{prefix}.abandoned");
    let group = format!("{prefix}-abandoned");
    let written = records("upbit:XRP/KRW", 0, 5);
    log.append(&topic, &written).await.unwrap();
    let mut crashed = log.consume(&[&topic], &group, "bridge-a").await.unwrap();
    let got = collect(crashed.as_mut(), 5).await;
    crashed.ack(&got[..2]).await.unwrap();
    drop(crashed);

    let mut survivor = log.consume(&[&topic], &group, "bridge-b").await.unwrap();
    let got = collect(survivor.as_mut(), 3).await;
    assert_eq!(plain(&got), written[2..]);
    survivor.ack(&got).await.unwrap();
    assert_quiet(survivor.as_mut()).await;
}
