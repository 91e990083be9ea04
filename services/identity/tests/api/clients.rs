//! OAuth2 client credentials: tokens that every service's verifier accepts through the
//! JWKS, secrets shown once, rotation and revocation effective at once, RFC error codes.

use gigcover_kit::auth::{Role, TrustedIssuer, Verifier};
use gigcover_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};

async fn start() -> (TestApp, TestDatabase) {
    let db = TestDatabase::create().await;
    let app = TestApp::spawn(&gigcover_identity::SPEC, &db).await;
    (app, db)
}

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.http.post(app.url("/v1/clients")).bearer_auth(app.keys.ops_token()).json(&body).send().await.unwrap()
}

async fn token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_gets_a_token_every_service_verifies_through_the_jwks() {
    let (app, _db) = start().await;
    let res = create(
        &app,
        json!({"client_id": "acme-pricing", "name": "ACME", "role": "insurer", "tenant": "acme", "scopes": ["quotes"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    let secret = issued["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 40);
    // The secret is shown once: the list never has it, the database only a hash.
    let list: Value = app
        .http
        .get(app.url("/v1/clients"))
        .bearer_auth(app.keys.ops_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&secret));
    let pool = _db.pool().await;
    let stored: String =
        sqlx::query_scalar("SELECT secret_hash FROM identity.clients WHERE client_id = 'acme-pricing'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&secret));

    let res = token(&app, "acme-pricing", &secret).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "quotes");
    let jwt = body["access_token"].as_str().unwrap();

    let verifier = Verifier::new(
        vec![TrustedIssuer::with_jwks("gigcover-identity", "gigcover", app.url("/.well-known/jwks.json"))],
        30,
    );
    let principal = verifier.verify(jwt).await.unwrap();
    assert_eq!((principal.role, principal.tenant.as_deref()), (Role::Insurer, Some("acme")));
    assert_eq!(principal.subject, "acme-pricing");
    assert!(principal.has_scope("quotes"));

    // The form may carry the credentials instead of HTTP Basic.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "acme-pricing"), ("client_secret", &secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn rotation_and_revocation_take_effect_at_once() {
    let (app, _db) = start().await;
    let issued: Value =
        create(&app, json!({"client_id": "ops-tool", "name": "Ops tool", "role": "ops"})).await.json().await.unwrap();
    let old = issued["client_secret"].as_str().unwrap().to_owned();
    let rotated: Value = app
        .http
        .post(app.url("/v1/clients/ops-tool/rotate"))
        .bearer_auth(app.keys.ops_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token(&app, "ops-tool", &old).await.status(), 401);
    assert_eq!(token(&app, "ops-tool", &new).await.status(), 200);
    let res =
        app.http.post(app.url("/v1/clients/ops-tool/revoke")).bearer_auth(app.keys.ops_token()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let refused = token(&app, "ops-tool", &new).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn bad_requests_get_the_rfc_error_codes_as_problems() {
    let (app, _db) = start().await;
    let issued: Value =
        create(&app, json!({"client_id": "rides-co", "name": "Rides", "role": "platform", "tenant": "rides"}))
            .await
            .json()
            .await
            .unwrap();
    let secret = issued["client_secret"].as_str().unwrap();
    let post = |form: Vec<(&'static str, String)>| app.http.post(app.url("/oauth/token")).form(&form).send();
    type Form = Vec<(&'static str, String)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (vec![("grant_type", "password".into())], 400, "unsupported_grant_type"),
        (vec![("client_id", "rides-co".into())], 400, "invalid_request"),
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "rides-co".into()),
                ("client_secret", "wrong".into()),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "nobody".into()),
                ("client_secret", "x".into()),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "rides-co".into()),
                ("client_secret", secret.into()),
                ("scope", "admin".into()),
            ],
            400,
            "invalid_scope",
        ),
    ];
    for (form, status, error) in cases {
        let res = post(form.clone()).await.unwrap();
        assert_eq!(res.status(), status, "{form:?}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
    }
    let json_body =
        app.http.post(app.url("/oauth/token")).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap();
    assert_eq!(json_body.status(), 400);

    // Client management is for ops, and checks what it is given.
    let as_platform = app.keys.token(Role::Platform, "x", Some("rides"));
    let res = app.http.post(app.url("/v1/clients")).bearer_auth(as_platform).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = create(&app, json!({"client_id": "A!", "name": "", "role": "insurer"})).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["client_id", "name", "tenant"]);
    let again =
        create(&app, json!({"client_id": "rides-co", "name": "Rides", "role": "platform", "tenant": "rides"})).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn the_development_login_is_off_unless_enabled() {
    let (app, _db) = start().await;
    let res = app.http.post(app.url("/v1/dev/worker-login")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let db = TestDatabase::create().await;
    let app = TestApp::spawn_with(&gigcover_identity::SPEC, &db, |c| c.with("identity.dev_login", true)).await;
    let worker = uuid::Uuid::now_v7();
    let res = app.http.post(app.url("/v1/dev/worker-login")).json(&json!({"worker_id": worker})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let verifier = Verifier::new(
        vec![TrustedIssuer::with_jwks("gigcover-identity", "gigcover", app.url("/.well-known/jwks.json"))],
        30,
    );
    let principal = verifier.verify(body["access_token"].as_str().unwrap()).await.unwrap();
    assert_eq!(principal.worker_id().map(|w| w.as_uuid()), Some(worker));

    let production = TestDatabase::create().await;
    gigcover_kit::install_crypto_provider();
    let config = gigcover_testkit::app::test_config(&app.keys)
        .with("identity.dev_login", true)
        .with("environment", "prod")
        .with("database.url", production.url());
    let refused = gigcover_kit::service::launch(
        &gigcover_identity::SPEC,
        &config,
        &production.secret_url(),
        gigcover_kit::service::LaunchOptions { port: Some(0), tokens: None },
    )
    .await;
    let error = format!("{:#}", refused.err().expect("the development login is refused in production"));
    assert!(error.contains("dev_login"), "{error}");
}
