//! The client commands: `tickmesh subs`, `watch`, `history`, `compare` and `feeds` talk to a
//! running tickmesh over gRPC and print for people.

pub mod history;
pub mod subs;
pub mod watch;

use std::time::Duration;

use anyhow::Context as _;
use tonic::transport::{Channel, Endpoint};

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
    /// Bearer token for changes, when the server requires one.
    #[arg(long, global = true, env = "TICKMESH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ServerArgs {
    /// A connected channel, or an error that says what to check.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        let endpoint = Endpoint::from_shared(self.server.clone())
            .with_context(|| {
                format!(
                    "--server {:?} is not a url such as http://127.0.0.1:50051",
                    self.server
                )
            })?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30));
        endpoint.connect().await.with_context(|| {
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
            let value = format!("Bearer {token}")
                .parse()
                .context("--token holds characters a header cannot carry")?;
            request.metadata_mut().insert("authorization", value);
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
