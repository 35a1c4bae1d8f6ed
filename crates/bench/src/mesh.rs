//! The services under test, each a child process of the `tickmesh` binary, so the CPU time
//! and memory each uses are its own. Every run gets names of its own (Redis stream, Kafka
//! topics, consumer groups, database), so runs never see each other's data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, Statement};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use crate::{BenchConfig, Mode};

/// How long a service has to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a service has to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// One running service.
#[derive(Debug)]
pub(crate) struct Service {
    /// `tickmesh`, or the service name in a distributed run.
    pub(crate) name: String,
    pub(crate) pid: u32,
    child: Child,
    log: PathBuf,
}

/// The running mesh.
#[derive(Debug)]
pub(crate) struct Mesh {
    pub(crate) services: Vec<Service>,
    /// `http://127.0.0.1:PORT` of the process serving StreamTicks.
    pub(crate) stream_addr: String,
    /// Where storage writes, for the bench to poll.
    pub(crate) database_url: String,
    /// A PostgreSQL database made for this run: admin URL and name, dropped at the end.
    scratch: Option<(String, String)>,
    /// The Redis URL and stream of a distributed run, deleted at the end (it holds up to
    /// `bus.stream_maxlen` events).
    stream: Option<(String, String)>,
    /// `127.0.0.1:PORT` of the metrics endpoint of the process running ingestion.
    ingestion_metrics: String,
}

impl Mesh {
    /// Events ingestion dropped under its overflow policy so far.
    pub(crate) async fn ingestion_dropped(&self) -> anyhow::Result<u64> {
        crate::dropped::scrape(&self.ingestion_metrics).await
    }

