//! `POST /oauth/token`: OAuth2 client credentials (RFC 6749 section 4.4). The client
//! authenticates with HTTP Basic or `client_id`/`client_secret` in the form; the answer is
//! a short-lived JWT signed with the current key (EdDSA, `kid` set), verifiable against
//! `GET /.well-known/jwks.json`. Errors are problem+json carrying the RFC's `error` code.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use gigcover_kit::auth::{Audience, AuthSettings, Claims};
use gigcover_kit::{ApiError, ApiResult};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::clients;

/// Largest token request body.
pub const FORM_LIMIT: usize = 4096;

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// What the token endpoint needs to sign.
pub struct TokenIssuer {
    pub auth: AuthSettings,
    pub ttl_secs: i64,
}

fn oauth_error(status: StatusCode, error: &'static str, detail: &str) -> ApiError {
    ApiError::new(status, error, detail.to_owned()).with("error", error)
}

/// Client id and secret from HTTP Basic (RFC 6749 section 2.3.1) or the form.
fn credentials(req: &HttpRequest, form: &TokenForm) -> ApiResult<(String, String)> {
    let invalid = || oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    if let Some(h) = req.headers().get("authorization") {
        let text = h.to_str().map_err(|_| invalid())?;
        let encoded = text.strip_prefix("Basic ").ok_or_else(invalid)?;
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
        let unescape =
            |s: &str| serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}")).ok()?.pop().map(|p| p.1);
        return Ok((unescape(id).ok_or_else(invalid)?, unescape(secret).ok_or_else(invalid)?));
    }
    match (&form.client_id, &form.client_secret) {
        (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(invalid()),
    }
}

pub(crate) async fn signing_key(pool: &PgPool) -> ApiResult<(String, EncodingKey)> {
    let (kid, pkcs8): (String, Vec<u8>) = sqlx::query_as(
        "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await?;
    Ok((kid, EncodingKey::from_ed_der(&pkcs8)))
}

/// Issues an access token for a client.
#[utoipa::path(post, path = "/oauth/token", tag = "clients",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
                 description = "grant_type=client_credentials[&scope=...]; client_id and client_secret by HTTP Basic or in the form"),
    responses((status = 200, body = TokenResponse),
              (status = 400, description = "invalid_request, unsupported_grant_type, invalid_scope", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 401, description = "invalid_client", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn issue(
    req: HttpRequest,
    body: web::Bytes,
    pool: web::Data<PgPool>,
    issuer: web::Data<TokenIssuer>,
) -> ApiResult<HttpResponse> {
    let is_form = req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "send application/x-www-form-urlencoded"));
    }
    let form: TokenForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &format!("unreadable form: {e}")))?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ));
        }
        None => return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required")),
    }
    let (client_id, secret) = credentials(&req, &form)?;
    let client = clients::authenticate(&pool, &client_id, &secret)
        .await?
        .ok_or_else(|| oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"))?;
    let scopes: Vec<String> = match &form.scope {
        None => client.scopes.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
            if let Some(bad) = asked.iter().find(|s| !client.scopes.contains(s)) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("scope {bad} is not granted to this client"),
                ));
            }
            asked
        }
    };
    let scope = scopes.join(" ");
    let token = issuer.sign(&pool, &client.client_id, client.role, client.tenant.clone(), &scope).await?;
    tracing::info!(client_id = %client.client_id, role = %client.role, "issued an access token");
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store"))).json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: issuer.ttl_secs,
        scope,
    }))
}

impl TokenIssuer {
    /// A token for `sub` in `role`, signed with the current key.
    pub async fn sign(
        &self,
        pool: &PgPool,
        sub: &str,
        role: gigcover_kit::auth::Role,
        tenant: Option<String>,
        scope: &str,
    ) -> ApiResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.auth.issuer.clone(),
            sub: sub.to_owned(),
            aud: Audience::One(self.auth.audience.clone()),
            exp: now + self.ttl_secs,
            nbf: None,
            iat: Some(now),
            jti: Some(uuid::Uuid::now_v7().to_string()),
            role,
            tenant,
            scope: scope.to_owned(),
        };
        let (kid, key) = signing_key(pool).await?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        Ok(jsonwebtoken::encode(&header, &claims, &key).map_err(anyhow::Error::from)?)
    }
}
