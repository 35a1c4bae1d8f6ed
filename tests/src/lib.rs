//! Where the real-service tests find their services, and how they fail when one is missing.
//!
//! `scripts/test.sh` starts the services and exports their addresses; a developer running
//! `cargo test` by hand gets the conventional local ports. A missing service is a failure with
//! instructions, never a skipped test.

use std::time::{SystemTime, UNIX_EPOCH};

pub mod certs;

/// Redis URL: `TICKMESH_TEST_REDIS_URL`, else the local default.
pub fn redis_url() -> String {
    var_or("TICKMESH_TEST_REDIS_URL", "redis://127.0.0.1:6379")
}

/// Kafka bootstrap servers: `TICKMESH_TEST_KAFKA_BROKERS`, else the local default.
pub fn kafka_brokers() -> String {
    var_or("TICKMESH_TEST_KAFKA_BROKERS", "127.0.0.1:9092")
}

/// Database URL: `TICKMESH_TEST_DATABASE_URL`, else the local default.
pub fn database_url() -> String {
    var_or(
        "TICKMESH_TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

/// Panics with what to do when `service` at `address` cannot be reached.
pub fn unreachable(service: &str, address: &str, error: &dyn std::fmt::Display) -> ! {
    panic!(
        "{service} is not reachable at {address}: {error}\n\
         run ./scripts/test.sh (it installs and starts {service}) or point the \
         TICKMESH_TEST_* variable at a running one"
    )
}

/// A name no other test run uses, for topics, groups, keys and tables.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The value of `name`, which `./scripts/test.sh` sets for a service it starts; a failure
/// naming the variable when it is unset, since the test cannot run without that service.
pub fn required_var(name: &str, service: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: it names {service}, which ./scripts/test.sh starts; \
                 run the tests through it, or start one and set {name}"
            )
        })
}
