//! The platform registry: each gig platform we accept activity from, its market and format.

pub(crate) mod model;
pub(crate) mod routes;
mod store;
