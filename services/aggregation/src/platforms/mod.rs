//! The platform registry: each gig platform we accept activity from, its market, the
//! format it speaks, its CSV layout and its webhook signing secrets.

pub(crate) mod directory;
pub(crate) mod model;
pub(crate) mod routes;
pub(crate) mod secrets;
mod store;
