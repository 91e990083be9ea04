//! Every kind of bad token is refused with 401; a valid one is accepted; roles are enforced.

use actix_web::{App, HttpResponse, test, web};
use gigcover_kit::auth::{Authorized, Principal, Role, roles};
use gigcover_testkit::TestKeys;
use gigcover_testkit::keys::{AUDIENCE, ISSUER, KID};
use serde_json::{Value, json};

async fn whoami(p: Principal) -> HttpResponse {
    HttpResponse::Ok().json(json!({"sub": p.subject, "role": p.role, "tenant": p.tenant}))
}

async fn ops_only(_: Authorized<roles::Ops>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn call(keys: &TestKeys, path: &str, token: Option<&str>) -> (u16, Value) {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(keys.verifier()))
            .route("/whoami", web::get().to(whoami))
            .route("/ops", web::get().to(ops_only)),
    )
    .await;
    let mut req = test::TestRequest::get().uri(path);
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status().as_u16();
    let body = test::read_body(res).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn b64(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[actix_web::test]
async fn a_valid_token_is_accepted_and_names_its_bearer() {
    let keys = TestKeys::default();
    let token = keys.token(Role::Insurer, "client-7", Some("acme"));
    let (status, body) = call(&keys, "/whoami", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"sub": "client-7", "role": "insurer", "tenant": "acme"}));
}

#[actix_web::test]
async fn a_missing_token_is_refused() {
    let keys = TestKeys::default();
    let (status, body) = call(&keys, "/whoami", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
}

/// Each case: a name, and claims (or a whole token) that must be refused.
fn bad_tokens(keys: &TestKeys) -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    let good = keys.claims(Role::Ops, "ops-1", None);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        keys.sign(&c)
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        keys.sign(&c)
    };
    let valid = keys.sign(&good);
    let parts: Vec<&str> = valid.split('.').collect();

    // alg none: a header without signature.
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": KID})), parts[1]);
    // HS256 "signed" with the public key as the HMAC secret: the classic key-confusion attack.
    let hs256 = {
        let header =
            jsonwebtoken::Header { kid: Some(KID.into()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) };
        jsonwebtoken::encode(
            &header,
            &good,
            &jsonwebtoken::EncodingKey::from_secret(keys.public_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let unknown_kid = TestKeys::from_seed("other-key", [9u8; 32]).sign(&good);
    let tampered = {
        let mut c = good.clone();
        c["role"] = json!("ops");
        c["sub"] = json!("someone-else");
        format!("{}.{}.{}", parts[0], b64(&c), parts[2])
    };
    vec![
        ("expired", with("exp", json!(now - 3600))),
        ("not yet valid", with("nbf", json!(now + 3600))),
        ("wrong audience", with("aud", json!("someone-else"))),
        ("wrong issuer", with("iss", json!("evil-issuer"))),
        ("missing exp", without("exp")),
        ("missing aud", without("aud")),
        ("alg none", none),
        ("HS256 signed with the public key", hs256),
        ("unknown kid", unknown_kid),
        ("tampered payload", tampered),
        ("not a JWT", "not-a-token".into()),
    ]
}

#[actix_web::test]
async fn every_kind_of_bad_token_is_refused_with_401() {
    let keys = TestKeys::default();
    assert_eq!(ISSUER, "gigcover-identity");
    assert_eq!(AUDIENCE, "gigcover");
    for (case, token) in bad_tokens(&keys) {
        let (status, body) = call(&keys, "/whoami", Some(&token)).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["code"], "unauthorized", "{case}");
    }
}

#[actix_web::test]
async fn a_route_for_one_role_refuses_the_others_with_403() {
    let keys = TestKeys::default();
    let (status, _) = call(&keys, "/ops", Some(&keys.ops_token())).await;
    assert_eq!(status, 200);
    let worker = keys.token(Role::Worker, &uuid::Uuid::new_v4().to_string(), None);
    let (status, body) = call(&keys, "/ops", Some(&worker)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "forbidden");
}

/// The workers' external identity provider (Cognito in production): its tokens are worker
/// tokens whatever they claim, checked against its own issuer, audience and keys.
#[tokio::test]
async fn a_worker_identity_providers_token_is_a_worker_whatever_it_claims() {
    use gigcover_kit::auth::{TrustedIssuer, Verifier};
    let ours = TestKeys::default();
    let idp = TestKeys::from_seed("idp-key-1", [3u8; 32]);
    let idp_issuer = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_pool";
    let verifier = Verifier::new(
        vec![
            TrustedIssuer::with_keys(ISSUER, AUDIENCE, &[ours.public_key_config()]).unwrap(),
            TrustedIssuer::with_keys(idp_issuer, "gigcover-app", &[idp.public_key_config()]).unwrap().for_workers(),
        ],
        30,
    );
    let now = chrono::Utc::now().timestamp();
    let worker = uuid::Uuid::now_v7().to_string();
    let claims = |aud: &str, extra: Value| {
        let mut c = json!({"iss": idp_issuer, "aud": aud, "sub": worker, "exp": now + 600, "iat": now,
                           "token_use": "id", "email": "someone@example.org"});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c
    };
    // Claiming to be ops changes nothing.
    let p = verifier.verify(&idp.sign(&claims("gigcover-app", json!({"role": "ops"})))).await.unwrap();
    assert_eq!((p.role, p.subject.as_str(), p.tenant.as_deref()), (Role::Worker, worker.as_str(), None));
    assert!(p.worker_id().is_some());
    assert!(verifier.verify(&idp.sign(&claims("another-app", json!({})))).await.is_err(), "wrong audience");
    let mut no_exp = claims("gigcover-app", json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(verifier.verify(&idp.sign(&no_exp)).await.is_err(), "no exp");
    // Our own keys do not sign for the IdP's issuer, nor its keys for ours.
    assert!(verifier.verify(&ours.sign(&claims("gigcover-app", json!({})))).await.is_err());
    let mut as_ours = ours.claims(Role::Ops, "ops", None);
    as_ours["iss"] = json!(ISSUER);
    assert!(verifier.verify(&idp.sign(&as_ours)).await.is_err());
}
