//! `gigcover` as a child process, the way an operator runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gigcover_kit::ServiceName;
use gigcover_testkit::TestKeys;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A free TCP port on 127.0.0.1 (released for the caller to bind).
/// A port free now, below Linux's ephemeral range (32768 and up): a port the OS handed out
/// with `bind(0)` can be handed again to any outgoing connection of the parallel tests
/// before gigcover binds it; ports below that range are only taken by listeners.
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let random = u16::from_le_bytes([uuid::Uuid::new_v4().as_bytes()[0], uuid::Uuid::new_v4().as_bytes()[1]]);
        let port = 20_000 + random % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The `gigcover` binary of the same build as the running executable: next to it (a bench
/// binary in `target/release`) or one folder up (a test in `target/debug/deps`).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let here = exe.parent().expect("executable folder");
    let candidates = [here.join("gigcover"), here.parent().map(|p| p.join("gigcover")).unwrap_or_default()];
    candidates.into_iter().find(|c| c.is_file()).unwrap_or_else(|| {
        panic!(
            "no gigcover binary next to {}: build it with `cargo build --bin gigcover` (scripts/test does)",
            exe.display()
        )
    })
}

pub struct Gigcover {
    child: Child,
    target: String,
    config: PathBuf,
    /// The environment the caller asked for; `env` adds what depends on the ports.
    requested_env: Vec<(String, String)>,
    env: Vec<(String, String)>,
    pub ports: Vec<(ServiceName, u16)>,
    pub log: PathBuf,
    /// Where this launch's lines start in `log`.
    log_start: usize,
    /// Launches on new ports after a port was taken (see [`Gigcover::wait_for_readyz`]).
    relaunches: u32,
    pub keys: TestKeys,
    _dir: tempfile::TempDir,
}

/// Each service on its own free port, the configuration file naming them, and the
/// environment with what depends on them.
struct Launch {
    ports: Vec<(ServiceName, u16)>,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Launch {
    fn new(dir: &Path, keys: &TestKeys, target: &str, requested_env: &[(String, String)]) -> Self {
        // Each its own port: two draws of `free_port` may give the same one (both free when
        // checked), and then the second service cannot bind it.
        let mut ports: Vec<(ServiceName, u16)> = Vec::new();
        for service in ServiceName::ALL {
            let mut port = free_port();
            while ports.iter().any(|(_, taken)| *taken == port) {
                port = free_port();
            }
            ports.push((service, port));
        }
        let mut config = gigcover_testkit::app::test_config_toml(keys);
        config.push_str(&format!("[database]\ndata_dir = \"{}\"\n", dir.join("pg").display()));
        config.push_str(&format!("[crypto]\nmaster_key_file = \"{}\"\n", dir.join("master.key").display()));
        for (service, port) in &ports {
            config.push_str(&format!("[services.{service}]\nport = {port}\n"));
        }
        let config_path = dir.join("gigcover.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut env = requested_env.to_vec();
        if target == "all" || target == "demo" || target.split(',').any(|t| t == "identity") {
            // Trust the identity service's keys too: the services' own calls carry its tokens.
            let identity = ports.iter().find(|(s, _)| *s == ServiceName::Identity).map(|(_, p)| *p).unwrap_or(0);
            env.push(("GIGCOVER_AUTH__JWKS_URL".into(), format!("http://127.0.0.1:{identity}/.well-known/jwks.json")));
        }
        Self { ports, config: config_path, env }
    }
}

impl Gigcover {
    /// Starts `gigcover serve --target <target>` (or `gigcover demo` for `demo`) with the test key trusted, each service on a
    /// free port, and `env` added (`DATABASE_URL` is removed unless `env` sets it).
    pub fn serve(target: &str, env: &[(&str, String)]) -> Self {
        let dir = tempfile::Builder::new().prefix("gigcover-e2e-").tempdir_in("/tmp").expect("temp dir");
        // Postgres (run as its own user when we are root) must reach a private cluster here.
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let keys = TestKeys::default();
        let requested_env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let Launch { ports, config, env } = Launch::new(dir.path(), &keys, target, &requested_env);
        let log = dir.path().join("gigcover.log");
        let child = spawn(target, &config, &env, &log);
        Self {
            child,
            target: target.to_owned(),
            config,
            requested_env,
            env,
            ports,
            log,
            log_start: 0,
            relaunches: 0,
            keys,
            _dir: dir,
        }
    }

    /// Starts the process again on new free ports, after it exited because one of its
    /// ports was taken.
    fn relaunch_on_new_ports(&mut self) {
        let Launch { ports, config, env } =
            Launch::new(self._dir.path(), &self.keys, &self.target, &self.requested_env);
        (self.ports, self.config, self.env) = (ports, config, env);
        self.log_start = self.logs().len();
        self.relaunches += 1;
        self.child = spawn(&self.target, &self.config, &self.env, &self.log);
    }

    /// CPU time the process has used so far (see [`cpu_seconds`]).
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.child.id())
    }

