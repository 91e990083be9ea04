//! Batches: `POST /v1/platforms/{id}/batches`, NDJSON or CSV, streamed.

mod lines;
mod parse;
pub(crate) mod routes;