    /// Records on the Redis stream the bridge has not finished (not yet delivered, plus
    /// delivered but unacknowledged); `None` in embedded mode or when Redis does not answer,
    /// since this is only a progress reading.
    pub(crate) async fn stream_backlog(&self) -> Option<u64> {
        let (url, stream) = self.stream.as_ref()?;
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(stream)
            .query_async(&mut conn)
            .await
            .ok()?;
        let number = |group: &HashMap<String, redis::Value>, field: &str| match group.get(field) {
            Some(redis::Value::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        groups
            .iter()
            .map(|g| Some(number(g, "lag")? + number(g, "pending")?))
            .sum()
    }
}

/// A free loopback port (bound, read, released: another process could take it first, which
/// then fails that service's start with a clear error).
pub(crate) async fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// `url` with its database name replaced by `name`.
pub(crate) fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").context("the database url has no scheme")? + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

impl Mesh {
    /// A mesh with no service yet, over `database_url`; `scratch` (admin URL and name) is a
    /// PostgreSQL database made for this run, dropped by [`Mesh::stop`].
    pub(crate) fn without_services(
        database_url: String,
        scratch: Option<(String, String)>,
    ) -> Mesh {
        Mesh {
            services: Vec::new(),
            stream_addr: String::new(),
            database_url,
            scratch,
            stream: None,
            ingestion_metrics: String::new(),
        }
    }

    /// Starts the services of `config.mode`, collecting from the simulators `feeds_env`
    /// points at, and waits until each listens.
    pub(crate) async fn start(
        config: &BenchConfig,
        id: &str,
        feeds_env: Vec<(String, String)>,
    ) -> anyhow::Result<Mesh> {
        // Warnings only, through the setting rather than `RUST_LOG` (which the services
        // prefer over it): `--service-env TICKMESH__LOG__FILTER=...` can then raise it. An
        // empty `RUST_LOG` counts as unset, and keeps the caller's out of the services.
        let mut env = vec![
            ("RUST_LOG".to_owned(), String::new()),
            ("TICKMESH__LOG__FILTER".to_owned(), "warn".to_owned()),
            ("TICKMESH__METRICS__LISTEN".to_owned(), "off".to_owned()),
        ];
        env.extend(feeds_env);
        let (database_url, scratch) = match (&config.database_url, config.mode) {
            (Some(url), _) => {
                let name = format!("tickmesh_bench_{id}");
                create_database(url, &name).await?;
                (with_database(url, &name)?, Some((url.clone(), name)))
            }
            (None, Mode::Embedded) => {
                // A fresh file: the counts at the end must be this run's alone.
                let file = config.work_dir.join("bench.db");
                for suffix in ["", "-wal", "-shm"] {
                    let path = PathBuf::from(format!("{}{suffix}", file.display()));
                    if path.exists() {
                        std::fs::remove_file(&path)
                            .with_context(|| format!("cannot remove {}", path.display()))?;
                    }
                }
                (format!("sqlite://{}", file.display()), None)
            }
            (None, Mode::Distributed) => {
                anyhow::bail!("a distributed run needs a PostgreSQL url (--database-url)")
            }
        };
        env.push(("TICKMESH__DATABASE__URL".to_owned(), database_url.clone()));
        let mut mesh = Mesh {
            services: Vec::new(),
            stream_addr: String::new(),
            database_url,
            scratch,
            stream: None,
            ingestion_metrics: String::new(),
        };
        // Metrics stay off except where ingestion runs: its dropped-events counter tells
        // overflow-policy drops from loss downstream (`crate::dropped`). Its port is picked
        // just before that process starts, as the listen ports are: a port picked seconds
        // earlier can meanwhile become another socket's ephemeral port, and the service's
        // start then fails with "address already in use".
        match config.mode {
            Mode::Embedded => {
                env.push(mesh.metrics_on().await?);
                env.extend(config.service_env.iter().cloned());
                let port = free_port().await?;
                mesh.spawn(config, "tickmesh", &["up"], port, &env).await?;
                mesh.stream_addr = format!("http://127.0.0.1:{port}");
            }
            Mode::Distributed => {
                let stream = format!("tickmesh:bench-{id}:events");
                mesh.stream = Some((config.redis_url.clone(), stream.clone()));
                env.extend(
                    [
                        ("TICKMESH__BUS__REDIS_URL", config.redis_url.clone()),
                        ("TICKMESH__BUS__KAFKA_BROKERS", config.kafka_brokers.clone()),
                        ("TICKMESH__BUS__KAFKA_OPTIONS", config.kafka_options.clone()),
                        (
                            "TICKMESH__BUS__STREAM",
                            format!("tickmesh:bench-{id}:events"),
                        ),
                        ("TICKMESH__BUS__TOPIC_PREFIX", format!("bench-{id}.")),
                        ("TICKMESH__BRIDGE__GROUP", format!("bridge-{id}")),
                        ("TICKMESH__STORAGE__GROUP", format!("storage-{id}")),
                        // Four services and the infrastructure share the machine: one worker
                        // each saves the context switches of workers parking and waking
                        // (docs/benchmarks.md). `--service-env` can set it back to `auto`.
                        ("TICKMESH__RUNTIME__WORKER_THREADS", "1".to_owned()),
                    ]
                    .map(|(k, v)| (k.to_owned(), v)),
                );
                // Flow order, storage first: it applies the migrations the others rely on.
                for service in ["storage", "subscription", "bridge"] {
                    let mut env = env.clone();
                    env.extend(config.service_env.iter().cloned());
                    let port = free_port().await?;
                    mesh.spawn(config, service, &["serve", service], port, &env)
                        .await?;
                    if service == "subscription" {
                        mesh.stream_addr = format!("http://127.0.0.1:{port}");
                    }
                }
                let replicas = config.failover.replicas.max(1);
                for i in 1..=replicas {
                    let mut env = env.clone();
                    // The last replica is never killed or stopped: its counters are read.
                    if i == replicas {
                        env.push(mesh.metrics_on().await?);
                    }
                    let name = if replicas == 1 {
                        "ingestion".to_owned()
                    } else {
                        env.extend(
                            [
                                ("TICKMESH__INGESTION__REPLICATED", "true".to_owned()),
                                ("TICKMESH__INGESTION__MEMBER", crate::failover::member(i)),
                            ]
                            .map(|(k, v)| (k.to_owned(), v)),
                        );
                        format!("ingestion-{i}")
                    };
                    env.extend(config.service_env.iter().cloned());
                    let port = free_port().await?;
                    mesh.spawn(config, &name, &["serve", "ingestion"], port, &env)
                        .await?;
                }
            }
        }
        Ok(mesh)
    }

    /// Picks the metrics port of the process about to start and returns the setting that
    /// makes it listen there.
    async fn metrics_on(&mut self) -> anyhow::Result<(String, String)> {
        self.ingestion_metrics = format!("127.0.0.1:{}", free_port().await?);
        Ok((
            "TICKMESH__METRICS__LISTEN".to_owned(),
            self.ingestion_metrics.clone(),
        ))
    }

    async fn spawn(
        &mut self,
        config: &BenchConfig,
        name: &str,
        args: &[&str],
        port: u16,
        env: &[(String, String)],
    ) -> anyhow::Result<()> {
        self.spawn_from(&config.exe, &config.work_dir, name, args, port, env)
            .await
    }

    /// Runs `exe` with `args` as the service `name`, logging to `work_dir`, and waits until it
    /// listens on `port`.
    pub(crate) async fn spawn_from(
        &mut self,
        exe: &Path,
        work_dir: &Path,
        name: &str,
        args: &[&str],
        port: u16,
        env: &[(String, String)],
    ) -> anyhow::Result<()> {
        let log = work_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = file.try_clone().context("cannot share the log file")?;
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(exe)
            .args(args)
            .args(["--listen", &listen])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        let pid = child.id().context("the service exited at once")?;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&listen).await.is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                anyhow::bail!(
                    "{name} exited with {status} while starting; its log ({}):\n{}",
                    log.display(),
                    tail(&log)
                );
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{name} did not listen on {listen} within {START_TIMEOUT:?}; its log:\n{}",
                    tail(&log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.services.push(Service {
            name: name.to_owned(),
            pid,
            child,
            log,
        });
        Ok(())
    }

    /// Sends `signal` (`KILL`, `TERM`) to the service `name`, which is then no longer
    /// watched or stopped; `false` if there is no such service.
    pub(crate) async fn signal(&mut self, name: &str, signal: &str) -> anyhow::Result<bool> {
        let Some(index) = self.services.iter().position(|s| s.name == name) else {
            return Ok(false);
        };
        let mut service = self.services.remove(index);
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &service.pid.to_string()])
            .status()
            .await
            .with_context(|| format!("cannot run kill -{signal} for {name}"))?;
        anyhow::ensure!(sent.success(), "kill -{signal} {name} failed");
        // Reaped aside, so the run goes on measuring meanwhile; killed if it overstays.
        tokio::spawn(async move {
            if tokio::time::timeout(STOP_TIMEOUT, service.child.wait())
                .await
                .is_err()
            {
                let _ = service.child.kill().await;
            }
        });
        Ok(true)
    }

