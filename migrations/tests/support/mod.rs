//! Helpers the migration tests share.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The column `r` of every row `sql` returns, as text.
pub async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "r").unwrap())
        .collect()
}
