//! `/api/openapi.json`, generated from the route catalogue, with request bodies and query
//! parameters described by JSON Schemas derived from the very types the handlers parse (their doc
//! comments become the descriptions), so the description cannot drift from the code.

use super::catalog::{Access, ROUTES};
use super::{accounts, admin, reports, staff};
use axum::Json;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};
use smartmap_shared::role::Role;

/// The schema of a report-submission's or closure's multipart form: a JSON part and photo parts.
fn multipart_schema(json_part: &str, json_schema: Schema) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {
            json_part: json_schema,
            "photo": { "type": "array", "items": { "type": "string", "contentMediaType": "image/jpeg" },
                       "description": "JPEG, PNG or WebP photos, one part each (at most 6, 20 MB each)" }
        }
    })
}

/// The request body schema of a route, where it has one the handler parses.
fn request_schema(g: &mut SchemaGenerator, method: &str, path: &str) -> Option<Schema> {
    Some(match (method, path) {
        ("POST", "/api/auth/register") => g.subschema_for::<accounts::Register>(),
        ("POST", "/api/auth/login") => g.subschema_for::<accounts::Login>(),
        ("POST", "/api/auth/refresh") => g.subschema_for::<accounts::Refresh>(),
        ("POST", "/api/reports") => {
            let report = g.subschema_for::<crate::reports::submit::SubmitReport>();
            multipart_schema("report", report)
        }
        ("POST", "/api/reports/{id}/dispute") => g.subschema_for::<reports::Dispute>(),
        ("POST", "/api/staff/reports/{id}/actions") => g.subschema_for::<crate::reports::actions::ActionForm>(),
        ("POST", "/api/crew/tickets/{id}/close") => {
            let notes = g.subschema_for::<staff::CloseNotes>();
            multipart_schema("action", notes)
        }
        ("PUT", "/api/admin/categories/{id}") => g.subschema_for::<admin::CategoryForm>(),
        ("PUT", "/api/admin/sla/{category}/{body}") => g.subschema_for::<admin::SlaForm>(),
        ("PUT", "/api/admin/templates/{id}") => g.subschema_for::<admin::TemplateForm>(),
        ("PUT", "/api/admin/routing-rules") => g.subschema_for::<Vec<admin::RuleForm>>(),
        ("POST", "/api/admin/users") => g.subschema_for::<admin::UserForm>(),
        ("POST", "/api/admin/open311/keys") => g.subschema_for::<crate::open311::keys::NewKey>(),
        ("POST", "/api/moderation/reports/{id}/hide" | "/api/moderation/reports/{id}/unhide") => {
            g.subschema_for::<admin::Reason>()
        }
        ("POST", "/api/sync/push") => push_schema(),
        _ => return None,
    })
}

/// The schema of `PushRequest` (`smartmap_shared::sync`, which stays free of schema derives).
fn push_schema() -> Schema {
    let kinds: Vec<&str> = smartmap_shared::sync::MutationKind::ALL.iter().map(|k| k.as_str()).collect();
    json_schema!({
        "type": "object",
        "required": ["device_id", "mutations"],
        "additionalProperties": false,
        "properties": {
            "device_id": { "type": "string", "format": "uuid" },
            "mutations": {
                "type": "array",
                "maxItems": smartmap_shared::sync::MAX_PUSH_BATCH,
                "items": {
                    "type": "object",
                    "required": ["mutation_id", "device_id", "device_seq", "kind", "v", "payload", "payload_sha256", "client_time"],
                    "additionalProperties": false,
                    "properties": {
                        "mutation_id": { "type": "string", "format": "uuid" },
                        "device_id": { "type": "string", "format": "uuid" },
                        "device_seq": { "type": "integer" },
                        "kind": { "type": "string", "enum": kinds },
                        "v": { "type": "integer", "minimum": 1 },
                        "payload": { "type": "object" },
                        "payload_sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                        "client_time": { "type": "string", "format": "date-time" }
                    }
                }
            }
        }
    })
}

