//! Workers' data keys wrapped by AWS KMS, against a fake KMS that follows the KMS JSON API
//! (TrentService.Encrypt/Decrypt, SigV4 `Authorization` checked, encryption context
//! enforced on Decrypt as KMS does). AWS itself cannot be reached from here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use gigcover_kit::auth::Role;
use gigcover_kit::sigv4;
use gigcover_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};

const SECRET: &str = "fake-secret-access-key";
/// What the fake STS hands out for the pod's web identity token.
const TEMP_KEY: &str = "ASIATEMPFAKE";
const TEMP_SECRET: &str = "temporary-secret";
const TEMP_SESSION: &str = "temporary-session-token";
const POD_TOKEN: &str = "the-pods-web-identity-token";

#[derive(Default)]
struct FakeKms {
    blobs: Mutex<HashMap<String, (String, Value)>>,
    calls: Mutex<Vec<String>>,
    sts_calls: Mutex<usize>,
}

/// STS `AssumeRoleWithWebIdentity`, as AWS answers it (XML).
async fn sts(form: web::Form<HashMap<String, String>>, state: web::Data<Arc<FakeKms>>) -> HttpResponse {
    let ok = form.get("Action").map(String::as_str) == Some("AssumeRoleWithWebIdentity")
        && form.get("WebIdentityToken").map(String::as_str) == Some(POD_TOKEN)
        && form.get("RoleArn").is_some_and(|r| r.starts_with("arn:aws:iam::"));
    if !ok {
        return HttpResponse::Forbidden()
            .body("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>");
    }
    *state.sts_calls.lock().unwrap() += 1;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    HttpResponse::Ok().content_type("text/xml").body(format!(
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
         <AccessKeyId>{TEMP_KEY}</AccessKeyId><SecretAccessKey>{TEMP_SECRET}</SecretAccessKey>\
         <SessionToken>{TEMP_SESSION}</SessionToken><Expiration>{expires}</Expiration>\
         </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
    ))
}

async fn kms(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<FakeKms>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let target = header("x-amz-target");
    // Static keys, or the temporary ones STS gave (which must carry their session token).
    let authorization = header("authorization");
    let (key, secret, mut names) = if authorization.contains(&format!("Credential={TEMP_KEY}/")) {
        if header("x-amz-security-token") != TEMP_SESSION {
            return HttpResponse::BadRequest().json(json!({"__type": "InvalidSignatureException"}));
        }
        (TEMP_KEY, TEMP_SECRET, vec!["x-amz-security-token"])
    } else {
        ("AKIAFAKE", SECRET, vec![])
    };
    names.extend(["content-type", "host", "x-amz-date", "x-amz-target"]);
    let signed = names.iter().map(|h| (h.to_string(), header(h))).collect();
    let expected = sigv4::authorization(
        &sigv4::Request { method: "POST", path: "/", query: "", headers: signed, body: &body },
        key,
        secret,
        "eu-central-1",
        "kms",
        &header("x-amz-date"),
    );
    if authorization != expected {
        return HttpResponse::BadRequest().json(json!({"__type": "InvalidSignatureException"}));
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if input["KeyId"] != "alias/gigcover-pii" {
        return HttpResponse::BadRequest().json(json!({"__type": "NotFoundException"}));
    }
    state.calls.lock().unwrap().push(target.clone());
    match target.as_str() {
        "TrentService.Encrypt" => {
            let blob = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
            let plain = input["Plaintext"].as_str().unwrap_or_default().to_owned();
            state.blobs.lock().unwrap().insert(blob.clone(), (plain, input["EncryptionContext"].clone()));
            HttpResponse::Ok().json(json!({"CiphertextBlob": blob, "KeyId": "arn:aws:kms:eu-central-1:1:key/fake"}))
        }
        "TrentService.Decrypt" => {
            let blobs = state.blobs.lock().unwrap();
            match blobs.get(input["CiphertextBlob"].as_str().unwrap_or_default()) {
                Some((plain, context)) if *context == input["EncryptionContext"] => {
                    HttpResponse::Ok().json(json!({"Plaintext": plain}))
                }
                _ => HttpResponse::BadRequest().json(json!({"__type": "InvalidCiphertextException"})),
            }
        }
        _ => HttpResponse::BadRequest().json(json!({"__type": "UnknownOperationException"})),
    }
}

fn start_fake(fake: Arc<FakeKms>) -> (u16, actix_web::dev::ServerHandle) {
    let state = web::Data::new(fake);
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).route("/", web::post().to(kms)).route("/sts", web::post().to(sts))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    (port, handle)
}

