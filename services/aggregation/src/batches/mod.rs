//! Batches: `POST /v1/platforms/{id}/batches`, NDJSON or CSV, streamed.

mod lines;
pub(crate) mod routes;
