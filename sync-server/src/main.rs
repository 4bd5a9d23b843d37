//! `smartmap`: run the server, seed demo data, import official district boundaries, back up and
//! restore the database (with a new sync epoch).

use anyhow::Context;
use clap::{Parser, Subcommand};
use smartmap_server::clock::SystemClock;
use smartmap_server::config::Settings;
use smartmap_server::{Application, demo, storage, sync};
use std::path::PathBuf;
use std::sync::Arc;

/// Smart Map Tbilisi server.
#[derive(Parser)]
#[command(name = "smartmap", version, about)]
struct Cli {
    /// A TOML settings file (environment variables SMARTMAP__* and DATABASE_URL override it).
    #[arg(long, global = true, env = "SMARTMAP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default). Seeds demo data into an empty database unless --no-demo.
    Serve {
        /// Do not seed demo accounts and reports.
        #[arg(long)]
        no_demo: bool,
    },
    /// Seed demo accounts and reports into the database, then exit.
    Demo {
        /// How many reports.
        #[arg(long, default_value_t = 500)]
        reports: usize,
    },
    /// Import reference data.
    Import {
        #[command(subcommand)]
        what: Import,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Give the database a new sync epoch (after restoring it from a backup by other means, e.g.
    /// pg_restore): phones re-sync from a snapshot and re-push what the backup lost.
    NewEpoch,
    /// Write a consistent copy of the SQLite database to FILE (the server may keep running).
    Backup {
        /// Where to write the copy (must not exist).
        file: PathBuf,
    },
    /// Replace the SQLite database with the backup FILE (stop the server first), then start a new
    /// sync epoch.
    Restore {
        /// The backup to restore.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum Import {
    /// Load district boundaries from a GeoJSON FeatureCollection (properties: slug, name_ka,
    /// name_en), replacing districts with the same slug.
    Districts {
        /// The GeoJSON file.
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "smartmap_server=info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve { no_demo: false }) {
        Command::Serve { no_demo } => {
            if no_demo {
                settings.seed_demo = false;
            }
            serve(settings).await
        }
        Command::Demo { reports } => {
            settings.bind = "127.0.0.1:0".into();
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            seed_once(&app, reports).await
        }
        Command::Import { what: Import::Districts { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let districts = smartmap_shared::district::parse_feature_collection(&text)
                .with_context(|| format!("{} is not a usable district FeatureCollection", file.display()))?;
            std::fs::create_dir_all(&settings.data_dir)?;
            let storage = storage::connect(&settings.database_url()).await?;
            storage.migrate().await?;
            storage.upsert_districts(&districts).await?;
            println!("imported {} districts from {}", districts.len(), file.display());
            Ok(())
        }
        Command::Migrate => {
            std::fs::create_dir_all(&settings.data_dir)?;
            storage::connect(&settings.database_url()).await?.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::NewEpoch => {
            let storage = storage::connect(&settings.database_url()).await?;
            storage.migrate().await?;
            let epoch = sync::epoch::new_epoch(storage.as_ref()).await?;
            println!("new sync epoch {epoch}: phones will re-sync at their next pull");
            Ok(())
        }
        Command::Backup { file } => {
            sync::epoch::backup(&settings, &file).await?;
            println!("backed up into {}", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            let epoch = sync::epoch::restore(&settings, &file).await?;
            println!("restored {}; new sync epoch {epoch}", file.display());
            Ok(())
        }
    }
}

async fn seed_once(app: &Application, reports: usize) -> anyhow::Result<()> {
    let storage = &app.state().storage;
    if storage.user_by_email("admin@demo.smartmap.ge").await?.is_some() {
        println!("demo data is already present");
        return Ok(());
    }
    println!("seeding demo data ({reports} reports)…");
    let accounts = demo::seed_demo(app.state(), reports).await?;
    println!("demo accounts (role, e-mail, password, scope):");
    for a in accounts {
        println!("  {:<17} {:<32} {:<26} {}", a.role.as_str(), a.email, a.password, a.scope);
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let seed = settings.seed_demo;
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    if seed {
        seed_once(&app, 500).await?;
    }
    let addr = app.local_addr();
    println!("Smart Map Tbilisi is running at http://{addr}/  (API description: http://{addr}/api/openapi.json)");
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
