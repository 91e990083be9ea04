//! Each service's OpenAPI document, generated from its code, with what the kit adds to
//! every service (health routes, the problem schema, bearer auth, the problem answers every
//! route can give); served at `/openapi.json` with a docs UI at `/docs`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    paths(super::health::livez, super::health::readyz, super::internal::signals, super::internal::drill),
    components(schemas(Problem))
)]
struct KitDoc;

/// Adds the `bearer` security scheme (a JWT) that routes refer to.
pub struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Adds the problem answers the kit gives on every route of a kind, where the route's own
/// document leaves them out: 400 where there is a path, query or body to be malformed; 401
/// and 403 where a token is required; 404 where the path names something; 413, 415 and 422
/// where there is a body; 409 where an `Idempotency-Key` is taken; 503 everywhere (the
/// database unavailable, the service stopping).
pub struct ProblemAnswers;

impl Modify for ProblemAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names = path.contains('{');
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                let parameters = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let idempotent = op.parameters.iter().flatten().any(|p| {
                    matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header
                        && p.name.eq_ignore_ascii_case(crate::idempotency::HEADER))
                });
                let mut answers = Vec::new();
                if names || body || parameters {
                    answers.push(("400", "malformed path, query or body"));
                }
                if secured {
                    answers.push(("401", "missing, invalid or expired token"));
                    answers.push(("403", "not allowed to this caller"));
                }
                if names {
                    answers.push(("404", "what the path names does not exist (or is not the caller's to see)"));
                }
                if body {
                    answers.push(("413", "body over the limit"));
                    answers.push(("415", "unsupported content type"));
                    answers.push(("422", "the body breaks a rule (each problem named)"));
                }
                if idempotent {
                    answers.push(("409", "the Idempotency-Key was used with a different request"));
                }
                answers.push(("503", "unavailable for a moment (the database, or the service stopping); retry"));
                for (status, description) in answers {
                    op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
                }
            }
        }
    }
}

/// A problem+json answer.
fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
        .build()
        .into()
}

/// Builds the document a service serves.
pub struct ApiDocs;

impl ApiDocs {
    pub fn for_service(service: &str, mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
        doc.merge(KitDoc::openapi());
        SecurityAddon.modify(&mut doc);
        ProblemAnswers.modify(&mut doc);
        doc.info.title = format!("gigcover {service} API");
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.info.description = Some(format!(
            "The {service} service of gigcover. Errors are application/problem+json (RFC 9457) with a stable `code`."
        ));
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[utoipa::path(post, path = "/v1/things/{id}", params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = String,
        security(("bearer" = [])), responses((status = 201, description = "made"), (status = 404, description = "no such thing, as the route says")))]
    #[allow(dead_code)]
    fn make() {}

    #[utoipa::path(get, path = "/v1/time", responses((status = 200, description = "the time")))]
    #[allow(dead_code)]
    fn time() {}

    #[derive(OpenApi)]
    #[openapi(paths(make, time))]
    struct Doc;

    fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
        doc["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn each_route_documents_the_problem_answers_of_its_kind_and_keeps_its_own() {
        let doc = serde_json::to_value(ApiDocs::for_service("test", Doc::openapi())).unwrap();
        assert_eq!(
            statuses(&doc, "/v1/things/{id}", "post"),
            ["201", "400", "401", "403", "404", "409", "413", "415", "422", "503"],
            "a secured route with a path parameter, a body and an idempotency key"
        );
        let own = &doc["paths"]["/v1/things/{id}"]["post"]["responses"]["404"];
        assert_eq!(own["description"], "no such thing, as the route says", "the route's own answer is kept");
        let added = &doc["paths"]["/v1/things/{id}"]["post"]["responses"]["422"];
        assert_eq!(added["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
        assert_eq!(statuses(&doc, "/v1/time", "get"), ["200", "503"], "nothing to be malformed, no token");
    }
}
