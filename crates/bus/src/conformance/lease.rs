//! The [`LeaseStore`] contract, and fenced publishing through the publisher that shares its
//! lease table.

use std::time::Duration;

use super::{log::collect, records};
use crate::{DurableLog, EventPublisher, LeaseStore, OWNER_HEADER, Outgoing, PublishedMark};

/// Long enough that a renewal on a slow machine is never late.
const TTL: Duration = Duration::from_secs(30);
/// Short enough that a test waits it out.
const SHORT: Duration = Duration::from_millis(400);

/// Membership, exclusive grants with growing tokens, renewal, release and expiry.
pub async fn run(store: &dyn LeaseStore, prefix: &str) {
    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    store.heartbeat(&a, TTL).await.unwrap();
    let members = store.heartbeat(&b, TTL).await.unwrap();
    assert!(members.contains(&a) && members.contains(&b), "{members:?}");
    assert!(members.is_sorted(), "members must come sorted: {members:?}");
    store.leave(&a).await.unwrap();
    let members = store.heartbeat(&b, TTL).await.unwrap();
    assert!(!members.contains(&a), "{a} left but is listed: {members:?}");
    store.heartbeat(&a, SHORT).await.unwrap();
    tokio::time::sleep(SHORT * 2).await;
    let members = store.heartbeat(&b, TTL).await.unwrap();
    assert!(
        !members.contains(&a),
        "{a} expired but is listed: {members:?}"
    );

    let unit = format!("{prefix}-unit");
    let first = store
        .acquire(&unit, &a, TTL)
        .await
        .unwrap()
        .expect("a free unit is granted");
    assert!(first.marks.is_empty(), "a new unit has no marks");
    assert_eq!(first.lease.member, a);
    assert!(
        store.acquire(&unit, &b, TTL).await.unwrap().is_none(),
        "a held unit must not be granted again"
    );
    assert!(store.renew(&first.lease, TTL).await.unwrap());
    let held = store.holders(std::slice::from_ref(&unit)).await.unwrap();
    let holding = held[0].as_ref().expect("the unit is held");
    assert_eq!(holding.lease, first.lease);
    assert!(holding.remaining > TTL / 2 && holding.remaining <= TTL);

    let mut forged = first.lease.clone();
    forged.member.clone_from(&b);
    assert!(
        !store.release(&forged).await.unwrap(),
        "only the holder releases"
    );
    assert!(
        !store.renew(&forged, TTL).await.unwrap(),
        "only the holder renews"
    );
    assert!(store.release(&first.lease).await.unwrap());
    assert!(
        !store.release(&first.lease).await.unwrap(),
        "released twice"
    );
    let second = store
        .acquire(&unit, &b, TTL)
        .await
        .unwrap()
        .expect("a released unit is free");
    assert!(
        second.lease.token > first.lease.token,
        "tokens grow: {} then {}",
        first.lease.token,
        second.lease.token
    );
    assert!(
        !store.renew(&first.lease, TTL).await.unwrap(),
        "a former holder cannot renew"
    );

    let brief = format!("{prefix}-brief");
    let short = store
        .acquire(&brief, &a, SHORT)
        .await
        .unwrap()
        .expect("free");
    tokio::time::sleep(SHORT * 2).await;
    assert!(
        !store.renew(&short.lease, TTL).await.unwrap(),
        "an expired lease cannot be renewed"
    );
    let taken = store
        .acquire(&brief, &b, TTL)
        .await
        .unwrap()
        .expect("an expired unit is free");
    assert!(taken.lease.token > short.lease.token);
    assert_eq!(
        store
            .holders(&[brief.clone(), format!("{prefix}-none")])
            .await
            .unwrap()[1],
        None
    );
}