#[tokio::test]
async fn with_a_web_identity_kms_is_called_with_temporary_keys_from_sts() {
    let fake = Arc::new(FakeKms::default());
    let (port, handle) = start_fake(fake.clone());
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, POD_TOKEN).unwrap();
    let db = TestDatabase::create().await;
    let app = TestApp::spawn_with(&gigcover_identity::SPEC, &db, |c| {
        c.with("identity.kms.endpoint", format!("http://127.0.0.1:{port}"))
            .with("identity.kms.region", "eu-central-1")
            .with("identity.kms.key_id", "alias/gigcover-pii")
            .with("identity.kms.web_identity.role_arn", "arn:aws:iam::123456789012:role/gigcover-dev-identity")
            .with("identity.kms.web_identity.token_file", token_file.display().to_string())
            .with("identity.kms.web_identity.sts_endpoint", format!("http://127.0.0.1:{port}/sts"))
    })
    .await;
    let worker = uuid::Uuid::now_v7().to_string();
    let token = app.keys.token(Role::Worker, &worker, None);
    let url = app.url(&format!("/v1/workers/{worker}/personal-data"));
    let res = app.http.put(&url).bearer_auth(&token).json(&json!({"name": "Irsa Tester"})).send().await.unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    let got: Value = app.http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["name"], "Irsa Tester");
    assert_eq!(*fake.calls.lock().unwrap(), vec!["TrentService.Encrypt", "TrentService.Decrypt"]);
    assert_eq!(*fake.sts_calls.lock().unwrap(), 1, "the temporary keys are reused until near their expiry");
    handle.stop(true).await;
}

#[tokio::test]
async fn data_keys_are_wrapped_and_unwrapped_by_kms_with_the_worker_as_context() {
    let fake = Arc::new(FakeKms::default());
    let (port, handle) = start_fake(fake.clone());

    let db = TestDatabase::create().await;
    let app = TestApp::spawn_with(&gigcover_identity::SPEC, &db, |c| {
        c.with("identity.kms.endpoint", format!("http://127.0.0.1:{port}"))
            .with("identity.kms.region", "eu-central-1")
            .with("identity.kms.key_id", "alias/gigcover-pii")
            .with("identity.kms.access_key_id", "AKIAFAKE")
            .with("identity.kms.secret_access_key", SECRET)
    })
    .await;
    let worker = uuid::Uuid::now_v7().to_string();
    let token = app.keys.token(Role::Worker, &worker, None);
    let url = app.url(&format!("/v1/workers/{worker}/personal-data"));
    let data = json!({"name": "Kms Tester", "iban": "GB82 WEST 1234 5698 7654 32"});
    let res = app.http.put(&url).bearer_auth(&token).json(&data).send().await.unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    let got: Value = app.http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["name"], "Kms Tester");
    assert_eq!(*fake.calls.lock().unwrap(), vec!["TrentService.Encrypt", "TrentService.Decrypt"]);

    // The wrapped key only opens for its own worker (KMS checks the encryption context).
    let pool = db.pool().await;
    let other = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO identity.worker_keys (worker_id, wrapped_key) SELECT $2, wrapped_key FROM identity.worker_keys WHERE worker_id = $1",
    )
    .bind(worker.parse::<uuid::Uuid>().unwrap())
    .bind(other)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO identity.personal_data (worker_id, sealed) SELECT $2, sealed FROM identity.personal_data WHERE worker_id = $1",
    )
    .bind(worker.parse::<uuid::Uuid>().unwrap())
    .bind(other)
    .execute(&pool)
    .await
    .unwrap();
    let stolen = app
        .http
        .get(app.url(&format!("/v1/workers/{other}/personal-data")))
        .bearer_auth(app.keys.token(Role::Worker, &other.to_string(), None))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 500, "copied ciphertext and wrapped key do not open for another worker");
    let body = stolen.text().await.unwrap();
    assert!(!body.contains("Kms Tester"), "{body}");
    handle.stop(true).await;
}
