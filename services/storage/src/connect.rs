//! Opening the database from a URL.

use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::StorageError;

/// How long a SQLite statement waits for another connection's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a PostgreSQL connection, so an unreachable server fails a batch
/// quickly and the caller's backoff takes over.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pooled SQLite connections for a file: WAL lets readers run beside the one writer.
const SQLITE_FILE_CONNECTIONS: u32 = 4;

/// Opens the database at `url`: `sqlite:` (`sqlite://path.db`, `sqlite::memory:`) or
/// `postgres://` / `postgresql://`.
///
/// A SQLite file is created when missing and put in WAL mode with a busy timeout, so the
/// embedded mode's writers and readers wait for each other instead of failing. An in-memory
/// SQLite database uses one connection, since every connection would see a different one.
/// Migrations are not run here; see `tickmesh_migrations::migrate`.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StorageError> {
    let scheme = url.split_once(':').map_or(url, |(s, _)| s);
    let mut options = ConnectOptions::new(url);
    // Statement logging at info would log every batch; errors reach the caller anyway.
    options.sqlx_logging(false);
    let backend = match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            options
                .max_connections(if in_memory {
                    1
                } else {
                    SQLITE_FILE_CONNECTIONS
                })
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        // As on PostgreSQL below: the writer's statements are never the same
                        // twice, and a cached 2,000-row insert holds megabytes (the bench saw
                        // the embedded process grow 4 MB/s until the cache filled).
                        .statement_cache_capacity(0)
                });
            "sqlite"
        }
        "postgres" | "postgresql" => {
            options
                .connect_timeout(CONNECT_TIMEOUT)
                .acquire_timeout(CONNECT_TIMEOUT)
                // The writer's multi-row inserts differ in row count from batch to batch, so
                // each would be prepared and cached anew on every connection, in this process
                // and in the server, never to be reused: keep no statement cache.
                .map_sqlx_postgres_opts(|opts| opts.statement_cache_capacity(0));
            "postgres"
        }
        _ => {
            return Err(StorageError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            });
        }
    };
    Database::connect(options)
        .await
        .map_err(|source| StorageError::Connect { backend, source })
}
