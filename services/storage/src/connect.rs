//! Opening the database from a URL.

use std::path::{Path, PathBuf};
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
                        // twice, and a cached 2,000-row insert holds megabytes (under the bench
                        // the embedded process kept growing until the cache filled).
                        .statement_cache_capacity(0)
                });
            "sqlite"
        }
        "postgres" | "postgresql" => {
            refuse_unknown_credentials(url)?;
            options
                .connect_timeout(CONNECT_TIMEOUT)
                .acquire_timeout(CONNECT_TIMEOUT)
                // The writer's multi-row inserts differ in row count from batch to batch, so
                // each would be prepared and cached anew on every connection, in this process
                // and in the server, never to be reused: keep no statement cache.
                .map_sqlx_postgres_opts({
                    let ca: Option<PathBuf> = ca.map(Path::to_owned);
                    move |opts| {
                        let opts = opts.statement_cache_capacity(0);
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