    /// Starts the process again with the same configuration (after it was killed).
    pub fn restart(&mut self) {
        assert!(self.child.try_wait().expect("wait").is_some(), "restart only a stopped process");
        self.child = spawn(&self.target, &self.config, &self.env, &self.log);
    }

    /// SIGKILL: no draining, no cleanup, as when a node dies.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL gigcover");
        self.child.wait().expect("reap gigcover");
    }

    /// Waits until enrichment has applied everything aggregation published so far (both
    /// read from `pool`, a connection to this process's cluster).
    pub async fn wait_for_enrichment(&self, pool: &sqlx::PgPool, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let (head, applied): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COALESCE(max(position), 0) FROM aggregation.outbox),
                        (SELECT COALESCE(max(position), 0) FROM enrichment.feed_cursors WHERE source = 'aggregation')",
            )
            .fetch_one(pool)
            .await
            .expect("read the feed positions");
            if applied >= head {
                return;
            }
            assert!(Instant::now() < deadline, "enrichment did not catch up: {applied} of {head}\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("pg")
    }

    pub fn port(&self, service: ServiceName) -> u16 {
        self.ports.iter().find(|(s, _)| *s == service).map(|(_, p)| *p).expect("port of service")
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

    /// Waits until every service in `services` answers `/readyz` with `status`. A process
    /// that exits because a port was taken is started again on new ports (twice at most):
    /// a port found free can be bound by a parallel test's process before gigcover binds it.
    pub async fn wait_for_readyz(&mut self, services: &[ServiceName], status: u16, within: Duration) {
        let http = gigcover_kit::client::http_builder().timeout(Duration::from_secs(3)).build().expect("client");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                let logs = self.logs();
                if self.relaunches < 2
                    && logs.get(self.log_start..).is_some_and(|l| l.contains("Address already in use"))
                {
                    self.relaunch_on_new_ports();
                    continue;
                }
                panic!("gigcover exited early ({exit}):\n{logs}");
            }
            let mut all = true;
            for s in services {
                let got = http.get(self.url(*s, "/readyz")).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
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
            assert!(Instant::now() < deadline, "gigcover did not exit in time:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn spawn(target: &str, config: &Path, env: &[(String, String)], log: &Path) -> Child {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut cmd = Command::new(binary());
    // `demo` runs `gigcover demo` (every service, demo data loaded); anything else is a target.
    if target == "demo" {
        cmd.args(["demo", "--config"]).arg(config);
    } else {
        cmd.args(["serve", "--target", target, "--config"]).arg(config);
    }
    cmd.env_remove("DATABASE_URL").env("RUST_LOG", "info");
    for var in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err)).spawn().expect("start gigcover")
}

impl Drop for Gigcover {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(self.pid(), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A restarted process reuses the cluster it did not start and leaves it running.
        let data = self.data_dir();
        if data.join("postmaster.pid").exists()
            && let Ok((pg, _)) = gigcover_localpg::LocalPostgres::ensure_running(&data)
        {
            let _ = pg.stop();
        }
    }
}

/// The fields of `/proc/{pid}/stat` after the command name (which may hold spaces, so
/// they start after its last ')'): the state is field 0, the parent 1, user time 11.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().map(str::to_owned).collect())
}

/// Seconds in the clock ticks of fields `a` and `b` added (`/proc` counts in ticks of 1/100 s).
fn tick_seconds(fields: &[String], a: usize, b: usize) -> Option<f64> {
    Some((fields.get(a)?.parse::<f64>().ok()? + fields.get(b)?.parse::<f64>().ok()?) / 100.0)
}

/// CPU time (user and system) process `pid` has used so far, from `/proc` (Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    tick_seconds(&stat_fields(&pid.to_string())?, 11, 12)
}

/// CPU time this process's children have used, those that have exited and been waited
/// for (a `wrk` run once `Command::output` returns), from `/proc` (Linux).
pub fn children_cpu_seconds() -> Option<f64> {
    tick_seconds(&stat_fields("self")?, 13, 14)
}

/// CPU time each process of a PostgreSQL cluster has used so far, by pid: its postmaster
/// and every process the postmaster runs now (backends, WAL writer, checkpointer).
pub fn cluster_cpu_seconds(data_dir: &Path) -> Option<HashMap<String, f64>> {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let postmaster = pid_file.lines().next()?.trim().to_owned();
    let mut by_pid = HashMap::from([(postmaster.clone(), tick_seconds(&stat_fields(&postmaster)?, 11, 12)?)]);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(fields) = stat_fields(&pid)
            && fields.get(1) == Some(&postmaster)
            && let Some(seconds) = tick_seconds(&fields, 11, 12)
        {
            by_pid.insert(pid, seconds);
        }
    }
    Some(by_pid)
}

/// The CPU time a cluster used between two readings of [`cluster_cpu_seconds`]: what each
/// process running at the second used since the first (or since it started). A process
/// that exited in between is not counted; a pool's connections live throughout a run.
pub fn cluster_cpu_between(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> f64 {
    after.iter().map(|(pid, seconds)| seconds - before.get(pid).copied().unwrap_or(0.0)).sum()
}
