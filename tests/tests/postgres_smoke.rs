//! PostgreSQL through sea-orm: a transaction that rolls back leaves nothing, one that commits
//! keeps everything, and NUMERIC keeps every digit of a decimal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr as _;

use rust_decimal::Decimal;
use sea_orm::{
    ConnectionTrait as _, Database, DatabaseConnection, Statement, TransactionTrait as _,
};
use tickmesh_e2e::{database_url, unique, unreachable};

async fn connect() -> DatabaseConnection {
    let url = database_url();
    Database::connect(url.as_str())
        .await
        .unwrap_or_else(|e| unreachable("postgresql", &url, &e))
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("select count(*) as n from {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn transactions_roll_back_and_commit_and_numeric_is_exact() {
    let db = connect().await;
    assert_eq!(db.get_database_backend(), sea_orm::DbBackend::Postgres);
    let table = unique("smoke_trades");
    db.execute_unprepared(&format!(
        "create table {table} (trade_id bigint primary key, price numeric not null)"
    ))
    .await
    .unwrap();
    let price = Decimal::from_str("95078733694.3792000000000000").unwrap();
    let insert = |id: i64| {
        Statement::from_sql_and_values(
            db.get_database_backend(),
            format!("insert into {table} (trade_id, price) values ($1, $2)"),
            [id.into(), price.into()],
        )
    };

    let txn = db.begin().await.unwrap();
    txn.execute(insert(1)).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(
        count(&db, &table).await,
        0,
        "a rolled back insert leaves no row"
    );

    // An id above 2^53, which a JSON double would have rounded.
    let big_id = (1_i64 << 53) + 1;
    let txn = db.begin().await.unwrap();
    txn.execute(insert(big_id)).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(count(&db, &table).await, 1);

    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("select trade_id, price from {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "trade_id").unwrap(), big_id);
    let stored: Decimal = row.try_get("", "price").unwrap();
    assert_eq!(stored.to_string(), "95078733694.3792000000000000");

    db.execute_unprepared(&format!("drop table {table}"))
        .await
        .unwrap();
}
