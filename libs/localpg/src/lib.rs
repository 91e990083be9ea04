//! A private PostgreSQL cluster under a data folder, for the embedded default and for tests
//! on machines without a configured database: created with `initdb` on first use, started
//! with `pg_ctl`, reused on the next run. The binaries are found on `PATH` or where Debian's
//! `postgresql` package keeps them (`/usr/lib/postgresql/<version>/bin`, outside `PATH`).
//! Postgres refuses to run as root, so as root the cluster runs as the `postgres` user.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

const DATABASE: &str = "gigcover";

/// A cluster under `data_dir`, listening on 127.0.0.1 only, trust auth for user `postgres`.
#[derive(Debug, Clone)]
pub struct LocalPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
}

/// Where `initdb` and `pg_ctl` are, preferring `PATH`, then the newest Debian install.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // Follow links (some images link just initdb and pg_ctl into /usr/local/bin)
                // to the folder that also holds psql and createdb.
                let real = fs::canonicalize(dir.join("initdb"))?;
                return Ok(real.parent().map_or(dir, Path::to_path_buf));
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql; \
             install them with `sudo apt-get install -y postgresql`, or set DATABASE_URL"
        )
    })
}

fn is_root() -> bool {
    // SAFETY-free check: `id -u` avoids unsafe libc calls.
    Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalPostgres {
    /// Creates the cluster if `data_dir` holds none, starts it if it is not running, and
    /// makes sure the `gigcover` database exists. Returns whether this call started it.
    pub fn ensure_running(data_dir: &Path) -> anyhow::Result<(Self, bool)> {
        let bin_dir = find_bin_dir()?;
        let run_as = if is_root() { Some("postgres".to_owned()) } else { None };
        fs::create_dir_all(data_dir).with_context(|| format!("create {}", data_dir.display()))?;
        let data_dir = fs::canonicalize(data_dir)?;
        let mut pg = Self { data_dir, bin_dir, port: 0, run_as };
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.init()?;
        }
        pg.port = pg.configured_port()?;
        let started = if pg.is_running()? {
            false
        } else {
            pg.start()?;
            true
        };
        pg.ensure_database()?;
        Ok((pg, started))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `postgres://postgres@127.0.0.1:<port>/gigcover`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(binary);
                c
            }
            None => Command::new(binary),
        }
    }

    fn run(&self, mut cmd: Command, what: &str) -> anyhow::Result<Output> {
        let out = cmd.output().with_context(|| format!("run {what}"))?;
        if !out.status.success() {
            bail!("{what} failed ({}): {}{}", out.status, String::from_utf8_lossy(&out.stderr).trim(), self.log_tail());
        }
        Ok(out)
    }

    fn log_file(&self) -> PathBuf {
        self.data_dir.join("postgres.log")
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<_> = text.lines().rev().take(5).collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!("\nserver log:\n{}", lines.into_iter().rev().collect::<Vec<_>>().join("\n"))
        }
    }

    fn init(&self) -> anyhow::Result<()> {
        if let Some(user) = &self.run_as {
            self.run(
                {
                    let mut c = Command::new("chown");
                    c.arg(format!("{user}:")).arg(&self.data_dir);
                    c
                },
                "chown the data folder to the postgres user",
            )?;
        }
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.data_dir).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        self.run(cmd, "initdb")?;
        let port = free_port()?;
        let conf = format!(
            "\n# gigcover private cluster\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 300\n"
        );
        let path = self.data_dir.join("postgresql.conf");
        let mut text = fs::read_to_string(&path)?;
        text.push_str(&conf);
        fs::write(&path, text)?;
        Ok(())
    }

    fn configured_port(&self) -> anyhow::Result<u16> {
        let text = fs::read_to_string(self.data_dir.join("postgresql.conf"))?;
        text.lines()
            .rev()
            .filter_map(|l| l.trim().strip_prefix("port = "))
            .find_map(|v| v.trim().parse().ok())
            .context("no port in postgresql.conf")
    }

    pub fn is_running(&self) -> anyhow::Result<bool> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.data_dir);
        let out = cmd.output().context("run pg_ctl status")?;
        Ok(out.status.success())
    }

    /// Starts the cluster and waits until it accepts connections.
    pub fn start(&self) -> anyhow::Result<()> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start").arg("-D").arg(&self.data_dir).arg("-l").arg(self.log_file()).args(["-w", "-t", "60"]);
        self.run(cmd, "pg_ctl start").map(|_| ())
    }

    /// Stops the cluster (fast shutdown: open sessions are disconnected).
    pub fn stop(&self) -> anyhow::Result<()> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop").arg("-D").arg(&self.data_dir).args(["-m", "fast", "-w", "-t", "60"]);
        self.run(cmd, "pg_ctl stop").map(|_| ())
    }

    fn ensure_database(&self) -> anyhow::Result<()> {
        let port = self.port.to_string();
        let mut check = self.command("psql");
        check.args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", "-tAc"]);
        check.arg(format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"));
        let out = self.run(check, "psql")?;
        if out.stdout.trim_ascii() != b"1" {
            let mut create = self.command("createdb");
            create.args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", DATABASE]);
            self.run(create, "createdb")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_is_created_started_reused_and_stopped() {
        if find_bin_dir().is_err() {
            eprintln!("skipped: no PostgreSQL server binaries on this machine");
            return;
        }
        let dir = tempfile::Builder::new().prefix("gigcover-localpg-").tempdir_in("/tmp").unwrap();
        let data = dir.path().join("pg");
        if is_root() {
            Command::new("chmod").arg("755").arg(dir.path()).status().unwrap();
        }
        let (pg, started) = LocalPostgres::ensure_running(&data).unwrap();
        assert!(started);
        assert!(pg.is_running().unwrap());
        let (again, started_again) = LocalPostgres::ensure_running(&data).unwrap();
        assert!(!started_again, "a running cluster is reused");
        assert_eq!(again.port(), pg.port());
        pg.stop().unwrap();
        assert!(!pg.is_running().unwrap());
    }
}
