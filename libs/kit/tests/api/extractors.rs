//! Bad bodies and queries are answered with problem+json naming the problem.

use actix_web::{App, HttpResponse, test, web};
use gigcover_kit::http::{BodyLimit, Json, Query};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Trip {
    id: String,
    distance_km: u32,
    stops: Vec<Stop>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Stop {
    name: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Paging {
    limit: u32,
}

async fn create(_: Json<Trip>) -> HttpResponse {
    HttpResponse::Created().finish()
}

async fn page(_: Query<Paging>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn send(req: test::TestRequest) -> (u16, String, Value) {
    let app = test::init_service(
        App::new()
            .app_data(BodyLimit(1024))
            .route("/trips", web::post().to(create))
            .route("/page", web::get().to(page)),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = test::read_body(res).await;
    (status, ct, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn post(body: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/trips")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn a_valid_body_passes() {
    let (status, _, _) = send(post(r#"{"id":"t1","distance_km":3,"stops":[{"name":"a"}]}"#)).await;
    assert_eq!(status, 201);
}

#[actix_web::test]
async fn malformed_json_is_a_400_with_its_position() {
    let (status, ct, body) = send(post(r#"{"id": "t1", "distance_km": 3,"#)).await;
    assert_eq!(status, 400);
    assert_eq!(ct, "application/problem+json");
    assert_eq!(body["code"], "malformed_json");
    assert_eq!(body["line"], 1);
}

#[actix_web::test]
async fn a_wrong_type_is_a_422_naming_the_field() {
    let (status, _, body) = send(post(r#"{"id":"t1","distance_km":"far","stops":[]}"#)).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_body");
    assert_eq!(body["errors"][0]["field"], "distance_km");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expected u32"), "{body}");
}

#[actix_web::test]
async fn a_missing_nested_field_is_named_with_its_path() {
    let (status, _, body) = send(post(r#"{"id":"t1","distance_km":3,"stops":[{}]}"#)).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "stops[0].name", "{body}");
}

#[actix_web::test]
async fn a_missing_field_is_named() {
    let (status, _, body) = send(post(r#"{"id":"t1","stops":[]}"#)).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "distance_km", "{body}");
}

#[actix_web::test]
async fn an_oversized_body_is_a_413() {
    let big = format!(r#"{{"id":"{}","distance_km":3,"stops":[]}}"#, "x".repeat(2000));
    let (status, _, body) = send(post(&big)).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_415() {
    let req = test::TestRequest::post().uri("/trips").insert_header(("content-type", "text/plain")).set_payload("hi");
    let (status, _, body) = send(req).await;
    assert_eq!(status, 415);
    assert_eq!(body["code"], "unsupported_media_type");
}

#[actix_web::test]
async fn trailing_garbage_after_the_json_is_malformed() {
    let (status, _, body) = send(post(r#"{"id":"t1","distance_km":3,"stops":[]} extra"#)).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "malformed_json");
}

#[actix_web::test]
async fn a_bad_query_parameter_is_a_400_naming_it() {
    let (status, _, body) = send(test::TestRequest::get().uri("/page?limit=lots")).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_query");
    assert_eq!(body["errors"][0]["field"], "limit", "{body}");
}
