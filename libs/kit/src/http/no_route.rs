//! The answer when no route takes a request: a 405 naming the methods the path is served
//! with (in `Allow`, as HTTP requires) where the path is served with other methods, else a
//! 404. Both are problem+json.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};

use crate::error::ApiError;

/// The methods each documented path is served with, from the service's OpenAPI document
/// (its paths are written as the routes are: `/v1/platforms/{id}/events`).
pub(crate) struct AllowedMethods(HashMap<String, String>);

impl AllowedMethods {
    pub(crate) fn of(doc: &utoipa::openapi::OpenApi) -> Self {
        let methods = doc.paths.paths.iter().map(|(path, item)| {
            let served = [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ];
            let names: Vec<&str> = served.iter().filter(|(_, op)| op.is_some()).map(|(name, _)| *name).collect();
            (path.clone(), names.join(", "))
        });
        Self(methods.collect())
    }
}

/// The answer when no route takes `req`.
pub(crate) async fn answer(req: HttpRequest) -> HttpResponse {
    method_not_allowed(&req).unwrap_or_else(|| ApiError::not_found("route").error_response())
}

/// The 405 for `req` when its path is served with other methods (`None` when the path is
/// not served at all). Also the problem for actix's own bare 405 (`observe`).
pub(crate) fn method_not_allowed(req: &HttpRequest) -> Option<HttpResponse> {
    let allowed = req.app_data::<web::Data<AllowedMethods>>()?;
    let pattern = req.resource_map().match_pattern(req.path())?;
    let methods = allowed.0.get(&pattern).filter(|m| !m.is_empty())?;
    let detail = format!("{} is not served on this path; it takes {methods}", req.method());
    let mut res = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail).error_response();
    if let Ok(value) = HeaderValue::from_str(methods) {
        res.headers_mut().insert(header::ALLOW, value);
    }
    Some(res)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::{App, test};
    use utoipa::OpenApi as _;

    use super::*;
    use crate::http::Readiness;
    use crate::http::in_flight::InFlight;
    use crate::http::observe::Observe;

    /// Served with GET and POST.
    #[utoipa::path(get, path = "/v1/things/{id}", responses((status = 200)))]
    async fn get_thing() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(post, path = "/v1/things/{id}", responses((status = 200)))]
    async fn post_thing() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(post, path = "/v1/posts/{id}", responses((status = 200)))]
    async fn post_post() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(get_thing, post_thing, post_post))]
    struct Doc;

    #[actix_web::test]
    async fn a_path_served_with_other_methods_is_a_405_naming_them_and_an_unknown_path_a_404() {
        let allowed = web::Data::new(AllowedMethods::of(&Doc::openapi()));
        let observe =
            Observe::new("test", crate::signals::of("test"), Arc::default(), InFlight::default(), Readiness::default());
        let app = test::init_service(
            App::new()
                .wrap(observe)
                .app_data(allowed)
                .route("/v1/things/{id}", web::get().to(get_thing))
                .route("/v1/things/{id}", web::post().to(post_thing))
                // A resource with its own methods: actix answers the others a bare 405.
                .service(web::resource("/v1/posts/{id}").route(web::post().to(post_post)))
                .default_service(web::to(answer)),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::delete().uri("/v1/things/7").to_request()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET, POST");
        assert_eq!(res.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "method_not_allowed");
        assert!(body["detail"].as_str().unwrap().starts_with("DELETE is not served"), "{body}");

        let res = test::call_service(&app, test::TestRequest::get().uri("/v1/things/7").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        // actix's own 405, made a problem naming the methods by the middleware.
        let res = test::call_service(&app, test::TestRequest::get().uri("/v1/posts/7").to_request()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "POST");
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["detail"], "GET is not served on this path; it takes POST");

        let res = test::call_service(&app, test::TestRequest::get().uri("/v1/other").to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "not_found");
    }
}
