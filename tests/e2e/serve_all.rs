//! `gigcover serve --target all` on a freshly provisioned private PostgreSQL: every service
//! becomes ready; when Postgres stops, readiness and requests answer a clean 503; when it
//! comes back, everything recovers without restarting gigcover.

use std::time::Duration;

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_localpg::LocalPostgres;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn serve_all_provisions_postgres_and_survives_its_restart() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("all", &[]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(90)).await;
    let http = gigcover_kit::client::http_builder().timeout(Duration::from_secs(10)).build().unwrap();
    let ops = gc.keys.ops_token();
    let platforms = gc.url(ServiceName::Aggregation, "/v1/platforms");
    let res = http.get(&platforms).bearer_auth(&ops).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // The image's health check (`gigcover healthcheck`, no shell) sees the same readiness.
    let port = gc.port(ServiceName::Pricing).to_string();
    let healthcheck = |ready: bool| {
        let ok = std::process::Command::new(gigcover_e2e::process::binary())
            .args(["healthcheck", "--target", "pricing"])
            .env("GIGCOVER_SERVICES__PRICING__PORT", &port)
            .output()
            .unwrap()
            .status
            .success();
        assert_eq!(ok, ready, "healthcheck of pricing on port {port}");
    };
    healthcheck(true);

    // The cluster gigcover provisioned: stop it underneath the running services.
    let (pg, started) = LocalPostgres::ensure_running(&gc.data_dir()).unwrap();
    assert!(!started, "gigcover should have started the cluster itself");
    pg.stop().unwrap();

    gc.wait_for_readyz(&ServiceName::ALL, 503, Duration::from_secs(30)).await;
    let res = http.get(gc.url(ServiceName::Pricing, "/readyz")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = http.get(&platforms).bearer_auth(&ops).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable", "{body}");
    healthcheck(false);

    pg.start().unwrap();
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(60)).await;
    let res = http.get(&platforms).bearer_auth(&ops).send().await.unwrap();
    assert_eq!(res.status(), 200, "requests recover once Postgres is back");

    gc.signal(nix::sys::signal::Signal::SIGTERM);
    let status = gc.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "clean exit after SIGTERM:\n{}", gc.logs());
    assert!(!pg.is_running().unwrap(), "gigcover stops the cluster it started");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_bad_bodies_get_problem_json_from_the_running_binary() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("aggregation", &[]);
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let http = gigcover_kit::client::http();
    let res = http.get(gc.url(ServiceName::Aggregation, "/no/such/route")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");

    let res = http
        .post(gc.url(ServiceName::Aggregation, "/v1/platforms"))
        .bearer_auth(gc.keys.ops_token())
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_taken_before_gigcover_binds_it_is_replaced_by_a_free_one() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("aggregation", &[]);
    let taken = gc.port(ServiceName::Aggregation);
    // As a parallel test's process may: bind the port after it was found free, before
    // gigcover (which first provisions its Postgres) binds it.
    let Ok(_squatter) = std::net::TcpListener::bind(("127.0.0.1", taken)) else {
        eprintln!("skipped: gigcover bound its port before the test could take it");
        return;
    };
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    assert_ne!(gc.port(ServiceName::Aggregation), taken);
    assert!(gc.logs().contains("Address already in use"), "the first launch failed on the taken port");
}
