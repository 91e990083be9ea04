//! Command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gigcover_kit::Config;

use crate::services::Targets;

/// gigcover: the backend of a marketplace insuring gig workers.
///
/// Configuration is layered: built-in defaults, then the TOML file given with --config
/// (or GIGCOVER_CONFIG), then environment variables GIGCOVER_<SECTION>__<FIELD>
/// (for example GIGCOVER_DATABASE__URL, GIGCOVER_SERVICES__PRICING__PORT). DATABASE_URL
/// is read too. Telemetry follows the standard OTEL_* variables: set
/// OTEL_EXPORTER_OTLP_ENDPOINT to export traces, metrics and logs over OTLP/gRPC.
#[derive(Debug, Parser)]
#[command(name = "gigcover", version, about, long_about)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "GIGCOVER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run services until SIGTERM or Ctrl-C, then drain in-flight requests and stop.
    ///
    /// Default ports: ops 8080, aggregation 8081, enrichment 8082, pricing 8083,
    /// claims 8084, identity 8085 (services.<name>.port). Without database.url (or
    /// DATABASE_URL) a private PostgreSQL cluster is provisioned under database.data_dir
    /// (default .gigcover/postgres) and stopped on exit.
    Serve {
        /// `all`, or one or more of ops, aggregation, enrichment, pricing, claims, identity
        /// (comma-separated). Default: the configuration's `serve.target`, else `all`.
        #[arg(long)]
        target: Option<Targets>,
    },
    /// Exit 0 when every targeted service in this container answers /readyz with 200
    /// (the image's health check: no shell, no curl).
    Healthcheck {
        /// As for serve.
        #[arg(long)]
        target: Option<Targets>,
    },
    /// Run every service (as `serve --target all`) with the development login on and demo
    /// data loaded through the APIs; prints how to look at it. Not for production.
    Demo,
    /// Apply the database migrations of the targeted services, then exit.
    Migrate {
        #[arg(long, default_value = "all")]
        target: Targets,
    },
    /// Create an OAuth2 client in the identity service's database (the first ops client,
    /// before any exists to call the API with); prints its secret once.
    CreateClient {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: String,
        /// ops, insurer, platform or service.
        #[arg(long, default_value = "ops")]
        role: String,
        /// The insurer or platform id (for those roles).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Manage a private PostgreSQL cluster (what `serve` uses when no database is configured).
    Postgres {
        #[command(subcommand)]
        action: PostgresAction,
    },
    /// Set up OpenSearch for gigcover's telemetry (infra/opensearch).
    Opensearch {
        #[command(subcommand)]
        action: OpensearchAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum OpensearchAction {
    /// Apply the index templates, ISM policies, Alerting monitors and Dashboards saved
    /// objects; only what differs is written, and a second run changes nothing. Basic auth
    /// from OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD when set; AWS SigV4 (Amazon
    /// OpenSearch Service) in the region OPENSEARCH_AWS_REGION names, when set.
    Apply {
        /// The OpenSearch endpoint, e.g. https://search-gigcover-prod.eu-central-1.es.amazonaws.com
        #[arg(long)]
        url: String,
        /// The OpenSearch Dashboards endpoint (for the saved objects).
        #[arg(long)]
        dashboards_url: Option<String>,
        /// Days an index stays hot before it is shrunk to no replicas.
        #[arg(long, default_value_t = 7)]
        hot_days: u32,
        /// Days after which an index is deleted.
        #[arg(long, default_value_t = 30)]
        delete_days: u32,
        /// Do not fail when the target lacks a plugin (ISM, Alerting) or Dashboards.
        #[arg(long)]
        skip_unavailable: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PostgresAction {
    /// Create (first time) and start the cluster; print its DATABASE_URL.
    Up {
        #[arg(long, default_value = ".gigcover/postgres")]
        data_dir: PathBuf,
    },
    /// Stop the cluster.
    Down {
        #[arg(long, default_value = ".gigcover/postgres")]
        data_dir: PathBuf,
    },
}

/// The `serve` section: what a container runs when its command names no target.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ServeSettings {
    target: Option<String>,
}

fn targets(config: &Config, given: Option<Targets>) -> anyhow::Result<Targets> {
    if let Some(t) = given {
        return Ok(t);
    }
    let settings: ServeSettings = config.section("serve")?;
    settings.target.as_deref().unwrap_or("all").parse().map_err(anyhow::Error::msg)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    gigcover_kit::install_crypto_provider();
    let config = Config::load(cli.config.as_deref())?;
    config.check_sections(&[
        "aggregation",
        "claims",
        "demo",
        "enrichment",
        "identity",
        "ops",
        "pricing",
        "serve",
        "service_auth",
    ])?;
    match cli.command {
        Command::Serve { target } => crate::serve::serve(&config, &targets(&config, target)?).await,
        Command::Healthcheck { target } => crate::serve::healthcheck(&config, &targets(&config, target)?).await,
        Command::Demo => crate::demo::demo(&config).await,
        Command::Migrate { target } => crate::serve::migrate(&config, &target).await,
        Command::CreateClient { client_id, name, role, tenant } => {
            crate::serve::create_client(&config, client_id, name, &role, tenant).await
        }
        Command::Postgres { action: PostgresAction::Up { data_dir } } => {
            let (pg, _) =
                tokio::task::spawn_blocking(move || gigcover_localpg::LocalPostgres::ensure_running(&data_dir))
                    .await??;
            println!("DATABASE_URL={}", pg.url());
            Ok(())
        }
        Command::Opensearch {
            action: OpensearchAction::Apply { url, dashboards_url, hot_days, delete_days, skip_unavailable },
        } => {
            let retention = crate::opensearch::objects::Retention { hot_days, delete_days };
            crate::opensearch::run(&url, dashboards_url.as_deref(), retention, skip_unavailable).await
        }
        Command::Postgres { action: PostgresAction::Down { data_dir } } => {
            tokio::task::spawn_blocking(move || {
                let (pg, _) = gigcover_localpg::LocalPostgres::ensure_running(&data_dir)?;
                pg.stop()
            })
            .await?
        }
    }
}
