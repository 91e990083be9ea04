//! Every route of every service, taken from the services' own OpenAPI documents (so a new
//! route joins this test by default): without a token, with an expired, tampered,
//! `alg: none`, wrong-audience or unknown-key token, each is refused with a 401
//! problem+json, except the routes that are public by design (listed here, each with why).
//! A worker token on another worker's data is never a success, and an insurer without
//! consent never reads a worker.

use std::time::Duration;

use base64::Engine as _;
use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use serde_json::{Value, json};

/// Public by design: health and docs, the token endpoint and JWKS (OAuth2 and key
/// discovery), the development login (off unless enabled; a 404 here), and signed webhooks
/// (authenticated by their HMAC signature, tested in aggregation's own tests), and the ops
/// dashboard's page (static, no data in it: its data comes from `/v1/dashboard`, which needs
/// an ops token).
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/dashboard"),
    ("get", "/livez"),
    ("get", "/readyz"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/oauth/token"),
    ("post", "/v1/dev/worker-login"),
    ("post", "/v1/platforms/{id}/events"),
];

fn concrete(path: &str, worker: &str) -> String {
    path.replace("{id}", worker)
        .replace("{insurer}", "acme")
        .replace("{worker_ref}", "w-1")
        .replace("{secret_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{attachment}", "00000000-0000-0000-0000-000000000000")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_missing_and_bad_tokens_and_other_workers() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("all", &[]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    let http = gigcover_kit::client::http_builder().timeout(Duration::from_secs(20)).build().unwrap();
    let worker = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().timestamp();

    let keys = &gc.keys;
    let mut expired = keys.claims(Role::Ops, "ops", None);
    expired["exp"] = json!(now - 3600);
    let mut wrong_audience = keys.claims(Role::Ops, "ops", None);
    wrong_audience["aud"] = json!("someone-else");
    let valid = keys.ops_token();
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    payload["role"] = json!("ops");
    payload["sub"] = json!("intruder");
    parts[1] = b64.encode(payload.to_string());
    let tampered = parts.join(".");
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(keys.claims(Role::Ops, "ops", None).to_string())
    );
    let unknown_kid = gigcover_testkit::TestKeys::from_seed("stranger", [9u8; 32]).ops_token();
    let bad_tokens: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("expired", Some(keys.sign(&expired))),
        ("wrong audience", Some(keys.sign(&wrong_audience))),
        ("tampered payload", Some(tampered)),
        ("alg none", Some(none)),
        ("unknown kid", Some(unknown_kid)),
    ];
    let other_worker = keys.token(Role::Worker, &uuid::Uuid::now_v7().to_string(), None);
    let insurer = keys.token(Role::Insurer, "client-acme", Some("acme"));

    let mut checked = 0;
    for service in ServiceName::ALL {
        let doc: Value = http.get(gc.url(service, "/openapi.json")).send().await.unwrap().json().await.unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, _) in item.as_object().unwrap() {
                if PUBLIC.contains(&(method.as_str(), path.as_str())) {
                    continue;
                }
                let url = gc.url(service, &concrete(path, &worker));
                let request = |token: Option<&String>| {
                    let mut req = http.request(method.to_uppercase().parse().unwrap(), &url);
                    if let Some(t) = token {
                        req = req.bearer_auth(t);
                    }
                    req.header("content-type", "application/json").body("{}").send()
                };
                for (case, token) in &bad_tokens {
                    let res = request(token.as_ref()).await.unwrap();
                    assert_eq!(res.status(), 401, "{service} {method} {path}: {case}");
                    assert_eq!(res.headers()["content-type"], "application/problem+json", "{service} {method} {path}");
                }
                if path.starts_with("/v1/workers/{id}") {
                    // Never a success; a route whose body is checked before the caller
                    // (the body here is `{}`) may answer 422, which reads and writes nothing.
                    for (who, token) in [("another worker", &other_worker), ("an insurer without consent", &insurer)] {
                        let res = request(Some(token)).await.unwrap();
                        assert!(
                            matches!(res.status().as_u16(), 403 | 404 | 422),
                            "{service} {method} {path}: {who} got {}",
                            res.status()
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} routes found in the OpenAPI documents");
}
