//! Connections the adapter opens itself, speaking RESP2 through [`crate::resp`]: one per
//! stream consumer, and one for the event publisher.
//!
//! A consumer needs a connection of its own anyway (a blocking `XREADGROUP` would hold up
//! everyone on a shared one), and the publisher has one batch in flight at a time, so
//! neither needs redis-rs's multiplexing, and both spend less reading their replies with the
//! lean codec. The connection is opened lazily and dropped on any failure (I/O, timeout, a reply
//! it cannot read, or `READONLY` from a master demoted by a failover); the next command
//! reconnects, asking the sentinels again when configured so. Only a command that failed is
//! affected: it is reported, and the consumer's caller retries it.
//!
//! A connection is plain TCP, a unix socket or TLS (rustls) over TCP, behind one boxed
//! stream, so the hot path reads and writes the same way whichever it is; the login is
//! `AUTH [user] password` before anything else.

use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use tickmesh_bus::BusError;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::config::RedisConfig;
use crate::endpoint::Address;
use crate::resp::{self, Pipeline, ProtocolError, Reply, Request, Scan, ServerError};
use crate::tls;
use crate::{BACKEND, READ_SLACK};

/// How long a connection attempt, handshake included, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a command that does not block may wait for its reply.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes asked of the socket per read; a large reply takes several.
const READ_CHUNK: usize = 64 * 1024;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// Redis answered with an error; the connection is fine (except after `READONLY`).
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The connection failed or could not be made.
    #[error("redis connection: {0}")]
    Io(#[from] std::io::Error),
    /// The reply was not readable.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// No reply in time.
    #[error("redis did not reply within {0:?}")]
    Timeout(Duration),
    /// The master could not be located or the address is unusable.
    #[error(transparent)]
    Locate(#[from] BusError),
}

impl ConnError {
    /// The code of a Redis error reply (`NOGROUP`, `BUSYGROUP`), if that is what this is.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ConnError::Server(e) => Some(e.code()),
            _ => None,
        }
    }
}

impl From<ConnError> for BusError {
    /// Error replies that no retry can change (a key of another type, a user without the
    /// permission, credentials refused) are refusals; everything else (a connection, a
    /// timeout, `LOADING`, `READONLY` after a failover, `OOM`) may pass later.
    fn from(e: ConnError) -> BusError {
        match e {
            ConnError::Locate(e) => e,
            ConnError::Server(server)
                if matches!(
                    server.code(),
                    "WRONGTYPE" | "NOPERM" | "NOAUTH" | "WRONGPASS"
                ) =>
            {
                BusError::Rejected {
                    backend: BACKEND,
                    reason: server.to_string(),
                }
            }
            e => BusError::unavailable(BACKEND, e),
        }
    }
}

trait Socket: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Socket for T {}

struct Open {
    socket: Box<dyn Socket>,
    /// Bytes read and not yet returned as a reply.
    read: BytesMut,
    /// The command being sent.
    write: Vec<u8>,
    /// Set while a command is on the wire and its replies are not all read. Still set when the
    /// next command comes, the exchange was cancelled halfway (its future dropped, as a
    /// `select!` on shutdown does): replies may be pending, so the connection is not reused.
    busy: bool,
}

/// A lazily (re)opened connection to the Redis master for one user at a time.
pub(crate) struct DirectConn {
    config: RedisConfig,
    /// The connection's `CLIENT SETNAME`, so `CLIENT LIST` tells who it is.
    name: String,
    open: Option<Open>,
}

impl std::fmt::Debug for DirectConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectConn")
            .field("target", &self.config.target)
            .field("open", &self.open.is_some())
            .finish()
    }
}

impl DirectConn {
    /// A connection to the master `config` names, opened by its first command and named
    /// `name` on the server (printable ASCII without spaces, or Redis refuses it).
    pub(crate) fn lazy(config: &RedisConfig, name: String) -> DirectConn {
        DirectConn {
            config: config.clone(),
            name,
            open: None,
        }
    }

    /// As [`lazy`](Self::lazy), but opened at once so a bad address shows now.
    pub(crate) async fn connect(
        config: &RedisConfig,
        name: String,
    ) -> Result<DirectConn, BusError> {
        let mut conn = DirectConn::lazy(config, name);
        conn.ensure_open().await?;
        Ok(conn)
    }

