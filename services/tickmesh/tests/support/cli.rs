//! Running the client commands as a user does, against a server.

use std::process::Command;

use serde_json::Value as Json;

/// `tickmesh <args> --server URL` with `env`: (exit status, stdout, stderr).
pub fn run(server: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(args)
        .args(["--server", server])
        .env_remove("TICKMESH_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tickmesh <args> --output json`, parsed; the command must succeed.
pub fn json(server: &str, args: &[&str]) -> Json {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let (code, out, err) = run(server, &all, &[]);
    assert_eq!(code, 0, "tickmesh {}: {err}", all.join(" "));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}
