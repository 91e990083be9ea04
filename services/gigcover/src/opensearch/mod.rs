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
    let parse = |u: &str| -> anyhow::Result<reqwest::Url> {
        let u = if u.ends_with('/') { u.to_owned() } else { format!("{u}/") };
        Ok(reqwest::Url::parse(&u)?)
    };
    let basic_auth = match (std::env::var("OPENSEARCH_USERNAME"), std::env::var("OPENSEARCH_PASSWORD")) {
        (Ok(u), Ok(p)) => Some((u, p)),
        _ => None,
    };
    let target = Target {
        url: parse(url)?,
        dashboards: dashboards.map(parse).transpose()?,
        basic_auth,
        http: gigcover_kit::client::http_builder().timeout(std::time::Duration::from_secs(30)).build()?,
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
