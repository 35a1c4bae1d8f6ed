//! One port per exchange: plain HTTP for the REST endpoints and the WebSocket upgrade on the
//! exchange's WebSocket path, served by hyper with the handshake done here.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tickmesh_domain::Exchange;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::ws::{self, Dialect};
use crate::{Fault, SimulatorConfig, ws_path};

/// REST requests whose arrival is remembered, newest kept.
const REST_LOG_CAPACITY: usize = 10_000;

/// The REST side's fault and request log.
#[derive(Debug, Default)]
pub(crate) struct RestState {
    /// Delay before every answer, in microseconds.
    delay_micros: AtomicU64,
    /// Arrival of the latest requests, oldest first, at most [`REST_LOG_CAPACITY`].
    arrivals: Mutex<VecDeque<Instant>>,
}

impl RestState {
    pub(crate) fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay_micros.store(micros, Ordering::Relaxed);
    }

    fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_micros.load(Ordering::Relaxed))
    }

    fn arrived(&self) {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if arrivals.len() == REST_LOG_CAPACITY {
            arrivals.pop_front();
        }
        arrivals.push_back(Instant::now());
    }

    pub(crate) fn arrivals(&self) -> Vec<Instant> {
        let arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        arrivals.iter().copied().collect()
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub config: Arc<SimulatorConfig>,
    pub faults: broadcast::Sender<Fault>,
    pub shutdown: CancellationToken,
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
    /// WebSocket connections ended so far.
    pub closed: Arc<std::sync::atomic::AtomicUsize>,
    /// The REST side's delay and request log.
    pub rest: Arc<RestState>,
}

/// Accepts connections until shutdown.
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
    loop {
        let stream = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // An exchange sends each event as its own small frame the moment it
                    // happens; with Nagle's algorithm a frame could wait for the previous
                    // one's acknowledgement (up to the peer's delayed-ACK timer).
                    let _ = stream.set_nodelay(true);
                    stream
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    continue;
                }
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn body(status: StatusCode, text: String, json: bool) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    if json && let Ok(value) = header::HeaderValue::from_str("application/json; charset=utf-8") {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

async fn handle(
    req: Request<Incoming>,
    shared: Shared,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let exchange = shared.engine.exchange();
    let path = req.uri().path().to_owned();
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        shared.rest.arrived();
        let delay = shared.rest.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let query = req.uri().query().unwrap_or("").to_owned();
        let (status, text) = crate::rest::respond(&shared.engine, &path, &query);
        return Ok(body(status, text, true));
    }
    if path != ws_path(exchange) {
        return Ok(body(
            StatusCode::NOT_FOUND,
            format!("no websocket at {path}\n"),
            false,
        ));
    }
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return Ok(body(
            StatusCode::BAD_REQUEST,
            "missing sec-websocket-key\n".to_owned(),
            false,
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    let mut response = body(StatusCode::SWITCHING_PROTOCOLS, String::new(), false);
    let headers = response.headers_mut();
    headers.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "simulator websocket upgrade failed");
                return;
            }
        };
        // Clients send a few small requests; tungstenite zeroes the free read buffer (128 KiB
        // by default) before every read attempt, which is each time the connection loop
        // polls for requests between events.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let dialect: Box<dyn Dialect> = match exchange {
            Exchange::Korbit => Box::new(ws::korbit::Korbit::new()),
            other => Box::new(ws::quotation::Quotation::new(other)),
        };
        let connections = shared.connections.clone();
        let closed = shared.closed.clone();
        connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ws::run(
            socket,
            dialect,
            shared.engine,
            shared.config,
            shared.faults.subscribe(),
            shared.shutdown,
        )
        .await;
        connections.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        closed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    Ok(response)
}
