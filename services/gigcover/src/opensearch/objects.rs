//! The OpenSearch objects of `infra/opensearch`, embedded in the binary so the image that
//! runs the services can also set up their observability, rendered for one environment.

use serde_json::Value;

/// What differs between environments.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub hot_days: u32,
    pub delete_days: u32,
}

/// One object to apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    IndexTemplate {
        name: String,
        body: Value,
    },
    IsmPolicy {
        id: String,
        body: Value,
    },
    Monitor {
        name: String,
        body: Value,
    },
    /// The Dashboards saved objects, as one import (NDJSON).
    SavedObjects {
        ndjson: String,
        objects: Vec<Value>,
    },
}

impl Object {
    pub fn label(&self) -> String {
        match self {
            Object::IndexTemplate { name, .. } => format!("index template {name}"),
            Object::IsmPolicy { id, .. } => format!("ISM policy {id}"),
            Object::Monitor { name, .. } => format!("monitor \"{name}\""),
            Object::SavedObjects { objects, .. } => format!("{} Dashboards saved objects", objects.len()),
        }
    }
}

const TEMPLATES: [(&str, &str); 3] = [
    ("gigcover-traces", include_str!("../../../../infra/opensearch/index-templates/traces.json")),
    ("gigcover-logs", include_str!("../../../../infra/opensearch/index-templates/logs.json")),
    ("gigcover-metrics", include_str!("../../../../infra/opensearch/index-templates/metrics.json")),
];

const POLICIES: [(&str, &str); 3] = [
    ("gigcover-traces", include_str!("../../../../infra/opensearch/ism/traces.json")),
    ("gigcover-logs", include_str!("../../../../infra/opensearch/ism/logs.json")),
    ("gigcover-metrics", include_str!("../../../../infra/opensearch/ism/metrics.json")),
];

const MONITOR: &str = include_str!("../../../../infra/opensearch/monitors/availability-page.json");
const SAVED_OBJECTS: &str = include_str!("../../../../infra/opensearch/dashboards/saved-objects.ndjson");

/// The services with an availability SLO, each with its page monitor.
const MONITORED: [&str; 5] = ["aggregation", "enrichment", "identity", "pricing", "claims"];

fn render(text: &str, vars: &[(&str, String)]) -> anyhow::Result<Value> {
    let mut out = text.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    anyhow::ensure!(!out.contains("{{"), "an object still has a placeholder after rendering");
    Ok(serde_json::from_str(&out)?)
}

/// Every object, in the order they are applied (templates before the indices they shape).
pub fn all(retention: Retention) -> anyhow::Result<Vec<Object>> {
    anyhow::ensure!(
        retention.hot_days >= 1 && retention.delete_days > retention.hot_days,
        "delete_days must be after hot_days"
    );
    let days = [("hot_days", retention.hot_days.to_string()), ("delete_days", retention.delete_days.to_string())];
    let mut out = Vec::new();
    for (name, text) in TEMPLATES {
        out.push(Object::IndexTemplate { name: name.into(), body: render(text, &[])? });
    }
    for (id, text) in POLICIES {
        out.push(Object::IsmPolicy { id: id.into(), body: render(text, &days)? });
    }
    for service in MONITORED {
        let body = render(MONITOR, &[("service", service.to_owned())])?;
        let name = body["name"].as_str().unwrap_or_default().to_owned();
        out.push(Object::Monitor { name, body });
    }
    let objects = SAVED_OBJECTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<Vec<Value>, _>>()?;
    out.push(Object::SavedObjects { ndjson: SAVED_OBJECTS.to_owned(), objects });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_renders_with_the_environments_retention() {
        let objects = all(Retention { hot_days: 7, delete_days: 30 }).unwrap();
        assert_eq!(objects.iter().filter(|o| matches!(o, Object::IndexTemplate { .. })).count(), 3);
        let Some(Object::IsmPolicy { body, .. }) = objects.iter().find(|o| matches!(o, Object::IsmPolicy { .. }))
        else {
            panic!("no ISM policy")
        };
        let states = body["policy"]["states"].as_array().unwrap();
        assert_eq!(states[0]["transitions"][0]["conditions"]["min_index_age"], "7d");
        assert_eq!(states[1]["transitions"][0]["conditions"]["min_index_age"], "30d");
        let monitors: Vec<_> = objects.iter().filter(|o| matches!(o, Object::Monitor { .. })).collect();
        assert_eq!(monitors.len(), 5);
        assert!(monitors[0].label().contains("aggregation availability: page"));
        let Some(Object::SavedObjects { objects: saved, .. }) = objects.last() else { panic!("no saved objects") };
        assert!(saved.iter().any(|o| o["type"] == "dashboard" && o["id"] == "gigcover-claims-sla-dashboard"));
        // Every saved object a dashboard or visualization refers to is there too.
        for o in saved {
            for r in o["references"].as_array().into_iter().flatten() {
                assert!(saved.iter().any(|s| s["id"] == r["id"]), "{} refers to missing {}", o["id"], r["id"]);
            }
        }
        // Every visualization picks its metric by name (the index holds every metric).
        for v in saved.iter().filter(|o| o["type"] == "visualization") {
            let search: Value =
                serde_json::from_str(v["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"].as_str().unwrap())
                    .unwrap();
            assert!(search["query"]["query"].as_str().unwrap().starts_with("name:"), "{}", v["id"]);
        }
        assert!(all(Retention { hot_days: 7, delete_days: 7 }).is_err());
    }
}
