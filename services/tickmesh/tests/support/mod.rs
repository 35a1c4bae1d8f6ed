//! What the process-level tests share: tickmesh processes, the simulators, a private
//! database, a cuttable TCP proxy and names no other run uses.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod cli;
pub mod mesh;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod seed;
pub mod sims;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};

/// A PostgreSQL database made for one test and dropped after it.
pub struct TempDatabase {
    admin: DatabaseConnection,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl TempDatabase {
    /// Creates `tickmesh_<unique>` on the test server.
    pub async fn create(prefix: &str) -> TempDatabase {
        let admin_url = tickmesh_e2e::database_url();
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| tickmesh_e2e::unreachable("postgresql", &admin_url, &e));
        let name = tickmesh_e2e::unique(prefix).to_ascii_lowercase();
        admin
            .execute_unprepared(&format!("create database {name}"))
            .await
            .unwrap();
        let (head, host, _) = split_url(&admin_url);
        let url = format!("{head}{host}/{name}");
        TempDatabase { admin, name, url }
    }

    /// The URL with its host and port replaced by `addr` (to go through a proxy).
    pub fn url_via(&self, addr: std::net::SocketAddr) -> String {
        let (head, _, path) = split_url(&self.url);
        format!("{head}{addr}{path}")
    }

    /// The server's address.
    pub fn server_addr(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs as _;
        let (_, host, _) = split_url(&self.url);
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:5432")
        };
        host.to_socket_addrs().unwrap().next().unwrap()
    }

    /// Drops the database, closing whatever still uses it.
    pub async fn drop_now(self) {
        let sql = format!("drop database if exists {} with (force)", self.name);
        self.admin.execute_unprepared(&sql).await.unwrap();
    }
}

/// `postgres://user@host:port/db?x` as (`postgres://user@`, `host:port`, `/db?x`).
fn split_url(url: &str) -> (&str, &str, &str) {
    let scheme_end = url.find("://").expect("a url with a scheme") + 3;
    let host_start = url[scheme_end..]
        .find('@')
        .map_or(scheme_end, |at| scheme_end + at + 1);
    let host_end = url[host_start..]
        .find('/')
        .map_or(url.len(), |p| host_start + p);
    (
        &url[..host_start],
        &url[host_start..host_end],
        &url[host_end..],
    )
}

/// Every stored trade as `(exchange, market, trade_id)`, sorted, repeats kept.
pub async fn stored_trades(db: &DatabaseConnection) -> Vec<(String, String, i64)> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "select m.exchange, m.market, t.trade_id from trades t \
             join markets m on m.id = t.market_id \
             order by m.exchange, m.market, t.trade_id",
        ))
        .await
        .unwrap();
    trade_keys(rows)
}

/// Rows of `exchange`, `market` and `trade_id` as `(exchange, market, trade_id)`.
pub fn trade_keys(rows: Vec<sea_orm::QueryResult>) -> Vec<(String, String, i64)> {
    rows.into_iter()
        .map(|r| {
            (
                r.try_get("", "exchange").unwrap(),
                r.try_get("", "market").unwrap(),
                r.try_get("", "trade_id").unwrap(),
            )
        })
        .collect()
}

/// The number of trades the 1-minute candles account for.
pub async fn candle_trade_count(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "select cast(coalesce(sum(trade_count), 0) as bigint) as n from candles_1m",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Polls `check` every 100 ms until it returns `Some`, failing with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET /metrics over a raw HTTP/1.1 connection; the body.
pub fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    body.to_owned()
}
