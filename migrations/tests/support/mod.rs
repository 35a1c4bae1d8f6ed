//! Helpers the migration tests share. Each test file is its own crate and uses some of them.
#![allow(dead_code)]

use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// A new SQLite database in a file in `dir`.
pub async fn sqlite(dir: &tempfile::TempDir) -> DatabaseConnection {
    let path = dir.path().join("tickmesh.db");
    Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap()
}

/// The column `r` of every row `sql` returns, as text.
pub async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "r").unwrap())
        .collect()
}
