//! The platform registry and webhook secret rotation.

use serde_json::{Value, json};

use crate::harness::{Harness, Platform};

#[tokio::test]
async fn ops_registers_a_platform_and_gets_its_first_secret_once() {
    let h = Harness::start().await;
    let p = h.platform("rides-de", "gig_records", "Europe/Berlin", "EUR").await;
    assert!(p.secret.starts_with("whsec_"));
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT sealed FROM aggregation.platform_secrets").fetch_one(&h.pool).await.unwrap();
    assert!(!sealed.windows(p.secret.len()).any(|w| w == p.secret.as_bytes()), "the secret is sealed at rest");
    let listed: Value = h.ops(h.get("/v1/platforms/rides-de/secrets")).send().await.unwrap().json().await.unwrap();
    assert!(!listed.to_string().contains(&p.secret), "listing never shows a secret");

    let again = h
        .ops(h.post("/v1/platforms"))
        .json(&json!({"id": "rides-de", "name": "x", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"}, "category": "ride_hailing", "adapter": "gig_records"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn invalid_registrations_name_each_problem() {
    let h = Harness::start().await;
    let cases = [
        (
            json!({"id": "x1", "name": "x", "market": {"country": "Germany", "time_zone": "Europe/Berlin", "currency": "EUR"}, "category": "ride_hailing", "adapter": "csv"}),
            422,
            "market.country",
        ),
        (
            json!({"id": "x1", "name": "x", "market": {"country": "DE", "time_zone": "Mars/Olympus", "currency": "EUR"}, "category": "ride_hailing", "adapter": "csv"}),
            422,
            "market.time_zone",
        ),
        (
            json!({"id": "x1", "name": "x", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUX"}, "category": "ride_hailing", "adapter": "csv"}),
            422,
            "market.currency",
        ),
        (
            json!({"id": "X_1", "name": "x", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"}, "category": "ride_hailing", "adapter": "csv"}),
            422,
            "id",
        ),
        (
            json!({"id": "x1", "name": "x", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"}, "category": "taxi", "adapter": "csv"}),
            422,
            "category",
        ),
    ];
    for (body, status, field) in cases {
        let res = h.ops(h.post("/v1/platforms")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), status);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(h.count("SELECT count(*) FROM aggregation.platforms").await, 0);
}

#[tokio::test]
async fn only_ops_register_platforms_and_a_platform_sees_only_itself() {
    let h = Harness::start().await;
    h.platform("alpha", "gig_records", "Europe/Berlin", "EUR").await;
    h.platform("beta", "gig_records", "Europe/Berlin", "EUR").await;
    let res = h.as_platform("alpha", h.post("/v1/platforms")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(h.as_platform("alpha", h.get("/v1/platforms/alpha")).send().await.unwrap().status(), 200);
    assert_eq!(h.as_platform("alpha", h.get("/v1/platforms/beta")).send().await.unwrap().status(), 403);
    assert_eq!(h.as_platform("alpha", h.get("/v1/platforms")).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn secrets_rotate_without_a_gap() {
    let h = Harness::start().await;
    let old = h.platform("rot", "gig_records", "Europe/Berlin", "EUR").await;
    let event = crate::harness::gig("g1", "w1", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z", "5");
    // The only secret cannot be revoked.
    let listed: Value = h.ops(h.get("/v1/platforms/rot/secrets")).send().await.unwrap().json().await.unwrap();
    let old_id = listed[0]["id"].as_str().unwrap().to_owned();
    let res = h.ops(h.app.http.delete(h.app.url(&format!("/v1/platforms/rot/secrets/{old_id}")))).send().await.unwrap();
    assert_eq!(res.status(), 409);

    let added: Value =
        h.as_platform("rot", h.post("/v1/platforms/rot/secrets")).send().await.unwrap().json().await.unwrap();
    let new = Platform { id: "rot".into(), secret: added["secret"].as_str().unwrap().to_owned() };
    assert_eq!(h.webhook(&old, &event).await.status(), 202, "the old secret still works during rotation");
    assert_eq!(h.webhook(&new, &event).await.status(), 202, "the new one works at once");
    let res = h
        .as_platform("rot", h.app.http.delete(h.app.url(&format!("/v1/platforms/rot/secrets/{old_id}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = h.webhook(&old, &event).await;
    assert_eq!(res.status(), 401, "a revoked secret no longer verifies");
}
