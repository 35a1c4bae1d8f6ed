//! Opening databases from URLs.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tickmesh_storage::{StorageError, connect};

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_sqlite_file_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let db = connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists());
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "wal");
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA busy_timeout",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 5_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_memory_sqlite_works() {
    let db = connect("sqlite::memory:").await.unwrap();
    // Every migration of this build (thirteen) applies to a new in-memory database.
    assert_eq!(tickmesh_migrations::migrate(&db).await.unwrap(), 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_schemes_are_rejected_by_name() {
    let err = connect("mysql://root@localhost/tickmesh")
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::UnsupportedUrl { .. }));
    assert_eq!(
        err.to_string(),
        "unsupported database url scheme `mysql`: expected sqlite: or postgres://"
    );
}
