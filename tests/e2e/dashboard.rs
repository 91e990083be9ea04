//! The ops dashboard in a real browser (Debian's headless `chromium`): signed in with an
//! ops token, it shows every service with live request rates, the SLOs with their error
//! budget, and the alerts; a screenshot is kept as a test artefact
//! (`target/test-artefacts/dashboard.png`). Skipped, saying so, where chromium is missing.

use std::process::Command;
use std::time::Duration;

use gigcover_e2e::{Gigcover, Scenario, gig};
use gigcover_kit::ServiceName;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_live_services_slos_and_alerts_in_a_browser() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("GIGCOVER_OPS__TIME_SCALE", "0.01".into()),
            ("GIGCOVER_OPS__SCRAPE_SECS", "0.2".into()),
            ("GIGCOVER_OPS__EVALUATE_SECS", "0.5".into()),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let http = gigcover_kit::client::http();
    let ops = gc.keys.ops_token();
    // A platform's fresh activity: its freshness SLO appears per platform.
    let s = Scenario::new(&gc).await;
    s.platform("eats").await;
    let worker = uuid::Uuid::now_v7().to_string();
    s.link("eats", "e-1", &worker).await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(30);
    s.records("eats", &[gig("g-1", "e-1", start, 20, "6.00", "0")], None).await;
    // Traffic for the charts and the live rates: pricing and claims are read until the
    // browser has read the page. (The rates count the last 3 s of scaled time; a browser
    // that starts slowly on a busy machine would otherwise find them quiet.)
    let traffic = tokio::spawn({
        let (http, pricing, claims, ops) = (
            http.clone(),
            gc.url(ServiceName::Pricing, "/v1/products"),
            gc.url(ServiceName::Claims, "/v1/claims"),
            ops.clone(),
        );
        async move {
            loop {
                for url in [&pricing, &claims] {
                    let _ = http.get(url).bearer_auth(&ops).send().await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;

    let url = format!("{}#token={ops}", gc.url(ServiceName::Ops, "/dashboard"));
    let run = move |extra: Vec<String>| {
        let profile = tempfile::tempdir().unwrap();
        let out = Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,1300"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--virtual-time-budget=6000", "--run-all-compositor-stages-before-draw"])
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium");
        (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    // The browser blocks its thread: off the runtime's, so the traffic goes on meanwhile.
    let (dom, err) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(vec!["--dump-dom".to_owned()])
    })
    .await
    .unwrap();
    traffic.abort();
    assert!(dom.contains("id=\"slo-pricing-availability\""), "the SLO table is missing:\n{dom}\n{err}");
    assert!(dom.contains("id=\"slo-ingestion-freshness/eats\""), "no freshness SLO for the platform:\n{dom}");
    for service in ["aggregation", "enrichment", "identity", "pricing", "claims"] {
        assert!(dom.contains(&format!("data-service=\"{service}\"")), "no card for {service}");
    }
    // The pricing card shows a live, non-zero request rate.
    let card = dom.split("data-service=\"pricing\"").nth(1).unwrap();
    let rps: f64 = card.split("class=\"rps\">").nth(1).unwrap().split('<').next().unwrap().parse().unwrap();
    assert!(rps > 0.0, "pricing shows no traffic: {card}");
    assert!(dom.contains("no alerts firing") || dom.contains("firing"));

    let artefacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    run(vec![format!("--screenshot={}", shot.display())]);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {} ({size} bytes)", shot.display());
}
