//! `gigcover opensearch apply` against `osmem-server`, an in-memory OpenSearch API
//! emulator (pip install osmem-server): the index templates are created, can be read back,
//! and a second run changes nothing and says so. The emulator has no ISM or Alerting
//! plugin and no Dashboards: those objects are reported unavailable, and without
//! `--skip-unavailable` that fails the command. No real OpenSearch was available here.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gigcover_e2e::free_port;
use gigcover_e2e::process::binary;

/// The osmem-server binary: `OSMEM_SERVER_BIN`, on the PATH, or inside the Python package.
fn osmem() -> Option<String> {
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

struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn apply(url: &str, extra: &[&str]) -> (bool, String) {
    let out =
        Command::new(binary()).args(["opensearch", "apply", "--url", url]).args(extra).output().expect("run gigcover");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_the_templates_once_and_then_changes_nothing() {
    let Some(bin) = osmem() else {
        eprintln!("skipped: osmem-server is not installed (pip install osmem-server)");
        return;
    };
    let port = free_port();
    let _emulator = Emulator(
        Command::new(&bin)
            .args(["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start osmem-server"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = gigcover_kit::client::http();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{url}/_cluster/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "osmem-server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (ok, first) = apply(&url, &[]);
    assert!(!ok, "unavailable plugins fail the command without --skip-unavailable:\n{first}");
    assert!(first.contains("--skip-unavailable"), "{first}");
    let (ok, first) = apply(&url, &["--skip-unavailable"]);
    assert!(ok, "{first}");
    for name in ["gigcover-traces", "gigcover-logs", "gigcover-metrics"] {
        assert!(first.contains(&format!("unchanged  index template {name}")), "created by the run before:\n{first}");
    }
    assert!(first.contains("unavailable ISM policy gigcover-logs") && first.contains("no ISM plugin"), "{first}");
    assert!(first.contains("nothing to change: 3 unchanged"), "{first}");

    let template: serde_json::Value =
        http.get(format!("{url}/_index_template/gigcover-logs")).send().await.unwrap().json().await.unwrap();
    let t = &template["index_templates"][0]["index_template"];
    assert_eq!(t["index_patterns"][0], "logs-otel-v1-*", "{template}");
    assert!(t["_meta"]["gigcover_hash"].is_string());

    // Someone changes a template by hand: the next run puts ours back, then rests.
    let res = http
        .put(format!("{url}/_index_template/gigcover-logs"))
        .json(&serde_json::json!({"index_patterns": ["logs-otel-v1-*"], "template": {"settings": {"number_of_shards": 3}}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let (ok, again) = apply(&url, &["--skip-unavailable"]);
    assert!(ok && again.contains("updated    index template gigcover-logs"), "{again}");
    let (_, rest) = apply(&url, &["--skip-unavailable"]);
    assert!(rest.contains("nothing to change"), "{rest}");
}
