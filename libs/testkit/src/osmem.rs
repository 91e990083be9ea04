//! `osmem-server`, an in-memory OpenSearch API emulator (pip install osmem-server), on a
//! free port for one test: the closest stand-in for OpenSearch that runs here. Absent,
//! `start` returns `None` and the test skips, saying so.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Osmem {
    child: Child,
    pub url: String,
}

/// The binary: `OSMEM_SERVER_BIN`, on the PATH, or inside the Python package.
fn binary() -> Option<String> {
    if let Ok(bin) = std::env::var("OSMEM_SERVER_BIN") {
        return Some(bin);
    }
    if Command::new("osmem-server").arg("-version").output().is_ok() {
        return Some("osmem-server".into());
    }
    let out = Command::new("python3")
        .args(["-c", "import os, osmem_server; print(os.path.join(os.path.dirname(osmem_server.__file__), 'bin', 'osmem-server'))"])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && std::path::Path::new(&path).is_file()).then_some(path)
}

impl Osmem {
    /// Starts the emulator and waits until it answers; `None` where it is not installed.
    pub async fn start() -> Option<Osmem> {
        let Some(bin) = binary() else {
            eprintln!("skipped: osmem-server is not installed (pip install osmem-server)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let child = Command::new(&bin)
            .args(["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start osmem-server");
        let osmem = Osmem { child, url: format!("http://127.0.0.1:{port}") };
        let http = gigcover_kit::client::http();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{}/_cluster/health", osmem.url)).send().await.is_err() {
            assert!(Instant::now() < deadline, "osmem-server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(osmem)
    }

    /// Indexes `docs` into `index` in one `_bulk` request, refreshed (searchable at once).
    pub async fn index(&self, index: &str, docs: &[serde_json::Value]) {
        let mut body = String::new();
        for d in docs {
            body.push_str(&serde_json::json!({"index": {"_index": index}}).to_string());
            body.push('\n');
            body.push_str(&d.to_string());
            body.push('\n');
        }
        let res = gigcover_kit::client::http()
            .post(format!("{}/_bulk?refresh=true", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("bulk index");
        let answer: serde_json::Value = res.json().await.expect("a bulk answer");
        assert_eq!(answer["errors"], false, "{answer}");
    }
}

impl Drop for Osmem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
