//! A distributed tickmesh on real services: simulators in the test process, each service a
//! `tickmesh serve` process, real Redis, the Kafka-protocol broker and a private PostgreSQL
//! database. Names (stream, topics, groups, database) are unique per test, so tests can share
//! the servers and run in parallel.

use std::time::Duration;

use sea_orm::Database;

use super::process::Proc;
use super::sims::Sims;
use super::{TempDatabase, candle_trade_count, stored_trades};

/// The mesh's shared parts.
pub struct Mesh {
    /// Unique id of this run.
    pub id: String,
    /// The simulators (paused until [`Sims::resume`]).
    pub sims: Sims,
    /// The database storage writes to.
    pub db: TempDatabase,
    env: Vec<(String, String)>,
}

impl Mesh {
    /// Simulators over BTC and ETH at `rate` trades per second per exchange, a new database,
    /// and names of its own.
    pub async fn new(tag: &str, rate: f64) -> Mesh {
        Mesh::with_markets(tag, rate, &["BTC", "ETH"]).await
    }

    /// Like [`Mesh::new`] over `markets`.
    pub async fn with_markets(tag: &str, rate: f64, markets: &[&str]) -> Mesh {
        Mesh::with_sims(tag, Sims::start(markets, rate).await).await
    }

    /// A mesh collecting from `sims`.
    pub async fn with_sims(tag: &str, sims: Sims) -> Mesh {
        let id = tickmesh_e2e::unique(tag).to_ascii_lowercase();
        let db = TempDatabase::create(tag).await;
        let mut env: Vec<(String, String)> = [
            ("TICKMESH__BUS__REDIS_URL", tickmesh_e2e::redis_url()),
            (
                "TICKMESH__BUS__KAFKA_BROKERS",
                tickmesh_e2e::kafka_brokers(),
            ),
            // tansu 0.6 returns nothing for a fetch that starts inside a record batch, so a
            // consumer resuming after a mid-batch commit would stall; one record per batch
            // avoids it. Real Kafka needs no such setting.
            (
                "TICKMESH__BUS__KAFKA_OPTIONS",
                "batch.num.messages=1".to_owned(),
            ),
            ("TICKMESH__BUS__STREAM", format!("tickmesh:{id}:events")),
            ("TICKMESH__BUS__TOPIC_PREFIX", format!("{id}.")),
            ("TICKMESH__BRIDGE__GROUP", "bridge".to_owned()),
            ("TICKMESH__BRIDGE__CONSUMER", "bridge-a".to_owned()),
            // A new group per run: tansu keeps members of finished runs around.
            ("TICKMESH__STORAGE__GROUP", format!("storage-{id}")),
            ("TICKMESH__STORAGE__CONSUMER", format!("storage-{id}")),
            ("TICKMESH__DATABASE__URL", db.url.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(sims.ingestion_env());
        Mesh { id, sims, db, env }
    }

    /// The environment with `overrides` applied.
    pub fn env_with(&self, overrides: &[(&str, String)]) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        for (k, v) in overrides {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), v.clone()));
        }
        env
    }

    /// Starts `tickmesh serve <service>`.
    pub fn serve(&self, service: &str, overrides: &[(&str, String)]) -> Proc {
        Proc::start(service, &["serve", service], &self.env_with(overrides))
    }

    /// Starts `tickmesh serve <service>` listening on `addr` (to restart it at the same address).
    pub fn serve_at(&self, service: &str, addr: &str, overrides: &[(&str, String)]) -> Proc {
        Proc::start(
            service,
            &["serve", service, "--listen", addr],
            &self.env_with(overrides),
        )
    }

    /// Starts storage (with `storage_env` overrides), the bridge and ingestion, and lets the
    /// simulators generate once ingestion is connected.
    pub async fn start_flowing(&self, storage_env: &[(&str, String)]) -> Services {
        let storage = self.serve("storage", storage_env);
        let bridge = self.serve("bridge", &[]);
        let ingestion = self.serve("ingestion", &[]);
        self.sims.wait_connected().await;
        self.sims.resume();
        Services {
            storage,
            bridge,
            ingestion,
        }
    }

    /// Stops the simulators and waits until PostgreSQL holds exactly the trades they
    /// emitted: none missing, none twice, and the candles count each trade once.
    pub async fn assert_converges(&self) {
        self.assert_converges_for(|_| true).await;
    }

    /// [`Mesh::assert_converges`] over the trades `keep` selects (by exchange, market, id).
    pub async fn assert_converges_for(&self, keep: impl Fn(&(String, String, i64)) -> bool) {
        self.sims.pause();
        let emitted: Vec<_> = self
            .sims
            .emitted()
            .into_iter()
            .filter(|t| keep(t))
            .collect();
        assert!(
            emitted.len() > 50,
            "the simulators emitted only {} trades",
            emitted.len()
        );
        let db = Database::connect(self.db.url.as_str()).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let last = loop {
            let stored: Vec<_> = stored_trades(&db)
                .await
                .into_iter()
                .filter(|t| keep(t))
                .collect();
            if stored == emitted || tokio::time::Instant::now() >= deadline {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if last != emitted {
            let missing: Vec<_> = emitted
                .iter()
                .filter(|t| !last.contains(t))
                .take(10)
                .collect();
            let mut distinct = last.clone();
            distinct.dedup();
            let repeats = last.len() - distinct.len();
            let unexpected: Vec<_> = distinct
                .iter()
                .filter(|t| !emitted.contains(t))
                .take(10)
                .collect();
            panic!(
                "postgres holds {} trades, the simulators emitted {}; {repeats} repeats; missing (first 10): {missing:?}; unexpected: {unexpected:?}",
                last.len(),
                emitted.len()
            );
        }
        let candles = candle_trade_count(&db).await;
        assert_eq!(
            candles,
            i64::try_from(stored_trades(&db).await.len()).unwrap(),
            "the 1m candles must count every stored trade once"
        );
        eprintln!(
            "converged: {} trades in postgres equal the {} emitted",
            last.len(),
            emitted.len()
        );
    }

    /// Drops the database.
    pub async fn finish(self) {
        self.db.drop_now().await;
    }
}

/// The three data-plane processes.
pub struct Services {
    /// `tickmesh serve storage`.
    pub storage: Proc,
    /// `tickmesh serve bridge`.
    pub bridge: Proc,
    /// `tickmesh serve ingestion`.
    pub ingestion: Proc,
}

impl Services {
    /// Stops each with SIGTERM, upstream first, and checks that each exits cleanly.
    pub fn terminate(self) {
        self.ingestion.terminate();
        self.bridge.terminate();
        self.storage.terminate();
    }
}

/// Lets the mesh run for `d`.
pub async fn run_for(d: Duration) {
    tokio::time::sleep(d).await;
}
