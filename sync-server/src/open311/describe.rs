//! What the endpoint offers: service discovery, the service list and service definitions.

use super::document::{Document, Node};
use super::errors::{Open311Error, Open311Result};
use super::params::{Params, base_url, check_jurisdiction, format_of, split_format, w3c};
use super::services::{attributes_of, service_info};
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use smartmap_shared::category::Category;

/// The URL of the specification an endpoint implements, as discovery names it.
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// A path segment, or a 404 (in XML: no format is known yet) when it cannot be read.
pub fn segment(path: Result<Path<String>, PathRejection>) -> Open311Result<String> {
    path.map(|Path(s)| s)
        .map_err(|e| Open311Error::not_found(super::document::Format::Xml, format!("no such resource: {e}")))
}

/// `GET /open311/v2/discovery.{format}`: where the endpoint is, what it speaks, whom to ask.
pub async fn discovery(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let format = format_of(&segment(path)?)?;
    check_jurisdiction(&Params::parse(query.unwrap_or_default().as_bytes()), format)?;
    let base = base_url(state.settings.public_url.as_deref(), &headers);
    // Categories and their questions carry no change time, so every answer says "changed now":
    // clients re-read their cached service list whenever they look here, which is safe.
    let changeset = Node::text(w3c(state.clock.now()));
    let endpoint = Node::Record(vec![
        ("specification", Node::text(SPECIFICATION)),
        ("url", Node::text(format!("{base}/open311/v2"))),
        ("changeset", changeset.clone()),
        ("type", Node::text("production")),
        ("formats", Node::List("format", vec![Node::text("text/xml"), Node::text("application/json")])),
    ]);
    let doc = Document::record(
        "discovery",
        vec![
            ("changeset", changeset),
            ("contact", Node::text("Smart Map Tbilisi, Tbilisi City Hall. The API is described at /api/openapi.json.")),
            (
                "key_service",
                Node::text(
                    "Reading needs no key. Apps that post service requests get an api_key from the Smart Map \
                     Tbilisi administrators.",
                ),
            ),
            ("endpoints", Node::List("endpoint", vec![endpoint])),
        ],
    );
    Ok(doc.respond(format, StatusCode::OK))
}

/// One category as a service of the service list.
fn service_node(c: &Category) -> Node {
    let info = service_info(c.id.as_str());
    let keywords = match info {
        Some(i) => format!("{}, {}", i.keywords, c.name.ka),
        None => c.name.ka.clone(),
    };
    Node::Record(vec![
        ("service_code", Node::text(c.id.as_str())),
        ("service_name", Node::text(c.name.en.clone())),
        (
            "description",
            Node::text(info.map_or_else(|| format!("Report a problem: {}.", c.name.en), |i| i.description.to_owned())),
        ),
        ("metadata", Node::Bool(!attributes_of(c.id.as_str()).is_empty())),
        ("type", Node::text("realtime")),
        ("keywords", Node::text(keywords)),
        ("group", Node::text(info.map_or("other", |i| i.group))),
    ])
}

/// `GET /open311/v2/services.{format}`: the categories that take reports now.
pub async fn service_list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let format = format_of(&segment(path)?)?;
    check_jurisdiction(&Params::parse(query.unwrap_or_default().as_bytes()), format)?;
    let reference = state.reference();
    let services = reference.categories.iter().filter(|c| c.active).map(service_node).collect();
    Ok(Document::list("services", "service", services).respond(format, StatusCode::OK))
}

/// `GET /open311/v2/services/{service_code}.{format}`: a category's questions.
pub async fn service_definition(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let segment = segment(path)?;
    let (code, format) = split_format(&segment)?;
    check_jurisdiction(&Params::parse(query.unwrap_or_default().as_bytes()), format)?;
    let reference = state.reference();
    let Some(category) = reference.categories.iter().find(|c| c.id.as_str() == code) else {
        return Err(Open311Error::not_found(format, format!("service_code '{code}' was not found")));
    };
    let attributes = attributes_of(category.id.as_str())
        .iter()
        .zip(1..)
        .map(|(a, order)| {
            let values = a
                .values
                .iter()
                .map(|(key, name)| Node::Record(vec![("key", Node::text(*key)), ("name", Node::text(*name))]))
                .collect();
            Node::Record(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(a.code)),
                ("datatype", Node::text(a.datatype.as_str())),
                ("required", Node::Bool(a.required)),
                ("datatype_description", Node::opt_text(a.datatype_description)),
                ("order", Node::Int(order)),
                ("description", Node::text(a.description)),
                ("values", Node::List("value", values)),
            ])
        })
        .collect();
    let doc = Document::record(
        "service_definition",
        vec![("service_code", Node::text(category.id.as_str())), ("attributes", Node::List("attribute", attributes))],
    );
    Ok(doc.respond(format, StatusCode::OK))
}
