//! A service running in the test process on a free port, against a test database.

use std::sync::Arc;

use gigcover_kit::Config;
use gigcover_kit::client::StaticToken;
use gigcover_kit::http::StopHandle;
use gigcover_kit::service::{LaunchOptions, ServiceSpec, launch};

use crate::db::TestDatabase;
use crate::keys::{AUDIENCE, ISSUER, TestKeys};

/// Configuration for tests as TOML: test environment, the test key trusted.
pub fn test_config_toml(keys: &TestKeys) -> String {
    let key = keys.public_key_config();
    format!(
        "environment = \"test\"\n[auth]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n\
         [[auth.public_keys]]\nkid = \"{}\"\nalg = \"{}\"\npem = \"\"\"\n{}\"\"\"\n",
        key.kid, key.alg, key.pem
    )
}

/// [`test_config_toml`] as a `Config`.
pub fn test_config(keys: &TestKeys) -> Config {
    Config::from_toml(&test_config_toml(keys))
}

pub struct TestApp {
    pub port: u16,
    pub address: String,
    pub keys: TestKeys,
    pub http: reqwest::Client,
    stop: StopHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// Launches `spec` on a free port against `db`, trusting the default test key.
    pub async fn spawn(spec: &ServiceSpec, db: &TestDatabase) -> Self {
        Self::spawn_with(spec, db, |c| c).await
    }

    /// Like [`TestApp::spawn`], with the configuration adjusted by `adjust`.
    pub async fn spawn_with(spec: &ServiceSpec, db: &TestDatabase, adjust: impl FnOnce(Config) -> Config) -> Self {
        gigcover_kit::install_crypto_provider();
        let keys = TestKeys::default();
        let config = adjust(test_config(&keys));
        let options = LaunchOptions {
            port: Some(0),
            tokens: Some(Arc::new(StaticToken(Some(keys.service_token(spec.name.as_str()))))),
        };
        let app = launch(spec, &config, &db.secret_url(), options).await.expect("launch the service");
        let port = app.port();
        let stop = app.stop_handle();
        let running = tokio::spawn(app.run_until_stopped());
        Self {
            port,
            address: format!("http://127.0.0.1:{port}"),
            keys,
            http: gigcover_kit::client::http(),
            stop,
            running,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Stops the service, draining in-flight requests.
    pub async fn stop(self) {
        self.stop.stop().await;
        let _ = self.running.await;
    }
}
