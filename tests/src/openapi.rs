//! The OpenAPI description the server serves: complete, consistent, and about this server.

use anyhow::{Context, ensure};
use keel_api::routes::Endpoint;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::Value;

/// Every `$ref` in `value`, with where it was found.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => refs(child, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (idx, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{idx}"), found);
            }
        }
        _ => {}
    }
}

smoketest! {
    /// `GET /v1/openapi.json` describes every endpoint of the API with a summary and a success
    /// answer, names this server's version, and every `$ref` in it resolves.
    fn openapi_describes_every_endpoint() {
        let t = Smoketest::builder().build()?;
        let document = t.client().openapi()?;
        let version = document["openapi"].as_str().context("no `openapi` version")?;
        ensure!(version.starts_with("3.1"), "OpenAPI version {version}, expected 3.1");
        ensure!(
            document["info"]["version"] == t.client().ping()?.version.as_str(),
            "info.version {} is not the server's",
            document["info"]["version"]
        );
        for endpoint in Endpoint::ALL {
            let method = endpoint.method().as_str().to_lowercase();
            let operation = &document["paths"][endpoint.route()][&method];
            ensure!(operation.is_object(), "{endpoint:?}: no {method} {} in paths", endpoint.route());
            ensure!(
                operation["summary"].as_str().is_some_and(|it| !it.is_empty()),
                "{endpoint:?}: no summary"
            );
            let responses = operation["responses"].as_object().context("no responses")?;
            ensure!(
                responses.keys().any(|status| status.starts_with('2')),
                "{endpoint:?}: no success answer among {:?}",
                responses.keys().collect::<Vec<_>>()
            );
            for name in endpoint.route().split('/').filter_map(|it| it.strip_prefix('{')) {
                let name = name.trim_end_matches('}');
                let declared = operation["parameters"].as_array().is_some_and(|parameters| {
                    parameters.iter().any(|it| it["name"] == name && it["in"] == "path")
                });
                ensure!(declared, "{endpoint:?}: path parameter {name} is not declared");
            }
        }
        let paths = document["paths"].as_object().context("no paths")?;
        let operations: usize = paths.values().filter_map(Value::as_object).map(|it| it.len()).sum();
        ensure!(operations == Endpoint::ALL.len(), "{operations} operations, {} endpoints", Endpoint::ALL.len());
        let mut found = Vec::new();
        refs(&document, String::new(), &mut found);
        ensure!(!found.is_empty(), "no $ref at all: the error answers and schemas are shared");
        for (at, target) in found {
            let pointer = target.strip_prefix('#').with_context(|| format!("{at}: external $ref {target}"))?;
            ensure!(document.pointer(pointer).is_some(), "{at}: $ref {target} resolves to nothing");
        }
        Ok(())
    }
}
