//! Signed webhooks: `POST /v1/platforms/{id}/events`.

pub(crate) mod routes;
