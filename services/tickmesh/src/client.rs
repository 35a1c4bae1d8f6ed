//! The client commands: `tickmesh subs`, `watch`, `history`, `compare` and `feeds` talk to a
//! running tickmesh over gRPC and print for people.

pub mod history;
pub mod subs;
pub mod watch;

use anyhow::Context as _;
use tonic::transport::Channel;

pub use history::{CompareArgs, FeedsArgs, HistoryArgs};
pub use subs::SubsArgs;
pub use watch::WatchArgs;

/// Where the server is, shared by every client command.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The tickmesh gRPC address.
    #[arg(
        long,
        global = true,
        env = "TICKMESH_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// CA certificate (PEM) to trust for an https:// server.
    #[arg(long, global = true, env = "TICKMESH_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Bearer token for changes, when the server requires one.
    #[arg(long, global = true, env = "TICKMESH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ServerArgs {
    /// A connected channel, or an error that says what to check.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        tickmesh_bootstrap::connect_channel(&self.server, self.tls_ca.as_deref())
            .await
            .with_context(|| {
                format!(
                    "cannot reach tickmesh at {} (is `tickmesh up` running? set --server or TICKMESH_SERVER)",
                    self.server
                )
            })
    }

    /// `request` with the bearer token attached when one is set.
    pub fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            tickmesh_bootstrap::bearer(&mut request, token).context("--token cannot be sent")?;
        }
        Ok(request)
    }
}

/// A gRPC error as a person should read it: the status message, and what to do for the
/// common codes.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    let hint = match status.code() {
        tonic::Code::Unauthenticated => " (pass --token or set TICKMESH_TOKEN)",
        tonic::Code::Unavailable => " (is the server and its backends running?)",
        tonic::Code::Unimplemented => " (this server does not host that service)",
        _ => "",
    };
    anyhow::anyhow!("{}: {}{hint}", code_name(status.code()), status.message())
}

fn code_name(code: tonic::Code) -> String {
    format!("{code:?}")
        .chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                vec![' ', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Prints rows as aligned columns, the first row as the header.
pub fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
