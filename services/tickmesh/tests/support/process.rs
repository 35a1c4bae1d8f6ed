//! tickmesh processes as a deployment runs them: `tickmesh serve <service>` with its
//! configuration in `TICKMESH__` variables, logs captured as JSON lines.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One running tickmesh process.
pub struct Proc {
    /// The service name, for messages.
    pub name: String,
    /// The gRPC address it logged (`host:port`).
    pub grpc: String,
    child: Child,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `tickmesh <args>` with `env` and waits until it logs its gRPC address.
    pub fn start(name: &str, args: &[&str], env: &[(String, String)]) -> Proc {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tickmesh"));
        command.args(args);
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command
            .env("TICKMESH__METRICS__LISTEN", "off")
            .env("TICKMESH__LOG__FORMAT", "json")
            .env(
                "TICKMESH__LOG__FILTER",
                "info,sqlx=warn,sea_orm_migration=warn",
            )
            .env_remove("RUST_LOG")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (task_logs, label) = (Arc::clone(&logs), name.to_owned());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("[{label}] {line}");
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    if let Some(addr) = event["grpc_addr"].as_str() {
                        let _ = ready_tx.send(addr.to_owned());
                    }
                    task_logs.lock().unwrap().push(event);
                }
            }
        });
        let mut proc = Proc {
            name: name.to_owned(),
            grpc: String::new(),
            child,
            logs,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(addr) = ready_rx.recv_timeout(Duration::from_millis(100)) {
                proc.grpc = addr;
                return proc;
            }
            if let Some(status) = proc.child.try_wait().unwrap() {
                panic!("{name} exited with {status} before it was ready (its log is above)");
            }
            assert!(Instant::now() < deadline, "{name} not ready after 30 s");
        }
    }

    /// The process id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as a crash or an OOM kill would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM, waits for a clean exit and returns everything it logged.
    pub fn terminate(mut self) -> Vec<serde_json::Value> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return self.logs_when_done();
            }
            assert!(
                Instant::now() < deadline,
                "{} still running 15 s after SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for the process to exit by itself; its status and everything it
    /// logged.
    pub fn wait_exit(
        mut self,
        limit: Duration,
    ) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.logs_when_done());
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The logs once the process exited: the reader thread gets the last lines a moment later.
    fn logs_when_done(&self) -> Vec<serde_json::Value> {
        std::thread::sleep(Duration::from_millis(200));
        self.logs.lock().unwrap().clone()
    }

    /// The log events so far whose message contains `text`.
    pub fn logged(&self, text: &str) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
            .cloned()
            .collect()
    }
}
