//! Events ingestion dropped under its overflow policy, read from its metrics endpoint.
//!
//! When the bus cannot take events as fast as the exchanges send them, ingestion's bounded
//! buffer fills and `ingestion.overflow` (by default `drop-oldest`) decides what goes: a stated
//! policy, not a fault downstream. The bench reads the count so that such trades are reported
//! as dropped by ingestion, with the reason, rather than only as missing from the database.

use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The counter ingestion exports (docs/metrics.md).
const DROPPED: &str = "tickmesh_publisher_dropped_total";
/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the dropped-events counter from the OpenMetrics endpoint at `addr` (`host:port`).
pub(crate) async fn scrape(addr: &str) -> anyhow::Result<u64> {
    let body = tokio::time::timeout(SCRAPE_TIMEOUT, get_metrics(addr))
        .await
        .with_context(|| format!("{addr} did not answer within {SCRAPE_TIMEOUT:?}"))??;
    parse(&body).with_context(|| format!("{addr}/metrics has no {DROPPED} sample"))
}

/// `GET /metrics` over HTTP/1.0, which closes the connection after the body: no HTTP client
/// needed for one request at the end of a run.
async fn get_metrics(addr: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The value of the [`DROPPED`] sample in an OpenMetrics text body.
fn parse(body: &str) -> Option<u64> {
    body.lines().find_map(|line| {
        let value = line.strip_prefix(DROPPED)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_counter_is_read_from_its_own_sample_line() {
        let body = "HTTP/1.0 200 OK\r\n\r\n\
                    # HELP tickmesh_publisher_dropped Events lost to the overflow policy.\n\
                    # TYPE tickmesh_publisher_dropped counter\n\
                    tickmesh_publisher_dropped_total 253117\n\
                    tickmesh_publisher_dropped_total_other 9\n";
        assert_eq!(parse(body), Some(253_117));
        assert_eq!(parse("tickmesh_publisher_published_total 5\n"), None);
    }
}