    /// Sends `request` and waits up to `timeout` for its reply. A top-level error reply is
    /// [`ConnError::Server`]; any other failure also closes the connection.
    pub(crate) async fn query(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Reply, ConnError> {
        let open = self.ensure_open().await?;
        let result = tokio::time::timeout(timeout, open.exchange(request)).await;
        self.settle(result, timeout)
    }

    /// Sends the pipeline and waits up to `timeout` for all its replies, which are dropped;
    /// the first error reply is returned as [`ConnError::Server`].
    pub(crate) async fn run(
        &mut self,
        pipeline: &Pipeline,
        timeout: Duration,
    ) -> Result<(), ConnError> {
        let open = self.ensure_open().await?;
        let result = tokio::time::timeout(timeout, open.exchange_all(pipeline)).await;
        self.settle(result, timeout)
    }

    async fn ensure_open(&mut self) -> Result<&mut Open, ConnError> {
        let conn = match self.open.take() {
            Some(conn) if !conn.busy => conn,
            _ => open(&self.config, &self.name).await?,
        };
        Ok(self.open.insert(conn))
    }

    /// Closes the connection after a failure that leaves it unusable.
    fn settle<T>(
        &mut self,
        result: Result<Result<T, ConnError>, tokio::time::error::Elapsed>,
        timeout: Duration,
    ) -> Result<T, ConnError> {
        let result = result.unwrap_or(Err(ConnError::Timeout(timeout)));
        let keep = match &result {
            Ok(_) => true,
            // A demoted master answers READONLY: reconnect to find the new one.
            Err(ConnError::Server(e)) => e.code() != "READONLY",
            // The socket is in an unknown state.
            Err(_) => false,
        };
        if !keep {
            self.open = None;
        }
        result
    }
}

/// Opens a connection to the master `config` names (over TLS when configured so), logs in
/// and names it.
async fn open(config: &RedisConfig, name: &str) -> Result<Open, ConnError> {
    let (endpoint, _) = config.master().await?;
    // Built before connecting, so a bad CA file is reported as such, not as a timeout.
    let tls = endpoint.tls.as_ref().map(tls::connector).transpose()?;
    let attempt = async {
        let socket: Box<dyn Socket> = match (&endpoint.address, tls) {
            (Address::Tcp { host, port }, tls) => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                tcp.set_nodelay(true)?;
                match tls {
                    Some(connector) => {
                        Box::new(connector.connect(tls::server_name(host)?, tcp).await?)
                    }
                    None => Box::new(tcp),
                }
            }
            #[cfg(unix)]
            (Address::Unix(path), _) => Box::new(tokio::net::UnixStream::connect(path).await?),
            #[cfg(not(unix))]
            (Address::Unix(path), _) => {
                return Err(ConnError::Locate(BusError::Rejected {
                    backend: BACKEND,
                    reason: format!("unix sockets are not supported here: {}", path.display()),
                }));
            }
        };
        let mut open = Open {
            socket,
            read: BytesMut::new(),
            write: Vec::new(),
            busy: false,
        };
        if let Some(password) = &endpoint.password {
            let mut auth = Request::new("AUTH");
            if let Some(user) = &endpoint.username {
                auth.arg(user);
            }
            auth.arg(password.expose());
            open.exchange(&auth).await?;
        }
        if endpoint.db != 0 {
            let mut select = Request::new("SELECT");
            select.arg(endpoint.db.to_string());
            open.exchange(&select).await?;
        }
        let mut set_name = Request::new("CLIENT");
        set_name.arg("SETNAME").arg(name);
        open.exchange(&set_name).await?;
        Ok(open)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| ConnError::Timeout(CONNECT_TIMEOUT))?
}

impl Open {
    /// Writes `request` and reads its reply.
    async fn exchange(&mut self, request: &Request) -> Result<Reply, ConnError> {
        self.write.clear();
        request.write_to(&mut self.write);
        self.busy = true;
        self.socket.write_all(&self.write).await?;
        let len = self.next_reply().await?;
        self.busy = false;
        let frame = self.read.split_to(len).freeze();
        match resp::split(&frame)? {
            Reply::Error(message) => Err(ServerError(message).into()),
            reply => Ok(reply),
        }
    }

    /// Writes the pipeline and reads all its replies, keeping none; the first error reply is
    /// returned once every reply was read, so the connection stays in step.
    async fn exchange_all(&mut self, pipeline: &Pipeline) -> Result<(), ConnError> {
        self.busy = true;
        self.socket.write_all(pipeline.bytes()).await?;
        let mut first_error = None;
        for _ in 0..pipeline.commands() {
            let len = self.next_reply().await?;
            if self.read.first() == Some(&b'-') && first_error.is_none() {
                let line = self.read[1..len].strip_suffix(b"\r\n").unwrap_or_default();
                first_error = Some(ServerError(String::from_utf8_lossy(line).into_owned()));
            }
            self.read.advance(len);
        }
        self.busy = false;
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Reads until the reply at the start of the read buffer is whole; its length.
    async fn next_reply(&mut self) -> Result<usize, ConnError> {
        let mut scan = Scan::default();
        loop {
            if let Some(len) = scan.advance(&self.read)? {
                return Ok(len);
            }
            self.read.reserve(READ_CHUNK);
            if self.socket.read_buf(&mut self.read).await? == 0 {
                return Err(ConnError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }
}

/// How long a blocking read of up to `block` may take before the connection is presumed dead.
pub(crate) fn blocking_timeout(block: Duration) -> Duration {
    block + READ_SLACK
}
