//! `gigcover` as a child process, the way an operator runs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gigcover_kit::ServiceName;
use gigcover_testkit::TestKeys;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A free TCP port on 127.0.0.1 (released for the caller to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `gigcover` binary built next to this test binary (scripts/test builds it first).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target profile folder");
    let bin = dir.join("gigcover");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --bin gigcover` (scripts/test does)",
        bin.display()
    );
    bin
}

pub struct Gigcover {
    child: Child,
    pub ports: Vec<(ServiceName, u16)>,
    pub log: PathBuf,
    pub keys: TestKeys,
    _dir: tempfile::TempDir,
}

impl Gigcover {
    /// Starts `gigcover serve --target <target>` with the test key trusted, each service on a
    /// free port, and `env` added (`DATABASE_URL` is removed unless `env` sets it).
    pub fn serve(target: &str, env: &[(&str, String)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gigcover-e2e-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        // Postgres (run as its own user when we are root) must reach a private cluster here.
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let keys = TestKeys::default();
        let ports: Vec<(ServiceName, u16)> = ServiceName::ALL.iter().map(|s| (*s, free_port())).collect();
        let mut config = gigcover_testkit::app::test_config_toml(&keys);
        config.push_str(&format!(
            "[database]\ndata_dir = \"{}\"\n",
            dir.path().join("pg").display()
        ));
        for (service, port) in &ports {
            config.push_str(&format!("[services.{service}]\nport = {port}\n"));
        }
        let config_path = dir.path().join("gigcover.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = dir.path().join("gigcover.log");
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--target", target, "--config"]).arg(&config_path);
        cmd.env_remove("DATABASE_URL").env("RUST_LOG", "info");
        for var in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start gigcover");
        Self {
            child,
            ports,
            log,
            keys,
            _dir: dir,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("pg")
    }

    pub fn port(&self, service: ServiceName) -> u16 {
        self.ports
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, p)| *p)
            .expect("port of service")
    }

    pub fn url(&self, service: ServiceName, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port(service), path)
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until every service in `services` answers `/readyz` with `status`.
    pub async fn wait_for_readyz(&mut self, services: &[ServiceName], status: u16, within: Duration) {
        let http = gigcover_kit::client::http_builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("client");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("gigcover exited early ({exit}):\n{}", self.logs());
            }
            let mut all = true;
            for s in services {
                let got = http
                    .get(self.url(*s, "/readyz"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                all &= got == status;
            }
            if all {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "services did not all answer /readyz {status} in time:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signal gigcover");
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gigcover did not exit in time:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Gigcover {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(self.pid(), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