    /// The Redis URL and stream of a distributed run.
    pub(crate) fn stream(&self) -> Option<(&str, &str)> {
        self.stream.as_ref().map(|(u, s)| (u.as_str(), s.as_str()))
    }

    /// A service that exited on its own, with its log, if one did.
    pub(crate) fn exited(&mut self) -> Option<String> {
        self.services.iter_mut().find_map(|s| {
            let status = s.child.try_wait().ok().flatten()?;
            Some(format!(
                "{} exited with {status}; its log ({}):\n{}",
                s.name,
                s.log.display(),
                tail(&s.log)
            ))
        })
    }

    /// Stops every service (SIGTERM, then SIGKILL after a grace period), newest first, and
    /// drops the run's database.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        while let Some(mut service) = self.services.pop() {
            // SIGTERM through kill(1): this crate forbids unsafe code, which libc's kill needs.
            let _ = Command::new("kill")
                .args(["-TERM", &service.pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(STOP_TIMEOUT, service.child.wait())
                .await
                .is_err()
            {
                let _ = service.child.kill().await;
            }
        }
        if let Some((url, stream)) = self.stream.take() {
            let client = redis::Client::open(url.as_str())
                .with_context(|| format!("cannot reach Redis at {url} to delete {stream}"))?;
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .with_context(|| format!("cannot reach Redis at {url} to delete {stream}"))?;
            redis::cmd("DEL")
                .arg(&stream)
                .query_async::<()>(&mut conn)
                .await
                .with_context(|| format!("cannot delete the bench stream {stream}"))?;
        }
        if let Some((admin, name)) = self.scratch.take() {
            let db = Database::connect(admin.as_str())
                .await
                .context("cannot reconnect to drop the bench database")?;
            db.execute(Statement::from_string(
                db.get_database_backend(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ))
            .await
            .with_context(|| format!("cannot drop database {name}"))?;
        }
        Ok(())
    }
}

pub(crate) async fn create_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let db = Database::connect(admin_url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {admin_url}"))?;
    db.execute(Statement::from_string(
        db.get_database_backend(),
        format!("CREATE DATABASE {name}"),
    ))
    .await
    .with_context(|| format!("cannot create database {name}"))?;
    Ok(())
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "b").unwrap(),
            "postgres://u@h:5432/b"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "b").unwrap(),
            "postgres://u@h:5432/b"
        );
        assert_eq!(
            with_database("postgres://h/x?sslmode=disable", "b").unwrap(),
            "postgres://h/b?sslmode=disable"
        );
    }
}
