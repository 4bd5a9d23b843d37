//! `/api/openapi.json`, generated from the route catalogue.

use super::catalog::{Access, ROUTES};
use axum::Json;
use serde_json::{Map, Value, json};

/// The OpenAPI 3.1 description of the API.
pub fn describe() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let openapi_path = route.path.to_owned();
        let entry = paths.entry(openapi_path).or_insert_with(|| json!({}));
        let roles: Vec<&str> = match route.access {
            Access::Public => vec![],
            Access::SignedIn => vec!["any"],
            Access::Roles(roles) => roles.iter().map(|r| r.as_str()).collect(),
        };
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": route.summary,
            "parameters": params,
            "x-roles": roles,
            "responses": {
                "200": { "description": "Success" },
                "4XX": { "description": "A problem", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            }
        });
        if route.access != Access::Public {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(kind) = route.body {
            let media = match kind {
                "multipart" => "multipart/form-data",
                "form" => "application/x-www-form-urlencoded",
                _ => "application/json",
            };
            op["requestBody"] = json!({ "content": { media: { "schema": { "type": "object" } } } });
        }
        entry[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Smart Map Tbilisi API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Fix-Tbilisi reports, the map, staff queues and statistics. Errors are RFC 9457 problem+json with a stable `code` and field-level `errors`.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "title_ka": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" },
                        "code": { "type": "string" },
                        "errors": { "type": "array", "items": { "type": "object", "properties": {
                            "field": { "type": "string" }, "code": { "type": "string" }, "message": { "type": "string" } } } }
                    }
                }
            }
        }
    })
}

/// The handler.
pub async fn openapi_json() -> Json<Value> {
    Json(describe())
}
