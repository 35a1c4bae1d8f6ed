//! The delivery promise under restarts (docs/architecture.md): with the services as separate
//! processes on real Redis, the Kafka-protocol broker and PostgreSQL, killing the bridge,
//! killing storage, or cutting storage off its database for seconds leaves PostgreSQL holding
//! exactly the trades the simulators emitted: none missing, none twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::mesh::{Mesh, run_for};
use support::proxy::Proxy;

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_bridge_mid_flow_loses_and_repeats_nothing() {
    let mesh = Mesh::new("rs_bridge", 20.0).await;
    let mut services = mesh.start_flowing(&[]).await;

    run_for(Duration::from_secs(3)).await;
    services.bridge.kill();
    run_for(Duration::from_secs(2)).await;
    // The replacement has another name, as a new pod would: what the dead bridge read and
    // never acknowledged reaches Kafka only if the new one reclaims it (XAUTOCLAIM).
    services.bridge = mesh.serve(
        "bridge",
        &[
            ("TICKMESH__BRIDGE__CONSUMER", "bridge-b".to_owned()),
            ("TICKMESH__BUS__RECLAIM_AFTER", "1s".to_owned()),
        ],
    );
    run_for(Duration::from_secs(3)).await;

    mesh.assert_converges().await;
    services.terminate();
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_storage_mid_flow_loses_and_repeats_nothing() {
    let mesh = Mesh::new("rs_storage", 20.0).await;
    let mut services = mesh.start_flowing(&[]).await;

    run_for(Duration::from_secs(3)).await;
    services.storage.kill();
    // Restart only after the dead member's 6 s session expired. tansu 0.6 lets a member that
    // joins while a dead leader still counts wait for that leader's assignment, which never
    // comes, and then leaves it with no partitions; Apache Kafka completes the rebalance
    // without the dead member, so a quicker restart works there.
    run_for(Duration::from_secs(8)).await;
    services.storage = mesh.serve("storage", &[]);
    run_for(Duration::from_secs(3)).await;

    mesh.assert_converges().await;
    services.terminate();
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cutting_storage_off_its_database_loses_and_repeats_nothing() {
    let mesh = Mesh::new("rs_dbcut", 20.0).await;
    let proxy = Proxy::start(mesh.db.server_addr()).await;
    let services = mesh
        .start_flowing(&[("TICKMESH__DATABASE__URL", mesh.db.url_via(proxy.addr))])
        .await;

    run_for(Duration::from_secs(3)).await;
    proxy.cut();
    run_for(Duration::from_secs(4)).await;
    proxy.restore();
    run_for(Duration::from_secs(3)).await;

    mesh.assert_converges().await;
    assert!(
        !services.storage.logged("write failed; retrying").is_empty(),
        "storage never noticed the database outage, so the cut tested nothing"
    );
    services.terminate();
    mesh.finish().await;
}
