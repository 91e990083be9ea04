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

#[derive(Default)]
struct FakeKms {
    blobs: Mutex<HashMap<String, (String, Value)>>,
    calls: Mutex<Vec<String>>,
}

async fn kms(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<FakeKms>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let target = header("x-amz-target");
    let signed =
        ["content-type", "host", "x-amz-date", "x-amz-target"].iter().map(|h| (h.to_string(), header(h))).collect();
    let expected = sigv4::authorization(
        &sigv4::Request { method: "POST", path: "/", query: "", headers: signed, body: &body },
        "AKIAFAKE",
        SECRET,
        "eu-central-1",
        "kms",
        &header("x-amz-date"),
    );
    if header("authorization") != expected {
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

#[tokio::test]
async fn data_keys_are_wrapped_and_unwrapped_by_kms_with_the_worker_as_context() {
    let fake = Arc::new(FakeKms::default());
    let state = web::Data::new(fake.clone());
    let server = HttpServer::new(move || App::new().app_data(state.clone()).route("/", web::post().to(kms)))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let port = server.addrs()[0].port();
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);

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
