//! `gigcover opensearch apply`: puts `infra/opensearch` into an OpenSearch domain (and its
//! Dashboards) idempotently: each object is read first and written only when it differs,
//! and every object is reported as created, updated, unchanged or unavailable (its API is
//! not offered by the target). A second run changes nothing and says so.
//!
//! - `objects`: the documents, embedded in the binary, with the environment's values;
//! - `apply`: reading, comparing and writing them over the REST APIs.

pub mod apply;
pub mod objects;

use apply::{Outcome, Target};
use objects::Retention;

/// Applies every object and prints one line each and a summary; fails on an error, or on
/// an unavailable object unless `skip_unavailable`.
pub async fn run(
    url: &str,
    dashboards: Option<&str>,
    retention: Retention,
    skip_unavailable: bool,
) -> anyhow::Result<()> {
    let settings = gigcover_kit::opensearch::OpenSearchSettings {
        url: url.to_owned(),
        username: std::env::var("OPENSEARCH_USERNAME").ok(),
        password: std::env::var("OPENSEARCH_PASSWORD").ok().map(Into::into),
        aws_region: std::env::var("OPENSEARCH_AWS_REGION").ok(),
    };
    let target = Target {
        cluster: gigcover_kit::opensearch::OpenSearch::new(&settings, std::time::Duration::from_secs(30))?,
        dashboards: dashboards.map(gigcover_kit::opensearch::base_url).transpose()?,
    };
    let (mut changed, mut unchanged, mut unavailable) = (0, 0, 0);
    for object in objects::all(retention)? {
        let outcome = target.apply(&object).await.map_err(|e| anyhow::anyhow!("{}: {e}", object.label()))?;
        println!("{:<10} {}", outcome.to_string().split(' ').next().unwrap_or_default(), object.label());
        match outcome {
            Outcome::Created | Outcome::Updated => changed += 1,
            Outcome::Unchanged => unchanged += 1,
            Outcome::Unavailable(why) => {
                println!("           ({why})");
                unavailable += 1;
            }
        }
    }
    if changed == 0 {
        println!("nothing to change: {unchanged} unchanged, {unavailable} unavailable");
    } else {
        println!("{changed} created or updated, {unchanged} unchanged, {unavailable} unavailable");
    }
    anyhow::ensure!(
        unavailable == 0 || skip_unavailable,
        "{unavailable} objects could not be applied: the target lacks their API (use --skip-unavailable to accept)"
    );
    Ok(())
}
