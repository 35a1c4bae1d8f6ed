//! Reaching the server, and what a failed call means for a person and for a script's exit
//! status.

use std::path::PathBuf;

use tonic::transport::Channel;

/// Where the server is, on every client command.
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
    pub tls_ca: Option<PathBuf>,
    /// Bearer token, when the server requires one (for changes, or also for reads).
    #[arg(long, global = true, env = "TICKMESH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// The exit status of a client command, for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok = 0,
    /// 1: anything not below (a server fault, a file that cannot be written).
    Failed = 1,
    /// 2: the command line is wrong (clap's own status for usage errors).
    Usage = 2,
    /// 3: the server cannot be reached or is unavailable; retrying later may work.
    Unreachable = 3,
    /// 4: the server refused the credentials (missing or wrong token).
    Unauthorized = 4,
    /// 5: the server refused the request as asked (unknown market, bad range, a range too
    /// large to read at once); retrying the same request will not help.
    Refused = 5,
}

/// A client command's failure with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// The exit status.
    pub exit: Exit,
    /// What went wrong and what to do.
    pub message: String,
}

impl Failure {
    /// A usage error: the command line asks for something impossible.
    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        Failure {
            exit: Exit::Usage,
            message: message.into(),
        }
        .into()
    }
}

/// Whether `error` is a write to a closed pipe (`tickmesh trades BTC | head`): the reader
/// has what it wanted, which is no failure to report.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit status for `error`: that of the outermost [`Failure`] in it (as the error, as
/// context, or as a source), else [`Exit::Failed`].
pub fn exit_status(error: &anyhow::Error) -> Exit {
    error
        .downcast_ref::<Failure>()
        .or_else(|| error.chain().find_map(|e| e.downcast_ref::<Failure>()))
        .map_or(Exit::Failed, |f| f.exit)
}

impl ServerArgs {
    /// A connected channel, or an error that says what to check.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        tickmesh_bootstrap::connect_channel(&self.server, self.tls_ca.as_deref())
            .await
            .map_err(|e| {
                anyhow::Error::new(e).context(Failure {
                    exit: Exit::Unreachable,
                    message: format!(
                        "cannot reach tickmesh at {} (is `tickmesh up` running? set --server or TICKMESH_SERVER)",
                        self.server
                    ),
                })
            })
    }

    /// `message` as a request, with the bearer token attached when one is set.
    pub fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            tickmesh_bootstrap::bearer(&mut request, token).map_err(|e| {
                anyhow::Error::new(e).context(Failure {
                    exit: Exit::Usage,
                    message: "--token cannot be sent".to_owned(),
                })
            })?;
        }
        Ok(request)
    }
}

/// A gRPC error as a person reads it, with what to do for the common codes, and the exit
/// status a script sees.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    use tonic::Code;
    let (exit, hint) = match status.code() {
        Code::Unauthenticated | Code::PermissionDenied => {
            (Exit::Unauthorized, " (pass --token or set TICKMESH_TOKEN)")
        }
        Code::Unavailable => (
            Exit::Unreachable,
            " (is the server and its backends running?)",
        ),
        Code::DeadlineExceeded | Code::Cancelled => (Exit::Unreachable, ""),
        Code::Unimplemented => (Exit::Refused, " (this server does not host that service)"),
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::ResourceExhausted => (Exit::Refused, ""),
        _ => (Exit::Failed, ""),
    };
    Failure {
        exit,
        message: format!("{}: {}{hint}", code_name(status.code()), status.message()),
    }
    .into()
}

/// `InvalidArgument` as `invalid argument`.
fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for c in format!("{code:?}").chars() {
        if c.is_uppercase() && !name.is_empty() {
            name.push(' ');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_exit_statuses_scripts_can_rely_on() {
        let status = |code| exit_status(&explain(tonic::Status::new(code, "x")));
        assert_eq!(status(tonic::Code::Unavailable), Exit::Unreachable);
        assert_eq!(status(tonic::Code::Unauthenticated), Exit::Unauthorized);
        assert_eq!(status(tonic::Code::InvalidArgument), Exit::Refused);
        assert_eq!(status(tonic::Code::ResourceExhausted), Exit::Refused);
        assert_eq!(status(tonic::Code::Internal), Exit::Failed);
        let error = explain(tonic::Status::invalid_argument("unknown market \"NOPE\""));
        assert_eq!(
            error.to_string(),
            "invalid argument: unknown market \"NOPE\""
        );
        // Context added on top keeps the status.
        let error = error.context("cannot list trades");
        assert_eq!(exit_status(&error), Exit::Refused);
        assert_eq!(exit_status(&anyhow::anyhow!("disk full")), Exit::Failed);
    }
}
