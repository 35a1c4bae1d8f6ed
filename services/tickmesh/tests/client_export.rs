//! Exports of stored data, read back and compared row for row with the database: a day of
//! trades to Parquet (read by pyarrow, not by us) and to CSV, and tickers and candles, from
//! `tickmesh up --simulate` with a day of ADA/KRW seeded into its SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use serde_json::Value as Json;
use support::cli::run;
use support::process::Proc;
use support::seed::seed_a_day_of_ada;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_trades_exports_to_parquet_and_csv_exactly() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let env = vec![("TICKMESH__DATABASE__URL".to_owned(), url.clone())];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "5"], &env);
    let server = format!("http://{}", up.grpc);
    let db = Database::connect(url.as_str()).await.unwrap();
    seed_a_day_of_ada(&db).await;
    exports_read_back_row_for_row(&server, &db, data.path()).await;
    up.terminate();
}

/// Exports: a day of trades to Parquet and CSV, read back (Parquet by pyarrow) and compared
/// row for row with the database; tickers and candles counted.
async fn exports_read_back_row_for_row(
    server: &str,
    db: &DatabaseConnection,
    dir: &std::path::Path,
) {
    let stored = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "select t.trade_id, t.exchange_time_us, t.received_time_us, t.price, t.size,
             case cast(t.side as text) when 'b' then 'buy' when 's' then 'sell'
               else cast(t.side as text) end as side
             from trades t join markets m on m.id = t.market_id
             where m.exchange = 'upbit' and m.market = 'ADA/KRW'
             order by t.exchange_time_us, t.trade_id",
        ))
        .await
        .unwrap();
    assert_eq!(stored.len(), 86_400);
    let day = ["--from", "2025-01-01", "--to", "2025-01-02", "--utc"];
    let export = |out: &std::path::Path, extra: &[&str]| {
        let out = out.display().to_string();
        let mut args = vec!["export", "ADA", "--out", &out, "--output", "json"];
        args.extend(day);
        args.extend(extra);
        let (code, stdout, err) = run(server, &args, &[]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Json>(&stdout).unwrap()
    };

    let parquet = dir.join("ada.parquet");
    let summary = export(&parquet, &[]);
    assert_eq!(summary["rows"], 86_400, "{summary}");
    assert!(!dir.join("ada.parquet.partial").exists());
    let rows = pyarrow_rows(&parquet);
    assert_eq!(rows.len(), stored.len());
    for (row, db_row) in rows.iter().zip(&stored) {
        let id: i64 = db_row.try_get("", "trade_id").unwrap();
        let time: i64 = db_row.try_get("", "exchange_time_us").unwrap();
        let price: String = db_row.try_get("", "price").unwrap();
        let size: String = db_row.try_get("", "size").unwrap();
        let side: String = db_row.try_get("", "side").unwrap();
        assert_eq!(row[0].as_u64(), Some(id as u64));
        assert_eq!(row[1].as_i64(), Some(time));
        // DECIMAL(38, 18) holds the value exactly (its scale is the column's).
        let decimal = |v: &Json| v.as_str().unwrap().parse::<Decimal>().unwrap();
        assert_eq!(decimal(&row[2]), price.parse::<Decimal>().unwrap());
        assert_eq!(decimal(&row[3]), size.parse::<Decimal>().unwrap());
        assert_eq!(row[4].as_str(), Some(side.as_str()));
    }

    let csv = dir.join("ada.csv");
    export(&csv, &[]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time,exchange,market,trade_id,price,size,side,received_time")
    );
    for (line, db_row) in lines.zip(&stored) {
        let fields: Vec<&str> = line.split(',').collect();
        let id: i64 = db_row.try_get("", "trade_id").unwrap();
        let price: String = db_row.try_get("", "price").unwrap();
        let size: String = db_row.try_get("", "size").unwrap();
        // CSV keeps each decimal exactly as stored, scale included.
        assert_eq!(
            (fields[3], fields[4], fields[5]),
            (id.to_string().as_str(), price.as_str(), size.as_str())
        );
    }
    assert_eq!(text.lines().count(), 86_401);

    let tickers = export(&dir.join("tickers.csv"), &["--kind", "tickers"]);
    assert_eq!(tickers["rows"], 1440, "{tickers}");
    let candles = dir.join("candles.parquet");
    let summary = export(&candles, &["--kind", "candles", "--interval", "1h"]);
    assert_eq!(summary["rows"], 24, "{summary}");
}

/// The trades of a Parquet file as pyarrow reads them: `[trade_id, time µs, price, size, side]`.
fn pyarrow_rows(path: &std::path::Path) -> Vec<Vec<Json>> {
    const SCRIPT: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
assert str(t.schema.field("price").type) == "decimal128(38, 18)", t.schema
assert str(t.schema.field("time").type) == "timestamp[us, tz=UTC]", t.schema
ids = t.column("trade_id").to_pylist()
times = t.column("time").cast(pa.int64()).to_pylist()
prices = t.column("price").to_pylist()
sizes = t.column("size").to_pylist()
sides = t.column("side").to_pylist()
out = sys.stdout
for row in zip(ids, times, prices, sizes, sides):
    out.write(json.dumps([row[0], row[1], str(row[2]), str(row[3]), row[4]]) + "\n")
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &path.display().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow could not read the export (./scripts/test.sh installs pyarrow): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