/// Query parameters of a route, from the type its handler parses them into.
fn query_parameters(method: &str, path: &str) -> Vec<Value> {
    fn of<T: JsonSchema>() -> Vec<Value> {
        let schema = schemars::schema_for!(T);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
        properties
            .iter()
            .map(|(name, property)| {
                let mut property = property.clone();
                let description = property.as_object_mut().and_then(|p| p.remove("description"));
                json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "description": description,
                    "schema": property,
                })
            })
            .collect()
    }
    match (method, path) {
        ("GET", "/api/map/reports") => of::<reports::MapParams>(),
        ("GET", "/api/staff/queue") => of::<staff::QueueParams>(),
        ("GET", "/api/staff/queue.csv") => of::<staff::QueueCsvParams>(),
        ("GET", "/api/staff/dashboard") => of::<staff::DashboardParams>(),
        ("GET", "/api/preview") => of::<reports::PreviewParams>(),
        ("GET", "/api/staff/templates") => of::<staff::TemplateParams>(),
        ("GET", "/api/sync/pull") => of::<super::sync::PullParams>(),
        _ => Vec::new(),
    }
}

/// The schema of an [`SlaUnit`](smartmap_shared::sla::SlaUnit) field (the shared crate stays
/// free of schema derives).
pub fn sla_unit_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["working_days", "working_hours"] })
}

/// The schema of a [`Role`] field.
pub fn role_schema(_: &mut SchemaGenerator) -> Schema {
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    json_schema!({ "type": "string", "enum": roles })
}

/// The OpenAPI 3.1 description of the API.
pub fn describe() -> Value {
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas".into()).into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let openapi_path = route.path.to_owned();
        let entry = paths.entry(openapi_path).or_insert_with(|| json!({}));
        let roles: Vec<&str> = match route.access {
            Access::Public => vec![],
            Access::SignedIn => vec!["any"],
            Access::Roles(roles) => roles.iter().map(|r| r.as_str()).collect(),
        };
        let mut params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        params.extend(query_parameters(route.method, route.path));
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
                "octet-stream" => smartmap_shared::sync::tus::OFFSET_CONTENT_TYPE,
                _ => "application/json",
            };
            let fallback = match kind {
                "octet-stream" => json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
                _ => json!({ "type": "object" }),
            };
            let schema =
                request_schema(&mut generator, route.method, route.path).map(Schema::to_value).unwrap_or(fallback);
            op["requestBody"] = json!({ "required": true, "content": { media: { "schema": schema } } });
        }
        entry[route.method.to_lowercase()] = op;
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert("Problem".into(), problem_schema());
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
            "schemas": schemas,
        }
    })
}

/// RFC 9457 problem details, as every error is sent.
fn problem_schema() -> Value {
    json!({
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
    })
}

/// The handler.
pub async fn openapi_json() -> Json<Value> {
    Json(describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn request_bodies_and_query_parameters_come_from_the_handlers_types() {
        let doc = describe();
        let submit = &doc["paths"]["/api/reports"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"];
        let report_ref = submit["properties"]["report"]["$ref"].as_str().expect("the report part is a schema ref");
        let name = report_ref.rsplit('/').next().unwrap();
        let report = &doc["components"]["schemas"][name];
        let mut required: Vec<&str> = report["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        required.sort();
        assert_eq!(required, ["category", "description", "location"]);
        assert_eq!(report["additionalProperties"], false, "unknown fields are refused, and documented so");

        let map_params: Vec<&str> = doc["paths"]["/api/map/reports"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in ["bbox", "category", "status", "from", "to", "zoom", "page", "page_size"] {
            assert!(map_params.contains(&name), "{name} missing from {map_params:?}");
        }
        let unit = &doc["components"]["schemas"]["CategoryForm"]["properties"]["sla_unit"]["enum"];
        assert_eq!(unit, &json!(["working_days", "working_hours"]));
    }

    #[test]
    fn every_reference_resolves_and_every_json_body_has_a_schema() {
        let doc = describe();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r} points elsewhere"));
            assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
        }
        for route in ROUTES.iter().filter(|r| r.body == Some("json")) {
            let body =
                &doc["paths"][route.path][route.method.to_lowercase()]["requestBody"]["content"]["application/json"];
            assert_ne!(body["schema"], json!({ "type": "object" }), "{} {} has no schema", route.method, route.path);
        }
    }
}
