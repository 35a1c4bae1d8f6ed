//! `tickmesh migrate`: applies the database migrations and says what it did.

use std::path::PathBuf;

use anyhow::Context as _;

use tickmesh_bootstrap::Secret;

use crate::up::{HostArgs, block_on, read_config};

/// Options of `tickmesh migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// TOML configuration file; `TICKMESH__SECTION__KEY` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database, overriding `database.url` (`postgres://...` or `sqlite://FILE`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let (_, mut plane) = read_config(&HostArgs {
        config: args.config,
        listen: None,
    })?;
    if let Some(url) = args.database_url {
        plane.database_url = Secret::url(url);
    }
    block_on(async move {
        // Shown with its password masked.
        let url = &plane.database_url;
        let db = tickmesh_storage::connect_with_ca(url.expose(), plane.database_ca.as_deref())
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        let applied = tickmesh_migrations::migrate(&db)
            .await
            .with_context(|| format!("cannot migrate the database {url}"))?;
        println!("{url}: {applied} migration(s) applied; the schema is up to date");
        Ok(())
    })
}
