//! The OpenAPI 3.1 document, generated from the route table (request and response schemas come
//! from the DTOs' `utoipa::ToSchema` derives). Served by `GET /openapi.json`.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::auth::Access;
use crate::routes::ROUTES;

fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "code", "detail"],
        "properties": {
            "type": {"type": "string", "description": "urn:mkpf:problem:<code>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "stable machine-readable error code"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"}
        }
    })
}

/// Builds the document.
pub fn document() -> Value {
    let mut schemas = Vec::new();
    let mut paths: Map<String, Value> = Map::new();
    let problem = json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    for r in ROUTES.iter() {
        let mut params: Vec<Value> = path_params(r.path)
            .into_iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(r.query.iter().map(|(n, d, schema)| {
            let schema: Value = serde_json::from_str(schema).unwrap_or_else(|_| json!({"type": "string"}));
            json!({"name": n, "in": "query", "required": false, "description": d, "schema": schema})
        }));
        if r.idempotent {
            params.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": true,
                "description": "1–255 printable ASCII characters; a retry with the same key and body replays the stored response",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
            }));
        }
        let public = r.access.contains(&Access::Public);
        let mut responses = Map::new();
        let mut ok = json!({"description": "success"});
        if let Some(f) = r.response {
            let s = serde_json::to_value(f(&mut schemas)).unwrap_or(Value::Null);
            ok["content"] = json!({"application/json": {"schema": s}});
        }
        for also in r.also_status {
            responses.insert(also.to_string(), ok.clone());
        }
        responses.insert(r.status.to_string(), ok);
        if let Some((status, f)) = r.other_response {
            let s = serde_json::to_value(f(&mut schemas)).unwrap_or(Value::Null);
            responses.insert(
                status.to_string(),
                json!({"description": "success", "content": {"application/json": {"schema": s}}}),
            );
        }
        if !public {
            responses.insert("401".into(), json!({"description": "no or invalid credentials", "content": problem}));
            responses.insert(
                "403".into(),
                json!({"description": "the caller's role may not call this route", "content": problem}),
            );
        }
        responses.insert("default".into(), json!({"description": "error", "content": problem}));
        let mut op = json!({
            "operationId": r.name,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": params,
            "responses": responses,
            "security": if public {
                json!([])
            } else if r.access == [Access::Provider] {
                json!([{"webhookSignature": []}])
            } else {
                json!([{"bearer": []}])
            },
            "x-mkpf-access": r.access.iter().map(|a| a.label()).collect::<Vec<_>>(),
        });
        if let Some(f) = r.request {
            let s = serde_json::to_value(f(&mut schemas)).unwrap_or(Value::Null);
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": s}}});
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.verb.as_str().to_ascii_lowercase()] = op;
    }
    let mut comp = Map::new();
    for (name, s) in schemas {
        comp.insert(name, serde_json::to_value(s).unwrap_or(Value::Null));
    }
    comp.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "MyKey Platform API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Open re-implementation of Japan's MyKey Platform. Errors are RFC 9457 problem details with a stable `code`."
        },
        "paths": paths,
        "components": {
            "schemas": comp,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "webhook-signature",
                    "description": "Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp` (epoch seconds, ±5 minutes) and `webhook-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">` with the provider's callback secret (`whsec_…`)"
                }
            }
        }
    })
}

/// The document as JSON text, built once per process.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_string_pretty(&document()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameter_schemas_are_json() {
        for r in ROUTES.iter() {
            for (name, _, schema) in r.query {
                assert!(serde_json::from_str::<Value>(schema).is_ok(), "{}: schema of {name}", r.name);
            }
        }
    }

    #[test]
    fn every_route_is_documented_with_resolvable_refs() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        for r in ROUTES.iter() {
            let op = &doc["paths"][r.path][r.verb.as_str().to_ascii_lowercase()];
            assert_eq!(op["operationId"], r.name, "{} {}", r.verb.as_str(), r.path);
        }
        // Every $ref points at a defined schema.
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(doc["components"]["schemas"].get(name).is_some(), "dangling $ref {name}");
        }
    }
}
