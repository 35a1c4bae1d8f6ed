//! Two subscription replicas on one database (the HPA runs two or more): a subscription
//! created or deleted through one reaches the ingestion that follows the other, through the
//! replicas' periodic sync with the shared store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::mesh::Mesh;
use tickmesh_domain::Market;
use tickmesh_proto::subscription::v1 as subs;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;
use tonic::transport::Channel;

async fn client(addr: &str) -> SubscriptionServiceClient<Channel> {
    SubscriptionServiceClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_through_one_replica_reaches_ingestion_following_the_other() {
    let mesh = Mesh::with_markets("replicas", 0.0, &["BTC", "ETH"]).await;
    let replica = [
        ("TICKMESH__INGESTION__MARKETS", String::new()),
        ("TICKMESH__SUBSCRIPTION__SYNC_INTERVAL", "200ms".to_owned()),
    ];
    let watched = mesh.serve("subscription", &replica);
    let other = mesh.serve("subscription", &replica);
    let follow = (
        "TICKMESH__INGESTION__SUBSCRIPTIONS_URL",
        format!("http://{}", watched.grpc),
    );
    let _ingestion = mesh.serve("ingestion", std::slice::from_ref(&follow));
    let btc = Market::parse("BTC").unwrap();
    let eth = Market::parse("ETH").unwrap();
    let subscribed = |market: Market, want: bool| {
        let sims = &mesh.sims;
        move || async move {
            sims.all
                .iter()
                .all(|s| s.subscribed_markets().contains(&market) == want)
                .then_some(())
        }
    };

    // Through the watched replica first: once the exchanges see BTC, ingestion's watch is
    // established, so what follows cannot arrive in its snapshot instead.
    client(&watched.grpc)
        .await
        .create_subscription(subs::CreateSubscriptionRequest {
            exchange: 0,
            market: "BTC".into(),
        })
        .await
        .unwrap();
    support::eventually(
        "the exchanges to see BTC",
        Duration::from_secs(10),
        subscribed(btc, true),
    )
    .await;

    let mut other_client = client(&other.grpc).await;
    let created = other_client
        .create_subscription(subs::CreateSubscriptionRequest {
            exchange: 0,
            market: "ETH".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.subscriptions.len(), 3);
    support::eventually(
        "the exchanges to see ETH, created through the other replica",
        Duration::from_secs(10),
        subscribed(eth, true),
    )
    .await;

    other_client
        .delete_subscription(subs::DeleteSubscriptionRequest {
            exchange: 0,
            market: "ETH".into(),
        })
        .await
        .unwrap();
    support::eventually(
        "the exchanges to drop ETH, deleted through the other replica",
        Duration::from_secs(10),
        subscribed(eth, false),
    )
    .await;
    // The services go before their database does.
    drop((watched, other, _ingestion));
    mesh.finish().await;
}
