//! Each service's OpenAPI document, generated from its code, with what the kit adds to
//! every service (health routes, the problem schema, bearer auth); served at `/openapi.json`
//! with a docs UI at `/docs`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

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

/// Builds the document a service serves.
pub struct ApiDocs;

impl ApiDocs {
    pub fn for_service(service: &str, mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
        doc.merge(KitDoc::openapi());
        SecurityAddon.modify(&mut doc);
        doc.info.title = format!("gigcover {service} API");
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.info.description = Some(format!(
            "The {service} service of gigcover. Errors are application/problem+json (RFC 9457) with a stable `code`."
        ));
        doc
    }
}
