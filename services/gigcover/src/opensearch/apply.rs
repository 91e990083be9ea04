//! Applying the objects over OpenSearch's REST APIs (and Dashboards' saved objects API):
//! read, compare, write only what differs. Index templates carry the hash of what we
//! applied in `_meta.gigcover_hash` (a cluster normalises settings, so comparing bodies
//! would see differences that are not); the other objects are compared field by field,
//! ignoring what the cluster adds.

use std::fmt;

use gigcover_kit::opensearch::OpenSearch;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::objects::Object;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// The target does not offer this object's API (a plugin is not installed).
    Unavailable(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Created => f.write_str("created"),
            Outcome::Updated => f.write_str("updated"),
            Outcome::Unchanged => f.write_str("unchanged"),
            Outcome::Unavailable(why) => write!(f, "unavailable ({why})"),
        }
    }
}

pub struct Target {
    pub cluster: OpenSearch,
    pub dashboards: Option<Url>,
}

impl Target {
    pub async fn apply(&self, object: &Object) -> anyhow::Result<Outcome> {
        match object {
            Object::IndexTemplate { name, body } => self.template(name, body).await,
            Object::IsmPolicy { id, body } => self.policy(id, body).await,
            Object::Monitor { name, body } => self.monitor(name, body).await,
            Object::SavedObjects { objects, .. } => self.saved_objects(objects).await,
        }
    }

    async fn template(&self, name: &str, body: &Value) -> anyhow::Result<Outcome> {
        let hash = hex::encode(Sha256::digest(body.to_string().as_bytes()));
        let mut desired = body.clone();
        desired["_meta"]["gigcover_hash"] = json!(hash);
        let path = format!("_index_template/{name}");
        let got = self.cluster.call(Method::GET, &path, None).await?;
        let outcome = match got.status {
            StatusCode::NOT_FOUND => Outcome::Created,
            s if s.is_success() => {
                let current = &got.body["index_templates"][0]["index_template"]["_meta"]["gigcover_hash"];
                if current.as_str() == Some(hash.as_str()) {
                    return Ok(Outcome::Unchanged);
                }
                Outcome::Updated
            }
            _ => return Err(got.error(&path)),
        };
        let put = self.cluster.call(Method::PUT, &path, Some(&desired)).await?;
        put.ok(&path)?;
        Ok(outcome)
    }

    async fn policy(&self, id: &str, body: &Value) -> anyhow::Result<Outcome> {
        let path = format!("_plugins/_ism/policies/{id}");
        let got = self.cluster.call(Method::GET, &path, None).await?;
        if got.no_handler() {
            return Ok(Outcome::Unavailable("no ISM plugin".into()));
        }
        let (outcome, write) = match got.status {
            StatusCode::NOT_FOUND => (Outcome::Created, path.clone()),
            s if s.is_success() => {
                if contains(&got.body["policy"], &body["policy"]) {
                    return Ok(Outcome::Unchanged);
                }
                let (seq, term) = (&got.body["_seq_no"], &got.body["_primary_term"]);
                (Outcome::Updated, format!("{path}?if_seq_no={seq}&if_primary_term={term}"))
            }
            _ => return Err(got.error(&path)),
        };
        let put = self.cluster.call(Method::PUT, &write, Some(body)).await?;
        put.ok(&path)?;
        Ok(outcome)
    }

    async fn monitor(&self, name: &str, body: &Value) -> anyhow::Result<Outcome> {
        let search = json!({"query": {"match_phrase": {"monitor.name": name}}});
        let found = self.cluster.call(Method::POST, "_plugins/_alerting/monitors/_search", Some(&search)).await?;
        if found.no_handler() {
            return Ok(Outcome::Unavailable("no Alerting plugin".into()));
        }
        // Before the first monitor exists, the alerting config index does not either.
        let hits = found.body["hits"]["hits"].as_array().cloned().unwrap_or_default();
        let existing = hits.iter().find(|h| h["_source"]["name"].as_str() == Some(name));
        let (method, path, outcome) = match existing {
            None => (Method::POST, "_plugins/_alerting/monitors".to_owned(), Outcome::Created),
            Some(h) if contains(&h["_source"], body) => return Ok(Outcome::Unchanged),
            Some(h) => {
                let id = h["_id"].as_str().unwrap_or_default();
                (Method::PUT, format!("_plugins/_alerting/monitors/{id}"), Outcome::Updated)
            }
        };
        let put = self.cluster.call(method, &path, Some(body)).await?;
        put.ok(&path)?;
        Ok(outcome)
    }

    async fn saved_objects(&self, objects: &[Value]) -> anyhow::Result<Outcome> {
        let Some(base) = &self.dashboards else {
            return Ok(Outcome::Unavailable("no --dashboards-url given".into()));
        };
        let mut missing = false;
        let mut differs = false;
        for o in objects {
            let path = format!(
                "api/saved_objects/{}/{}",
                o["type"].as_str().unwrap_or_default(),
                o["id"].as_str().unwrap_or_default()
            );
            let got = self.cluster.call_at(base, Method::GET, &path, None).await?;
            match got.status {
                StatusCode::NOT_FOUND => missing = true,
                s if s.is_success() => differs |= !contains(&got.body["attributes"], &o["attributes"]),
                _ => return Err(got.error(&path)),
            }
        }
        if !missing && !differs {
            return Ok(Outcome::Unchanged);
        }
        let body = Value::Array(objects.to_vec());
        let put = self
            .cluster
            .call_at(base, Method::POST, "api/saved_objects/_bulk_create?overwrite=true", Some(&body))
            .await?;
        put.ok("saved objects")?;
        Ok(if differs { Outcome::Updated } else { Outcome::Created })
    }
}

/// Whether `actual` holds everything `desired` says (extra fields in `actual` are what the
/// cluster adds: ids, versions, timestamps). Numbers and their string forms are equal
/// (clusters return settings as strings).
pub fn contains(actual: &Value, desired: &Value) -> bool {
    match (actual, desired) {
        (Value::Object(a), Value::Object(d)) => d.iter().all(|(k, dv)| a.get(k).is_some_and(|av| contains(av, dv))),
        (Value::Array(a), Value::Array(d)) => a.len() == d.len() && a.iter().zip(d).all(|(av, dv)| contains(av, dv)),
        (Value::String(a), Value::Number(d)) | (Value::Number(d), Value::String(a)) => *a == d.to_string(),
        (Value::String(a), Value::Bool(d)) | (Value::Bool(d), Value::String(a)) => *a == d.to_string(),
        (a, d) => a == d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_cluster_adds_is_not_a_difference_but_a_changed_value_is() {
        let desired = json!({"policy": {"description": "x", "states": [{"name": "hot", "actions": [{"rollover": {"min_index_age": "1d"}}]}]}, "replicas": 1});
        let actual = json!({"policy": {"description": "x", "last_updated_time": 1, "schema_version": 17,
                             "states": [{"name": "hot", "actions": [{"retry": {"count": 3}, "rollover": {"min_index_age": "1d"}}]}]},
                            "replicas": "1"});
        assert!(contains(&actual, &desired));
        let changed = json!({"policy": {"description": "y", "states": []}});
        assert!(!contains(&actual, &changed));
        assert!(!contains(&json!([1, 2]), &json!([1])));
    }
}
