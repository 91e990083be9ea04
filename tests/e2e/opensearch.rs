//! `gigcover opensearch apply` against `osmem-server`, an in-memory OpenSearch API
//! emulator (pip install osmem-server): the index templates are created, can be read back,
//! and a second run changes nothing and says so. The emulator has no ISM or Alerting
//! plugin and no Dashboards: those objects are reported unavailable, and without
//! `--skip-unavailable` that fails the command. No real OpenSearch was available here.

use std::process::Command;

use gigcover_e2e::process::binary;
use gigcover_testkit::Osmem;

fn apply(url: &str, extra: &[&str]) -> (bool, String) {
    let out =
        Command::new(binary()).args(["opensearch", "apply", "--url", url]).args(extra).output().expect("run gigcover");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_the_templates_once_and_then_changes_nothing() {
    let Some(osmem) = Osmem::start().await else { return };
    let url = osmem.url.clone();
    let http = gigcover_kit::client::http();

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
