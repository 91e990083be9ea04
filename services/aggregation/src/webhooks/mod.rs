//! Signed webhooks, `POST /v1/platforms/{id}/events`: checked and stored in the inbox
//! (`routes`, `body`, `inbox`: answered 202 once durable), then applied through the one
//! write path many at a time (`apply`).

pub mod apply;
mod body;
mod failures;
pub mod inbox;
pub(crate) mod routes;
