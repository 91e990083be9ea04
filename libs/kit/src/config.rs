//! Layered configuration: built-in defaults, then an optional TOML file, then environment
//! variables `GIGCOVER_<SECTION>__<FIELD>` (`__` between levels; `DATABASE_URL` is read too).
//! Each section is its own strict struct, so a misspelt or mistyped key fails start-up with
//! a message that names the key and where it came from.

use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::{Figment, Provider as _};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::AuthSettings;
use crate::db::DatabaseSettings;
use crate::http::HttpSettings;
use crate::topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: unknown section `{0}` (known: {1})")]
    UnknownSection(String, String),
    #[error("configuration: `{key}` is required {why}")]
    Missing { key: &'static str, why: &'static str },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Invalid(e.to_string())
    }
}

/// Where the process runs; production refuses development conveniences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The embedded default on a laptop or CI machine.
    #[default]
    Local,
    Test,
    Dev,
    Prod,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Test => "test",
            Environment::Dev => "dev",
            Environment::Prod => "prod",
        }
    }

    pub fn is_production(self) -> bool {
        self == Environment::Prod
    }
}

/// The sections every service shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub auth: AuthSettings,
    pub services: Topology,
    pub log_filter: String,
    pub trace_filter: String,
}

/// The merged layers; read sections out of it with [`Config::section`].
#[derive(Debug, Clone)]
pub struct Config {
    figment: Figment,
}

const SHARED_SECTIONS: &[&str] = &["environment", "database", "http", "auth", "services", "log", "crypto"];

impl Config {
    /// Defaults, then `file` if given (it must exist), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
            .merge(Env::prefixed("GIGCOVER_").split("__"));
        Ok(Self { figment })
    }

    /// A configuration from TOML text only (tests).
    pub fn from_toml(text: &str) -> Self {
        Self { figment: Figment::new().merge(Toml::string(text)) }
    }

    /// Adds one value on top (tests, CLI flags): `key` is dotted, e.g. `services.ops.port`.
    pub fn with(self, key: &str, value: impl serde::Serialize) -> Self {
        Self { figment: self.figment.merge(figment::providers::Serialized::default(key, value)) }
    }

    /// Reads section `key` into `T`, whose `Default` supplies what is not configured.
    pub fn section<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T, ConfigError> {
        if !self.figment.contains(key) {
            return Ok(T::default());
        }
        Ok(self.figment.extract_inner(key)?)
    }

    /// Fails on a top-level key that neither the kit nor one of `service_sections` reads.
    pub fn check_sections(&self, service_sections: &[&str]) -> Result<(), ConfigError> {
        // Sections the services read for themselves.
        let data = self.figment.data()?;
        for dict in data.values() {
            for key in dict.keys() {
                if !SHARED_SECTIONS.contains(&key.as_str()) && !service_sections.contains(&key.as_str()) {
                    let known = SHARED_SECTIONS.iter().chain(service_sections).copied().collect::<Vec<_>>().join(", ");
                    return Err(ConfigError::UnknownSection(key.clone(), known));
                }
            }
        }
        Ok(())
    }

    /// The shared sections, checked.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let environment: Environment = if self.figment.contains("environment") {
            self.figment.extract_inner("environment")?
        } else {
            Environment::default()
        };
        let log: LogSettings = self.section("log")?;
        let settings = Settings {
            environment,
            database: self.section("database")?,
            http: self.section("http")?,
            auth: self.section("auth")?,
            services: self.section("services")?,
            log_filter: log.filter,
            trace_filter: log.traces,
        };
        if environment.is_production() {
            if settings.database.url.is_none() {
                return Err(ConfigError::Missing {
                    key: "database.url",
                    why: "in production (no private cluster there)",
                });
            }
            if settings.auth.jwks_url.is_none() && settings.auth.public_keys.is_empty() {
                return Err(ConfigError::Missing { key: "auth.jwks_url", why: "in production (or auth.public_keys)" });
            }
        }
        Ok(settings)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LogSettings {
    /// What is logged.
    filter: String,
    /// Which spans are traced, whatever is logged.
    traces: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn,actix_server=warn,h2=warn,tonic=warn,hyper=warn,opentelemetry=warn".into(),
            traces: "info,sqlx=off,h2=off,tonic=off,hyper=off,tower=off,opentelemetry=off".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_where_nothing_is_configured() {
        let s = Config::from_toml("").settings().unwrap();
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.services.port(crate::ServiceName::Pricing), 8083);
        assert!(s.database.url.is_none());
    }

    #[test]
    fn a_mistyped_value_names_its_key() {
        let err = Config::from_toml("[database]\nmax_connections = \"many\"").settings().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("max_connections"), "{msg}");
    }

    #[test]
    fn a_misspelt_key_names_itself() {
        let err = Config::from_toml("[database]\nmax_conections = 3").settings().unwrap_err();
        assert!(err.to_string().contains("max_conections"), "{err}");
        let err = Config::from_toml("[databse]\nurl = \"x\"").check_sections(&[]).unwrap_err();
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn production_requires_a_database_and_token_keys() {
        let err = Config::from_toml("environment = \"prod\"").settings().unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err =
            Config::from_toml("environment = \"prod\"\n[database]\nurl = \"postgres://x\"").settings().unwrap_err();
        assert!(err.to_string().contains("auth.jwks_url"), "{err}");
    }

    #[test]
    fn layers_on_top_win() {
        let s = Config::from_toml("[services.ops]\nport = 9000").with("services.ops.port", 9100).settings().unwrap();
        assert_eq!(s.services.port(crate::ServiceName::Ops), 9100);
    }
}
