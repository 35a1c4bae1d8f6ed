//! Opening the database from a URL: the writer's pool ([`connect`]) and the smaller pool
//! `HistoryService` reads from ([`connect_history`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::StorageError;
use crate::history::HistoryConfig;

/// How long a SQLite statement waits for another connection's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a PostgreSQL connection, so an unreachable server fails a batch
/// quickly and the caller's backoff takes over; also how long a history read waits for a
/// free connection of its pool.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pooled SQLite connections for a file, all opened at start: the one writer (SQLite runs one
/// writer at a time) and one reader, which WAL runs beside it, for the subscription store and
/// the writer's own look-ups. Each connection costs a thread and its own page cache (up to
/// 2 MiB by default), so a pool that opened more on demand gave the embedded process a
/// footprint that depended on start-up timing. History reads have their own pool.
const SQLITE_FILE_CONNECTIONS: u32 = 2;

/// Opens the database at `url`: `sqlite:` (`sqlite://path.db`, `sqlite::memory:`) or
/// `postgres://` / `postgresql://`.
///
/// A SQLite file is created when missing and put in WAL mode with a busy timeout, so the
/// embedded mode's writers and readers wait for each other instead of failing. An in-memory
/// SQLite database uses one connection, since every connection would see a different one.
/// Migrations are not run here; see `tickmesh_migrations::migrate`.
///
/// PostgreSQL uses TLS as the URL's `sslmode` says: `prefer` (the default) when the server
/// offers it, `require` always, `verify-ca` checking the server's certificate against the CA
/// (`sslrootcert` in the URL, or [`connect_with_ca`]'s file), `verify-full` also checking
/// that it names the host.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StorageError> {
    connect_with_ca(url, None).await
}

/// [`connect`], trusting the PEM CA certificate `ca` for a PostgreSQL server's certificate.
pub async fn connect_with_ca(
    url: &str,
    ca: Option<&Path>,
) -> Result<DatabaseConnection, StorageError> {
    open(url, ca, None).await
}

/// Opens the pool `HistoryService` reads from, beside `writer` (the pool [`connect_with_ca`]
/// opened on the same `url`): `config.connections` connections, each of which PostgreSQL stops
/// a statement on after `config.statement_timeout`. A read waits at most [`CONNECT_TIMEOUT`]
/// for a free connection.
///
/// A SQLite file gets a pool of readers, which WAL runs beside the writer; SQLite has no
/// statement timeout. An in-memory SQLite database is `writer` itself, since a connection of
/// another pool would see another, empty, database.
pub async fn connect_history(
    url: &str,
    ca: Option<&Path>,
    config: &HistoryConfig,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, StorageError> {
    if scheme(url).eq_ignore_ascii_case("sqlite") && in_memory(url) {
        return Ok(writer.clone());
    }
    open(url, ca, Some(config)).await
}

fn scheme(url: &str) -> &str {
    url.split_once(':').map_or(url, |(s, _)| s)
}

fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Opens the writer's pool (`history` unset) or the history pool.
async fn open(
    url: &str,
    ca: Option<&Path>,
    history: Option<&HistoryConfig>,
) -> Result<DatabaseConnection, StorageError> {
    let scheme = scheme(url);
    let mut options = ConnectOptions::new(url);
    // Statement logging at info would log every batch; errors reach the caller anyway.
    options.sqlx_logging(false);
    if let Some(history) = history {
        options
            .max_connections(history.connections)
            .acquire_timeout(CONNECT_TIMEOUT);
    }
    let backend = match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            if history.is_none() {
                let connections = if in_memory(url) {
                    1
                } else {
                    SQLITE_FILE_CONNECTIONS
                };
                options
                    .max_connections(connections)
                    .min_connections(connections);
            }
            options.map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    // As on PostgreSQL below: the writer's statements are never the same
                    // twice, and a cached 2,000-row insert holds megabytes (under the bench
                    // the embedded process kept growing until the cache filled).
                    .statement_cache_capacity(0)
            });
            "sqlite"
        }
        "postgres" | "postgresql" => {
            refuse_unknown_credentials(url)?;
            // Whole milliseconds, at least one: PostgreSQL reads 0 as no timeout at all.
            let timeout = history.map(|h| h.statement_timeout.as_millis().max(1));
            options
                .connect_timeout(CONNECT_TIMEOUT)
                .acquire_timeout(CONNECT_TIMEOUT)
                // The writer's multi-row inserts differ in row count from batch to batch, so
                // each would be prepared and cached anew on every connection, in this process
                // and in the server, never to be reused: keep no statement cache.
                .map_sqlx_postgres_opts({
                    let ca: Option<PathBuf> = ca.map(Path::to_owned);
                    move |opts| {
                        let mut opts = opts.statement_cache_capacity(0);
                        if let Some(ms) = timeout {
                            // Startup parameters, so every connection of the pool has them
                            // from its first statement on, also after a reconnect. JIT off:
                            // compiling the roll-ups cost more than it saved
                            // (docs/benchmarks.md).
                            opts = opts.options([
                                ("statement_timeout", ms.to_string()),
                                ("jit", "off".to_owned()),
                            ]);
                        }
                        match &ca {
                            Some(ca) => opts.ssl_root_cert(ca),
                            None => opts,
                        }
                    }
                });
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

/// The query parameters of a PostgreSQL URL that the driver reads; it logs any other, value
/// and all, at `warn` and ignores it.
const KNOWN_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Refuses a credential-named parameter the driver would log (`sslpassword=...`, say) rather
/// than let its value reach the log.
fn refuse_unknown_credentials(url: &str) -> Result<(), StorageError> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(());
    };
    let query = query.split('#').next().unwrap_or_default();
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or_default();
        let known = KNOWN_PARAMETERS.contains(&name) || name.starts_with("options[");
        if !known && tickmesh_secret::is_credential_name(name) {
            return Err(StorageError::UnsupportedParameter {
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_parameters_the_driver_would_log_are_refused() {
        assert!(
            refuse_unknown_credentials("postgres://u:p@h/d?sslmode=require&password=x").is_ok()
        );
        let err = refuse_unknown_credentials("postgres://h/d?sslmode=require&sslpassword=Sekrit")
            .unwrap_err();
        assert!(
            matches!(err, StorageError::UnsupportedParameter { ref name } if name == "sslpassword")
        );
        assert!(!err.to_string().contains("Sekrit"));
    }
}