/// A publish fenced by a lease that is no longer held writes none of its fenced events and
/// all the others; a successor learns where the last holder's writes stopped.
pub async fn fencing(
    store: &dyn LeaseStore,
    publisher: &dyn EventPublisher,
    log: &dyn DurableLog,
    stream: &str,
    prefix: &str,
) {
    let unit = format!("{prefix}-fenced");
    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    let old = store
        .acquire(&unit, &a, TTL)
        .await
        .unwrap()
        .expect("free")
        .lease;
    let key = "upbit:BTC/KRW";
    let sent = records(key, 0, 6);
    let event = |i: usize, fence: Option<&crate::Lease>, mark: Option<PublishedMark>| Outgoing {
        channel: format!("{prefix}:live:upbit:BTC/KRW"),
        record: sent[i].clone(),
        fence: fence.map(crate::Lease::fence),
        mark,
    };
    let mark = |event_us: i64, trade: Option<(i64, u64)>| Some(PublishedMark { event_us, trade });
    let batch = [
        event(0, Some(&old), mark(100, Some((100, 7)))),
        event(1, Some(&old), mark(110, None)),
    ];
    let published = publisher.publish(&batch).await.unwrap();
    assert_eq!(published.fenced_off, 0, "the holder's events are written");

    // The holder is paused past its lease; another member takes the unit over.
    assert!(store.release(&old).await.unwrap());
    let new = store.acquire(&unit, &b, TTL).await.unwrap().expect("free");
    assert_eq!(
        new.marks.get(key),
        Some(&PublishedMark {
            event_us: 110,
            trade: Some((100, 7))
        }),
        "the successor learns the last event and the last trade its predecessor wrote"
    );
    let late = [
        event(2, Some(&old), mark(120, Some((120, 8)))),
        event(3, None, None),
        event(4, Some(&new.lease), mark(130, None)),
    ];
    let published = publisher.publish(&late).await.unwrap();
    assert_eq!(
        published.fenced_off, 1,
        "the former holder's event is refused"
    );

    let group = format!("{prefix}-fencing-check");
    let mut consumer = log.consume(&[stream], &group, "c").await.unwrap();
    let got = collect(consumer.as_mut(), 4).await;
    let payloads: Vec<_> = got.iter().map(|d| d.record.payload.clone()).collect();
    let want: Vec<_> = [0, 1, 3, 4]
        .iter()
        .map(|&i| sent[i].payload.clone())
        .collect();
    assert_eq!(payloads, want, "exactly the events allowed, in order");
    let owners: Vec<Option<String>> = got
        .iter()
        .map(|d| {
            d.record
                .header(OWNER_HEADER)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .collect();
    let tag = |lease: &crate::Lease| Some(format!("{}|{}", lease.member, lease.token));
    assert_eq!(owners, vec![tag(&old), tag(&old), None, tag(&new.lease)]);
    consumer.ack(&got).await.unwrap();
    let extra = consumer.poll(10, Duration::from_millis(300)).await.unwrap();
    assert!(
        extra.is_empty(),
        "a fenced-off event was written: {extra:?}"
    );
    assert!(store.release(&new.lease).await.unwrap());
    let next = store.acquire(&unit, &a, TTL).await.unwrap().expect("free");
    assert_eq!(
        next.marks.get(key),
        Some(&PublishedMark {
            event_us: 130,
            trade: Some((100, 7))
        })
    );
}

/// A make-before-break hand-over: offer, claim (one successor only), ready, release, and
/// only the successor acquires.
pub async fn handover(store: &dyn LeaseStore, prefix: &str) {
    let unit = format!("{prefix}-offered");
    let (a, b, c) = (
        format!("{prefix}-a"),
        format!("{prefix}-b"),
        format!("{prefix}-c"),
    );
    let units = std::slice::from_ref(&unit);
    assert_eq!(store.offers(units).await.unwrap(), vec![None]);
    assert!(
        !store.claim(&unit, &b).await.unwrap(),
        "nothing offered to claim"
    );
    let held = store
        .acquire(&unit, &a, TTL)
        .await
        .unwrap()
        .expect("free")
        .lease;
    let mut forged = held.clone();
    forged.member.clone_from(&c);
    assert!(
        !store.offer(&forged, TTL).await.unwrap(),
        "only the holder offers"
    );
    assert!(store.offer(&held, TTL).await.unwrap());
    assert_eq!(
        store.offers(units).await.unwrap(),
        vec![Some(crate::Offer::default())]
    );
    assert!(store.claim(&unit, &b).await.unwrap());
    assert!(
        store.claim(&unit, &b).await.unwrap(),
        "claiming again is idempotent"
    );
    assert!(!store.claim(&unit, &c).await.unwrap(), "one successor only");
    store.ready(&unit, &c).await.unwrap();
    let offer = store.offers(units).await.unwrap()[0]
        .clone()
        .expect("offered");
    assert_eq!(
        (offer.successor.as_deref(), offer.ready),
        (Some(b.as_str()), false)
    );
    store.ready(&unit, &b).await.unwrap();
    assert!(
        store.offers(units).await.unwrap()[0]
            .as_ref()
            .is_some_and(|o| o.ready)
    );
    assert!(store.release(&held).await.unwrap());
    assert!(
        store.acquire(&unit, &c, TTL).await.unwrap().is_none(),
        "a claimed unit goes to its successor"
    );
    let taken = store
        .acquire(&unit, &b, TTL)
        .await
        .unwrap()
        .expect("the successor takes it");
    assert!(taken.lease.token > held.token);
    assert_eq!(
        store.offers(units).await.unwrap(),
        vec![None],
        "the offer ends with the grant"
    );
    // An offer nobody takes up expires, and the unit is anyone's again.
    let brief = format!("{prefix}-brief-offer");
    let lease = store
        .acquire(&brief, &a, TTL)
        .await
        .unwrap()
        .expect("free")
        .lease;
    assert!(store.offer(&lease, SHORT).await.unwrap());
    assert!(store.claim(&brief, &b).await.unwrap());
    assert!(store.release(&lease).await.unwrap());
    tokio::time::sleep(SHORT * 2).await;
    assert!(store.acquire(&brief, &c, TTL).await.unwrap().is_some());
}
