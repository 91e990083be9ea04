//! The alert path end to end on the real binary: a steady load on pricing, a failure drill
//! makes it fail, the page alert for its availability SLO fires (burn rates over the
//! scaled 1 h and 5 min windows) and its notification reaches a local receiver, signed;
//! the alert resolves after the drill stops and that is notified too; a silence keeps the
//! next one quiet while it is still tracked.
//!
//! Time is scaled (`ops.time_scale` 0.001: an hour is 3.6 s), the one stand-in here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gigcover_e2e::{Gigcover, WebhookReceiver};
use gigcover_kit::ServiceName;
use serde_json::{Value, json};

async fn until<F, Fut>(what: &str, within: Duration, mut check: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_pages_then_resolves_and_a_silence_keeps_it_quiet() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let receiver = WebhookReceiver::start(0);
    let receivers = format!(r#"[{{name="oncall",url="{}",format="slack",secret="s3cret"}}]"#, receiver.url());
    let mut gc = Gigcover::serve(
        "all",
        &[
            ("GIGCOVER_OPS__TIME_SCALE", "0.001".into()),
            ("GIGCOVER_OPS__SCRAPE_SECS", "0.1".into()),
            ("GIGCOVER_OPS__EVALUATE_SECS", "0.2".into()),
            ("GIGCOVER_OPS__PENDING_SECS", "0".into()),
            ("GIGCOVER_OPS__RECEIVERS", receivers),
        ],
    );
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let http = gigcover_kit::client::http();
    let ops = gc.keys.ops_token();
    let ops_url = |p: &str| gc.url(ServiceName::Ops, p);

    // A steady load on pricing: 50 requests a second.
    let running = Arc::new(AtomicBool::new(true));
    let load = {
        let (http, url, token, running) =
            (http.clone(), gc.url(ServiceName::Pricing, "/v1/products"), ops.clone(), Arc::clone(&running));
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let _ = http.get(&url).bearer_auth(&token).send().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let alerts = || {
        let (http, url, token) = (http.clone(), ops_url("/v1/alerts"), ops.clone());
        async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    let page = |state: &'static str| {
        move || async move {
            alerts()
                .await
                .into_iter()
                .find(|a| a["slo"] == "pricing-availability" && a["severity"] == "page" && a["state"] == state)
        }
    };
    assert!(alerts().await.iter().all(|a| a["slo"] != "pricing-availability"), "healthy: no alert");

    // Bad drills are refused; a good one starts.
    let drill = |body: Value| http.post(ops_url("/v1/drills")).bearer_auth(&ops).json(&body).send();
    assert_eq!(drill(json!({"service": "nowhere", "mode": "fail"})).await.unwrap().status(), 422);
    assert_eq!(drill(json!({"service": "pricing", "mode": "explode"})).await.unwrap().status(), 422);
    let worker = gc.keys.token(gigcover_kit::auth::Role::Worker, &uuid::Uuid::now_v7().to_string(), None);
    let res = http
        .put(gc.url(ServiceName::Pricing, "/internal/drill"))
        .bearer_auth(&worker)
        .json(&json!({"mode": "fail"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "only ops and our services set drills");
    assert_eq!(
        drill(json!({"service": "pricing", "mode": "fail", "percent": 100, "seconds": 4})).await.unwrap().status(),
        204
    );

    // The page fires and is notified, signed, with its links.
    let fired = until("the page to fire", Duration::from_secs(20), page("firing")).await;
    let note = until("the firing notification", Duration::from_secs(10), || {
        let got = receiver.received();
        async move {
            got.into_iter()
                .find(|r| String::from_utf8_lossy(&r.body).contains("[FIRING] page pricing-availability"))
                .map(|r| json!(r.body))
        }
    })
    .await;
    let body: Vec<u8> = serde_json::from_value(note).unwrap();
    let received = receiver.received().into_iter().find(|r| r.body == body).unwrap();
    let now = chrono::Utc::now().timestamp();
    gigcover_kit::signature::verify(Some(&received.signature), &body, &[b"s3cret".to_vec()], now, 300).unwrap();
    let message: Value = serde_json::from_slice(&body).unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("/dashboard#slo-pricing-availability") && text.contains("runbook.md#availability"), "{text}");
    assert_eq!(message["gigcover"]["alert_id"], fired["id"]);

    // The drill ends (4 s); the short windows recover and the page resolves, notified.
    let resolved = until("the page to resolve", Duration::from_secs(30), || {
        let id = fired["id"].clone();
        async move { alerts().await.into_iter().find(|a| a["id"] == id && a["state"] == "resolved") }
    })
    .await;
    assert!(resolved["resolved_at"].is_string());
    until("the resolved notification", Duration::from_secs(10), || {
        let got = receiver.received();
        async move {
            got.into_iter()
                .any(|r| String::from_utf8_lossy(&r.body).contains("[RESOLVED] page pricing-availability"))
                .then_some(Value::Null)
        }
    })
    .await;
    let status: Vec<Value> =
        http.get(ops_url("/v1/slos")).bearer_auth(&ops).send().await.unwrap().json().await.unwrap();
    let slo = status.iter().find(|s| s["name"] == "pricing-availability").unwrap();
    assert!(slo["budget_remaining"].as_f64().unwrap() < 1.0, "{slo}");

    // Silenced, the next page is tracked but nobody is told.
    let res = http
        .post(ops_url("/v1/silences"))
        .bearer_auth(&ops)
        .json(&json!({"slo": "pricing-availability", "minutes": 30, "reason": "drilling again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let before = receiver.received().len();
    assert_eq!(drill(json!({"service": "pricing", "mode": "fail", "seconds": 3})).await.unwrap().status(), 204);
    let quiet = until("the silenced page", Duration::from_secs(20), page("firing")).await;
    assert_eq!(quiet["silenced"], true);
    assert_ne!(quiet["id"], fired["id"], "a new alert, not the resolved one reopened");
    until("the silenced page to resolve", Duration::from_secs(30), || {
        let id = quiet["id"].clone();
        async move { alerts().await.into_iter().find(|a| a["id"] == id && a["state"] == "resolved") }
    })
    .await;
    let pages_told: Vec<String> = receiver.received()[before..]
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .filter(|b| b.contains("page pricing-availability"))
        .collect();
    assert!(pages_told.is_empty(), "a silenced page was notified: {pages_told:?}");
    running.store(false, Ordering::Relaxed);
    load.await.unwrap();
}
