//! Open311 GeoReport v2, held to the specification's text (`../shared/specs/open311-georeport-v2.md`):
//! every endpoint answers in XML (read with a real XML parser) and JSON with the same content;
//! lists are top-level JSON arrays; ids and codes are strings; errors come in the spec's own
//! format with 404, 403 and 400; an empty parameter is the same as an absent one.
//!
//! Behind the door, a report posted by an app is an ordinary report: validated, located, routed
//! and given a deadline like any other, on the public map and in the staff queue, submitted by
//! the app's own account — and the person behind it stays private.

use chrono::Duration;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{Account, Backend, GLDANI, Reply, TestApp, VAKE, instant, report_json, spawn_app};
use std::collections::BTreeSet;

smartmap_tests::scenarios!(
    discovery_services_and_definitions_answer_in_both_formats,
    an_app_posts_a_request_that_is_handled_like_any_other_report,
    a_photo_posted_with_the_request_goes_through_the_photo_pipeline,
    posting_errors_are_the_specs_own_and_store_nothing,
    multivalue_attributes_and_empty_parameters,
    requests_are_listed_by_every_standard_filter_and_the_extensions,
    the_default_window_is_ninety_days_and_a_thousand_requests,
    the_updates_feed_replays_a_reports_life_with_extended_statuses,
);

// ---- Reading answers ---------------------------------------------------------------------

/// Elements whose children are the items of a list (a JSON array), by the Spark convention.
const LISTS: [&str; 11] = [
    "services",
    "service_requests",
    "service_request_updates",
    "errors",
    "attributes",
    "values",
    "endpoints",
    "formats",
    "notes",
    "photos",
    "proof_photos",
];

/// An XML element as the JSON the Spark convention maps it to, every leaf as text.
fn xml_value(node: roxmltree::Node) -> Value {
    let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
    if LISTS.contains(&node.tag_name().name()) {
        return Value::Array(children.into_iter().map(xml_value).collect());
    }
    if children.is_empty() {
        return Value::String(node.text().unwrap_or("").to_owned());
    }
    let mut object = serde_json::Map::new();
    for child in children {
        let name = child.tag_name().name().to_owned();
        assert!(!object.contains_key(&name), "<{name}> repeats outside a list");
        object.insert(name, xml_value(child));
    }
    Value::Object(object)
}

/// A JSON value with every leaf as the text XML would carry (`null` is an empty element).
fn as_text(v: &Value) -> Value {
    match v {
        Value::Null => json!(""),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.as_i64().map_or_else(|| n.as_f64().unwrap().to_string(), |i| i.to_string())),
        Value::String(s) => json!(s),
        Value::Array(items) => Value::Array(items.iter().map(as_text).collect()),
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
    }
}

/// Parses an XML answer: the spec's content type and declaration, a well-formed document.
/// Returns the root element's name and its content as JSON.
#[track_caller]
fn read_xml(reply: &Reply) -> (String, Value) {
    assert_eq!(reply.header("content-type"), Some("text/xml; charset=utf-8"), "{}", reply.request);
    let text = reply.text();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{}: {text}", reply.request);
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: not XML ({e}): {text}", reply.request));
    let root = doc.root_element();
    (root.tag_name().name().to_owned(), xml_value(root))
}

/// Parses a JSON answer with the spec's content type.
#[track_caller]
fn read_json(reply: &Reply) -> Value {
    assert_eq!(reply.header("content-type"), Some("application/json; charset=utf-8"), "{}", reply.request);
    reply.json()
}

/// `GET {resource}.xml{query}` and `GET {resource}.json{query}`: both 200 with the same content,
/// the XML rooted at `root`. Returns the JSON.
async fn get_both(app: &TestApp, resource: &str, query: &str, root: &str) -> Value {
    let xml = app.get(&format!("{resource}.xml{query}"), None).await;
    let json = app.get(&format!("{resource}.json{query}"), None).await;
    assert_eq!((xml.status, json.status), (200, 200), "{resource}{query}: {} / {}", xml.text(), json.text());
    let (name, from_xml) = read_xml(&xml);
    let json = read_json(&json);
    assert_eq!(name, root, "{resource}: the XML root");
    assert_eq!(from_xml, as_text(&json), "{resource}{query}: XML and JSON differ");
    json
}

/// Checks an Open311 error answer in `format` (`xml` or `json`): the status, an `errors` list
/// of `{code, description}` whose code is the status. Returns the descriptions.
#[track_caller]
fn expect_errors(reply: &Reply, status: u16, format: &str) -> Vec<String> {
    assert_eq!(reply.status, status, "{}: {}", reply.request, reply.text());
    let errors = if format == "xml" {
        let (root, errors) = read_xml(reply);
        assert_eq!(root, "errors", "{}", reply.request);
        errors
    } else {
        read_json(reply)
    };
    let errors = errors.as_array().unwrap_or_else(|| panic!("{}: errors are a list: {errors}", reply.request));
    assert!(!errors.is_empty(), "{}: no error listed", reply.request);
    errors
        .iter()
        .map(|e| {
            let code =
                if format == "xml" { e["code"].as_str().map(str::to_owned) } else { Some(e["code"].to_string()) };
            assert_eq!(code.as_deref(), Some(status.to_string().as_str()), "{}: {e}", reply.request);
            e["description"].as_str().expect("a description").to_owned()
        })
        .collect()
}

/// Asserts that one of `descriptions` starts with `field` (the parameter at fault).
#[track_caller]
fn names(descriptions: &[String], field: &str) {
    assert!(descriptions.iter().any(|d| d.starts_with(field)), "no error names {field}: {descriptions:?}");
}

/// `GET path` must be an Open311 error in both formats (`{ext}` in `path` is the format).
async fn get_errors(app: &TestApp, path: &str, status: u16) -> Vec<String> {
    let mut descriptions = Vec::new();
    for ext in ["xml", "json"] {
        let reply = app.get(&path.replace("{ext}", ext), None).await;
        descriptions = expect_errors(&reply, status, ext);
    }
    descriptions
}

// ---- Posting -----------------------------------------------------------------------------

/// Issues an Open311 key to an app named `name`.
async fn issue_key(app: &TestApp, admin: &Account, name: &str) -> String {
    let body = json!({ "app_name": name, "contact_email": "developers@app.example.ge" });
    let issued = app.post_json("/api/admin/open311/keys", Some(&admin.token), &body).await.expect(201);
    issued["api_key"].as_str().expect("the key, once").to_owned()
}

/// `application/x-www-form-urlencoded` text of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or("").to_owned()
}

/// `POST /open311/v2/requests.{ext}` with a form-encoded body.
async fn post(app: &TestApp, ext: &str, pairs: &[(&str, &str)]) -> Reply {
    let request = app
        .request(Method::POST, &format!("/open311/v2/requests.{ext}"), None)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(form(pairs));
    app.send(request).await
}

/// A rubbish report in Gldani as an app posts it.
fn rubbish<'a>(key: &'a str, description: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", key),
        ("service_code", "cleaning"),
        ("lat", "41.8027"),
        ("long", "44.8291"),
        ("description", description),
    ]
}

/// [`rubbish`] without the parameters named in `drop`, with `changes` added.
fn rubbish_with<'a>(key: &'a str, changes: &[(&'a str, &'a str)], drop: &[&str]) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> =
        rubbish(key, "Rubbish.").into_iter().filter(|(k, _)| !drop.contains(k)).collect();
    pairs.extend_from_slice(changes);
    pairs
}

/// Posts and expects acceptance; returns the `service_request_id`.
async fn post_ok(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let reply = post(app, "json", pairs).await;
    let answer = read_json(&reply);
    assert_eq!(reply.status, 200, "{answer}");
    answer[0]["service_request_id"].as_str().expect("a string id").to_owned()
}

/// One request, as JSON.
async fn request(app: &TestApp, id: &str, query: &str) -> Value {
    let list = get_both(app, &format!("/open311/v2/requests/{id}"), query, "service_requests").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    list[0].clone()
}

/// The `service_request_id`s of a list answer, in order.
fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a top-level array")
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
        .collect()
}

// ---- Scenarios ---------------------------------------------------------------------------

async fn discovery_services_and_definitions_answer_in_both_formats(backend: Backend) {
    let app = spawn_app(backend).await;

    let discovery = get_both(&app, "/open311/v2/discovery", "", "discovery").await;
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(endpoint["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(endpoint["url"], format!("{}/open311/v2", app.address));
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    instant(&endpoint["changeset"]);

    let services = get_both(&app, "/open311/v2/services", "", "services").await;
    let codes: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["street-lighting", "trees-greenery", "park-benches", "cleaning"]);
    for s in services.as_array().unwrap() {
        assert_eq!(s["type"], "realtime");
        assert_eq!(s["metadata"], true, "every first-stage category asks questions: {s}");
        for field in ["service_name", "description", "keywords", "group"] {
            assert!(s[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {s}");
        }
    }

    let lighting = get_both(&app, "/open311/v2/services/street-lighting", "", "service_definition").await;
    assert_eq!(lighting["service_code"], "street-lighting");
    let lamp = &lighting["attributes"][0];
    assert_eq!(
        (&lamp["code"], &lamp["datatype"], &lamp["required"]),
        (&json!("lamp_state"), &json!("singlevaluelist"), &json!(true))
    );
    let keys: Vec<&str> = lamp["values"].as_array().unwrap().iter().map(|v| v["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["off", "flickering", "on_in_daytime"]);
    let orders: Vec<i64> =
        lighting["attributes"].as_array().unwrap().iter().map(|a| a["order"].as_i64().unwrap()).collect();
    assert_eq!(orders, [1, 2, 3], "orders are positive, distinct numbers");
    let cleaning = get_both(&app, "/open311/v2/services/cleaning", "", "service_definition").await;
    assert_eq!(cleaning["attributes"][0]["code"], "waste_type");
    assert_eq!(cleaning["attributes"][0]["datatype"], "multivaluelist");
    assert_eq!(cleaning["attributes"][0]["variable"], true);

    // The jurisdiction is ours or not given; an empty one is not given.
    for query in ["?jurisdiction_id=tbilisi.gov.ge", "?jurisdiction_id="] {
        assert_eq!(get_both(&app, "/open311/v2/services", query, "services").await, services, "{query}");
    }
    names(&get_errors(&app, "/open311/v2/services.{ext}?jurisdiction_id=sfgov.org", 404).await, "jurisdiction_id");
    names(&get_errors(&app, "/open311/v2/services/potholes.{ext}", 404).await, "service_code");
    // An unknown format is a resource we do not have, said in XML (the required format).
    for path in ["/open311/v2/services.csv", "/open311/v2/services/cleaning.html", "/open311/v2/services/cleaning"] {
        expect_errors(&app.get(path, None).await, 404, "xml");
    }
    // A new category is offered at once, without questions until it gets some.
    let admin = app.make_user(Role::Admin, None, None).await;
    let potholes = json!({ "name_ka": "ორმოები", "name_en": "Potholes", "sla_amount": 5, "sla_unit": "working_days" });
    app.put_json("/api/admin/categories/potholes", Some(&admin.token), &potholes).await.expect(200);
    let services = get_both(&app, "/open311/v2/services", "", "services").await;
    let new = services.as_array().unwrap().iter().find(|s| s["service_code"] == "potholes").expect("listed");
    assert_eq!((&new["metadata"], &new["service_name"]), (&json!(false), &json!("Potholes")));
    assert_eq!(
        get_both(&app, "/open311/v2/services/potholes", "", "service_definition").await["attributes"],
        json!([])
    );

    // The OpenAPI description documents every Open311 route.
    let openapi = app.get("/api/openapi.json", None).await.expect(200);
    for path in ["/open311/v2/requests.{format}", "/open311/v2/services/{service_code}", "/api/admin/open311/keys"] {
        assert!(openapi["paths"][path].is_object(), "{path} is not described");
    }
    let post = &openapi["paths"]["/open311/v2/requests.{format}"]["post"];
    assert!(post["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(), "{post}");
}

async fn an_app_posts_a_request_that_is_handled_like_any_other_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let tbilservice = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;

    // An admin registers the app; its key is shown once and listed never.
    let key = issue_key(&app, &admin, "Tbilisi Fixers").await;
    let keys = app.get("/api/admin/open311/keys", Some(&admin.token)).await.expect(200);
    assert_eq!(keys["items"][0]["app_name"], "Tbilisi Fixers");
    assert!(!keys.to_string().contains(&key), "the key is listed: {keys}");

    let mut pairs = rubbish(&key, "Bins overflowing behind the school.");
    pairs.extend([
        ("jurisdiction_id", "tbilisi.gov.ge"),
        ("address_string", "12 Tsereteli Ave, Gldani"),
        ("attribute[waste_type][]", "overflowing_bin"),
        ("attribute[amount]", "car_boot"),
        ("media_url", "https://photos.example.org/p/123.jpg"),
        ("email", "nino@example.ge"),
        ("first_name", "Nino"),
        ("last_name", "Beridze"),
        ("phone", "+995555123456"),
        ("device_id", "device-42"),
        ("account_id", "app-user-7"),
    ]);
    let reply = post(&app, "xml", &pairs).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (root, answer) = read_xml(&reply);
    assert_eq!(root, "service_requests");
    let created = &answer[0];
    let id = created["service_request_id"].as_str().unwrap().to_owned();
    assert!(id.parse::<u64>().is_ok(), "the id is the report's number: {created}");
    assert_eq!(created["account_id"], "app-user-7");
    assert!(created["service_notice"].as_str().unwrap().contains("Tbilservice"), "{created}");

    // The token names the same request, in both formats.
    let token = created["token"].as_str().unwrap();
    let by_token = get_both(&app, &format!("/open311/v2/tokens/{token}"), "", "service_requests").await;
    assert_eq!(by_token, json!([{ "service_request_id": id, "token": token }]));
    get_errors(&app, "/open311/v2/tokens/0123abcd.{ext}", 404).await;

    // The request, as Open311 shows it.
    let r = request(&app, &id, "").await;
    assert_eq!(
        (&r["status"], &r["service_code"], &r["service_name"]),
        (&json!("open"), &json!("cleaning"), &json!("Cleaning"))
    );
    assert_eq!(r["address"], "12 Tsereteli Ave, Gldani");
    assert_eq!((r["lat"].as_f64(), r["long"].as_f64()), (Some(GLDANI.0), Some(GLDANI.1)));
    assert_eq!(
        r["description"],
        "Bins overflowing behind the school.\n\nWaste type: Overflowing bin or container\nAmount: Up to a car boot\n\
         Photo link (sent by the app, not downloaded): https://photos.example.org/p/123.jpg"
    );
    assert!(r["agency_responsible"].as_str().unwrap().starts_with("Tbilservice"), "{r}");
    assert_eq!(r["media_url"], Value::Null);
    for field in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert!(r[field].as_str().unwrap().ends_with("+04:00"), "{field} in Tbilisi time: {r}");
    }

    // Behind the door it is an ordinary report: on the public map, in the routed body's queue,
    // with the same deadline, reported by the app's account.
    let map = app.get("/api/map/reports?zoom=16", None).await.expect(200);
    let feature = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["number"].as_i64().map(|n| n.to_string()).as_deref() == Some(id.as_str()))
        .cloned();
    let feature = feature.expect("on the public map");
    let uuid = feature["id"].as_str().unwrap();
    let queue = app.get("/api/staff/queue", Some(&tbilservice.token)).await.expect(200);
    assert!(queue["items"].as_array().unwrap().iter().any(|i| i["id"] == uuid), "in Tbilservice's queue: {queue}");
    let staff_view = app.get(&format!("/api/reports/{uuid}"), Some(&tbilservice.token)).await.expect(200);
    assert_eq!(staff_view["body"]["id"], "tbilservice");
    assert_eq!(staff_view["reporter"]["name"], "Tbilisi Fixers (Open311 app)");
    assert_eq!(instant(&staff_view["deadline"]), instant(&r["expected_datetime"]));
    assert_eq!(request(&app, uuid, "").await, r, "the UUID names the same request");

    // The person behind it is never public.
    let public = app.get(&format!("/api/reports/{uuid}"), None).await.expect(200).to_string();
    let listed = app.get("/open311/v2/requests.json?extensions=true", None).await.text();
    for text in [&public, &listed, &staff_view.to_string()] {
        for personal in ["nino@example.ge", "Beridze", "+995555123456", "device-42"] {
            assert!(!text.contains(personal), "{personal} is shown: {text}");
        }
    }

    // A second app posts through its own account.
    let other = issue_key(&app, &admin, "Open City").await;
    let second = post_ok(&app, &rubbish(&other, "More rubbish.")).await;
    let uuid2 =
        request(&app, &second, "?extensions=true").await["extended_attributes"]["id"].as_str().unwrap().to_owned();
    let view = app.get(&format!("/api/reports/{uuid2}"), Some(&tbilservice.token)).await.expect(200);
    assert_eq!(view["reporter"]["name"], "Open City (Open311 app)");

    // A report a moderator hides is off the public record, its token included.
    let moderator = app.make_user(Role::Moderator, None, None).await;
    let uuid = request(&app, &id, "?extensions=true").await["extended_attributes"]["id"].as_str().unwrap().to_owned();
    app.post_json(
        &format!("/api/moderation/reports/{uuid}/hide"),
        Some(&moderator.token),
        &json!({ "reason": "abuse" }),
    )
    .await
    .expect(200);
    get_errors(&app, &format!("/open311/v2/tokens/{token}.{{ext}}"), 404).await;
}

async fn a_photo_posted_with_the_request_goes_through_the_photo_pipeline(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let key = issue_key(&app, &admin, "Photo App").await;
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in rubbish(&key, "Rubbish, see the photo.") {
        form = form.text(name.to_owned(), value.to_owned());
    }
    let part = reqwest::multipart::Part::bytes(photo(7)).file_name("p.jpg").mime_str("image/jpeg").unwrap();
    form = form.part("media", part);
    let reply = app.send(app.request(Method::POST, "/open311/v2/requests.json", None).multipart(form)).await;
    let id = read_json(&reply)[0]["service_request_id"].as_str().expect("accepted").to_owned();
    let r = request(&app, &id, "?extensions=true").await;
    let url = r["media_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/media/", app.address)) && url.ends_with(".jpg"), "absolute: {url}");
    assert_eq!(r["extended_attributes"]["photos"], json!([url]));
    let served = app.get(url.strip_prefix(&app.address).unwrap(), None).await;
    assert_eq!((served.status, served.header("content-type")), (200, Some("image/jpeg")));
    assert_ne!(served.body, photo(7), "stored as processed, never as uploaded");

    // Not a photo: refused by the pipeline, named as the media part.
    let before = app.counts().await;
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in rubbish(&key, "Rubbish.") {
        form = form.text(name.to_owned(), value.to_owned());
    }
    form = form.part("media", reqwest::multipart::Part::bytes(b"not a photo".to_vec()).file_name("x.jpg"));
    let reply = app.send(app.request(Method::POST, "/open311/v2/requests.xml", None).multipart(form)).await;
    names(&expect_errors(&reply, 400, "xml"), "media[0]");
    assert_eq!(app.counts().await, before);
}

async fn posting_errors_are_the_specs_own_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let key = issue_key(&app, &admin, "Careless App").await;
    let before = app.counts().await;
    let with = |changes: &[(&'static str, &'static str)], drop: &[&str]| rubbish_with(&key, changes, drop);
    // (the request, the status it gets, what the error names)
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (with(&[], &["api_key"]), 403, "api_key"),
        (with(&[("api_key", "")], &["api_key"]), 403, "api_key"),
        (with(&[("api_key", "not-a-key")], &["api_key"]), 403, "Invalid api_key"),
        (with(&[("jurisdiction_id", "sfgov.org")], &[]), 404, "jurisdiction_id"),
        (with(&[], &["service_code"]), 400, "service_code"),
        (with(&[("service_code", "potholes")], &["service_code"]), 404, "service_code"),
        (with(&[("address_string", "12 Tsereteli Ave")], &["lat", "long"]), 400, "lat/long"),
        (with(&[], &["lat", "long"]), 400, "lat/long"),
        (with(&[], &["long"]), 400, "long"),
        (with(&[("lat", "north")], &["lat"]), 400, "lat"),
        (with(&[("lat", "51.5"), ("long", "-0.12")], &["lat", "long"]), 400, "lat/long"),
        (with(&[], &["description"]), 400, "description"),
        (with(&[("media_url", "file:///etc/passwd")], &[]), 400, "media_url"),
        (with(&[("email", "nobody")], &[]), 400, "email"),
        (with(&[("service_code", "street-lighting")], &["service_code"]), 400, "attribute[lamp_state]"),
        (with(&[("attribute[amount]", "ocean")], &[]), 400, "attribute[amount]"),
    ];
    for (pairs, status, field) in &cases {
        for ext in ["xml", "json"] {
            let descriptions = expect_errors(&post(&app, ext, pairs).await, *status, ext);
            assert!(descriptions.iter().any(|d| d.contains(field)), "{pairs:?}: {descriptions:?} should name {field}");
        }
    }
    // The address is kept, but never geocoded: the error says why.
    let geocode = expect_errors(&post(&app, "json", &cases[6].0).await, 400, "json");
    assert!(geocode[0].contains("cannot geocode"), "{geocode:?}");

    // Every field at fault is named, one error each.
    let pairs = with(
        &[("lat", "north"), ("media_url", "ftp://x"), ("email", "nobody"), ("attribute[waste_type][]", "gold")],
        &["lat"],
    );
    let descriptions = expect_errors(&post(&app, "json", &pairs).await, 400, "json");
    assert_eq!(descriptions.len(), 4, "{descriptions:?}");
    for field in ["lat", "media_url", "email", "attribute[waste_type]"] {
        names(&descriptions, field);
    }

    // Not a form; an unknown format.
    let json_body = app.request(Method::POST, "/open311/v2/requests.json", None).json(&json!({ "api_key": key }));
    expect_errors(&app.send(json_body).await, 400, "json");
    expect_errors(&post(&app, "csv", &rubbish(&key, "Rubbish.")).await, 404, "xml");
    // Never problem+json on these routes.
    let reply = post(&app, "json", &with(&[], &["api_key"])).await;
    assert_ne!(reply.header("content-type"), Some("application/problem+json"));

    assert_eq!(app.counts().await, before, "no refused request stored anything");
    // The same request with the key is accepted.
    post_ok(&app, &rubbish(&key, "Rubbish.")).await;
}

async fn multivalue_attributes_and_empty_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let key = issue_key(&app, &admin, "Careful App").await;

    let mut pairs = rubbish(&key, "Dumped furniture.");
    pairs.extend([
        ("attribute[waste_type][]", "bulky"),
        ("attribute[waste_type][]", "household"),
        ("attribute[waste_type][]", "bulky"),
        ("attribute[unknown_to_us]", "ignored"),
    ]);
    let id = post_ok(&app, &pairs).await;
    assert_eq!(
        request(&app, &id, "").await["description"],
        "Dumped furniture.\n\nWaste type: Bulky items (furniture, appliances), Household rubbish"
    );
    let mut pairs = rubbish(&key, "Dumped furniture.");
    pairs.push(("attribute[waste_type]", "bulky"));
    let id = post_ok(&app, &pairs).await;
    assert!(
        request(&app, &id, "").await["description"]
            .as_str()
            .unwrap()
            .ends_with("Waste type: Bulky items (furniture, appliances)")
    );
    // A single-value question takes one value.
    let mut pairs = rubbish(&key, "Rubbish.");
    pairs.extend([("attribute[amount][]", "bag"), ("attribute[amount][]", "truck")]);
    names(&expect_errors(&post(&app, "json", &pairs).await, 400, "json"), "attribute[amount]");

    // Empty parameters are absent parameters: the same request either way.
    let mut pairs = rubbish(&key, "Just rubbish.");
    pairs.extend([
        ("jurisdiction_id", ""),
        ("address_string", ""),
        ("media_url", ""),
        ("email", ""),
        ("phone", ""),
        ("attribute[amount]", ""),
        ("attribute[waste_type][]", ""),
    ]);
    let with_empties = request(&app, &post_ok(&app, &pairs).await, "").await;
    let without = request(&app, &post_ok(&app, &rubbish(&key, "Just rubbish.")).await, "").await;
    let comparable = |mut r: Value| {
        r["service_request_id"] = Value::Null;
        r
    };
    assert_eq!(comparable(with_empties.clone()), comparable(without));
    assert_eq!((&with_empties["address"], &with_empties["description"]), (&Value::Null, &json!("Just rubbish.")));
    // And so on reading.
    let plain = get_both(&app, "/open311/v2/requests", "", "service_requests").await;
    let empties = "?service_request_id=&service_code=&status=&start_date=&end_date=&updated_after=&page=&page_size=&extensions=&jurisdiction_id=";
    assert_eq!(get_both(&app, "/open311/v2/requests", empties, "service_requests").await, plain);
    assert_eq!(ids_of(&plain).len(), 4);
}

async fn requests_are_listed_by_every_standard_filter_and_the_extensions(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let moderator = app.make_user(Role::Moderator, None, None).await;
    let number = |v: Value| (v["number"].to_string(), v["id"].as_str().unwrap().to_owned());
    // Day 1: rubbish and a bench in Gldani; day 2: a bench in Vake; day 3: rubbish in Vake.
    let rubbish1 = number(app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "Rubbish 1."), &[]).await);
    let bench1 = number(app.submit_ok(&resident.token, &report_json("park-benches", GLDANI, "Bench 1."), &[]).await);
    app.advance(Duration::days(1));
    let bench2 = number(app.submit_ok(&resident.token, &report_json("park-benches", VAKE, "Bench 2."), &[]).await);
    app.advance(Duration::days(1));
    let rubbish2 = number(app.submit_ok(&resident.token, &report_json("cleaning", VAKE, "Rubbish 2."), &[]).await);
    app.advance(Duration::hours(1));
    // Bench 1 is closed with a reason; rubbish 1 gets a public response.
    app.act_ok(
        &admin.token,
        &bench1.1,
        &json!({ "action": "no_action", "reason": "The bench was removed on purpose." }),
    )
    .await;
    app.act_ok(&admin.token, &rubbish1.1, &json!({ "action": "respond", "public_note": "A truck is on its way." }))
        .await;

    let list = |query: &str| {
        let app = &app;
        let query = query.to_owned();
        async move { ids_of(&get_both(app, "/open311/v2/requests", &query, "service_requests").await) }
    };
    let ids = |reports: &[&(String, String)]| reports.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    assert_eq!(list("").await, ids(&[&rubbish2, &bench2, &bench1, &rubbish1]), "newest first");
    assert_eq!(list("?status=closed").await, ids(&[&bench1]));
    assert_eq!(list("?status=open").await, ids(&[&rubbish2, &bench2, &rubbish1]));
    assert_eq!(list("?status=open,closed").await.len(), 4);
    assert_eq!(list("?status=open&status=closed").await.len(), 4);
    assert_eq!(list("?service_code=cleaning").await, ids(&[&rubbish2, &rubbish1]));
    assert_eq!(list("?service_code=cleaning,park-benches&status=closed").await, ids(&[&bench1]));
    // service_request_id overrides every other argument.
    let query = format!("?service_request_id={},{}&status=closed&service_code=cleaning", bench2.0, rubbish1.0);
    assert_eq!(list(&query).await, ids(&[&bench2, &rubbish1]));
    // Dates: the second day only, in Tbilisi time or UTC.
    assert_eq!(
        list("?start_date=2026-03-11T00:00:00%2B04:00&end_date=2026-03-11T23:59:59%2B04:00").await,
        ids(&[&bench2])
    );
    assert_eq!(list("?start_date=2026-03-11T00:00:00Z&end_date=2026-03-12T00:00:00Z").await, ids(&[&bench2]));
    assert_eq!(list("?start_date=2026-03-11").await, ids(&[&rubbish2, &bench2]));
    // Extensions: changes after a time, paging.
    assert_eq!(list("?updated_after=2026-03-12T05:30:00Z").await, ids(&[&bench1, &rubbish1]));
    assert_eq!(list("?updated_before=2026-03-11T06:30:00Z").await, ids(&[&bench2]));
    assert_eq!(list("?page_size=3").await, ids(&[&rubbish2, &bench2, &bench1]));
    assert_eq!(list("?page_size=3&page=2").await, ids(&[&rubbish1]));

    // Field mapping of a closed and an answered request.
    let closed = request(&app, &bench1.0, "").await;
    assert_eq!(
        (&closed["status"], &closed["status_notes"]),
        (&json!("closed"), &json!("The bench was removed on purpose."))
    );
    assert_eq!(closed["updated_datetime"], "2026-03-12T10:00:00+04:00", "the time it closed");
    assert_eq!(closed["requested_datetime"], "2026-03-10T09:00:00+04:00");
    let answered = request(&app, &rubbish1.0, "?extensions=true").await;
    assert_eq!(answered["status_notes"], "A truck is on its way.");
    let notes: Vec<&str> = answered["notes"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(notes, ["submit", "route", "respond"]);
    assert_eq!(answered["notes"][2]["description"], "A truck is on its way.");
    assert_eq!(answered["extended_attributes"]["id"], rubbish1.1.as_str());
    assert_eq!(answered["extended_attributes"]["status"], "routed");
    assert!(request(&app, &rubbish1.0, "").await.get("notes").is_none(), "no extensions unless asked");

    // Bad filters are 400s naming the parameter, in both formats.
    for (query, field) in [
        ("start_date=yesterday", "start_date"),
        ("start_date=2026-03-10T09:00:00", "start_date"),
        ("end_date=2026-13-01T00:00:00Z", "end_date"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z", "start_date/end_date"),
        ("start_date=2026-03-11T00:00:00Z&end_date=2026-03-10T00:00:00Z", "end_date"),
        ("status=pending", "status"),
        ("service_code=potholes", "service_code"),
        ("page=0", "page"),
        ("page_size=1001", "page_size"),
        ("extensions=maybe", "extensions"),
    ] {
        names(&get_errors(&app, &format!("/open311/v2/requests.{{ext}}?{query}"), 400).await, field);
    }
    names(&get_errors(&app, "/open311/v2/requests.{ext}?jurisdiction_id=sfgov.org", 404).await, "jurisdiction_id");
    for missing in ["999999", "not-a-number", "00000000-0000-0000-0000-000000000000"] {
        names(&get_errors(&app, &format!("/open311/v2/requests/{missing}.{{ext}}"), 404).await, "service_request_id");
    }
    expect_errors(&app.get("/open311/v2/requests.yaml", None).await, 404, "xml");

    // A hidden report is not public, here either.
    app.post_json(
        &format!("/api/moderation/reports/{}/hide", bench2.1),
        Some(&moderator.token),
        &json!({ "reason": "Abuse." }),
    )
    .await
    .expect(200);
    assert!(!list("").await.contains(&bench2.0));
    get_errors(&app, &format!("/open311/v2/requests/{}.{{ext}}", bench2.0), 404).await;
    assert_eq!(list(&format!("?service_request_id={}", bench2.0)).await, Vec::<String>::new());
}

async fn the_default_window_is_ninety_days_and_a_thousand_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let old = app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "An old one."), &[]).await["number"]
        .to_string();
    app.advance(Duration::days(91));
    let submit_many = |n: usize| {
        let app = &app;
        let token = resident.token.clone();
        async move {
            futures::stream::iter(0..n)
                .map(|i| {
                    let token = token.clone();
                    async move { app.submit_ok(&token, &report_json("cleaning", VAKE, &format!("Rubbish {i}.")), &[]).await }
                })
                .buffer_unordered(16)
                .collect::<Vec<_>>()
                .await
        }
    };
    submit_many(1005).await;

    let all = get_both(&app, "/open311/v2/requests", "", "service_requests").await;
    let shown = ids_of(&all);
    assert_eq!(shown.len(), 1000, "at most 1000 by default");
    assert!(!shown.contains(&old), "the old one is outside the most recent 90 days");
    let distinct: BTreeSet<_> = shown.iter().collect();
    assert_eq!(distinct.len(), 1000);
    let next = ids_of(&app.get("/open311/v2/requests.json?page=2", None).await.json());
    assert_eq!(next.len(), 5, "the rest on the next page");
    assert!(next.iter().all(|id| !distinct.contains(id)));
    // An explicit window reaches back; a single start date reaches 90 days from it.
    let back = ids_of(&app.get("/open311/v2/requests.json?start_date=2026-03-09T00:00:00Z", None).await.json());
    assert_eq!(back, std::slice::from_ref(&old));
    let by_end = ids_of(&app.get("/open311/v2/requests.json?end_date=2026-03-11T00:00:00Z", None).await.json());
    assert_eq!(by_end, [old]);
}

async fn the_updates_feed_replays_a_reports_life_with_extended_statuses(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let moderator = app.make_user(Role::Moderator, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let submitted = app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "Rubbish."), &[]).await;
    let (id, number) = (submitted["id"].as_str().unwrap().to_owned(), submitted["number"].to_string());
    let step = || app.advance(Duration::minutes(10));
    step();
    app.act_ok(&admin.token, &id, &json!({ "action": "acknowledge", "public_note": "Seen." })).await;
    step();
    app.act_ok(&admin.token, &id, &json!({ "action": "assign_crew", "crew": crew.id })).await;
    step();
    app.close(&crew.token, &id, &[photo(1)]).await.expect(200);
    step();
    app.dispute(&resident.token, &id, "Still there.").await.expect(200);
    step();
    app.act_ok(&admin.token, &id, &json!({ "action": "not_responsible", "to_body": "gamgeoba-gldani" })).await;
    step();
    app.act_ok(&admin.token, &id, &json!({ "action": "no_action", "reason": "Private land." })).await;
    // Another report, closed as a duplicate of the first; a third one, hidden.
    let dup = app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "Same rubbish."), &[]).await;
    step();
    app.act_ok(&admin.token, dup["id"].as_str().unwrap(), &json!({ "action": "mark_duplicate", "original": id })).await;
    let hidden = app.submit_ok(&resident.token, &report_json("cleaning", VAKE, "Abusive."), &[]).await;
    let hidden_id = hidden["id"].as_str().unwrap();
    app.act_ok(&admin.token, hidden_id, &json!({ "action": "acknowledge" })).await;
    app.post_json(
        &format!("/api/moderation/reports/{hidden_id}/hide"),
        Some(&moderator.token),
        &json!({ "reason": "Abuse." }),
    )
    .await
    .expect(200);

    let feed = get_both(&app, "/open311/v2/servicerequestupdates", "", "service_request_updates").await;
    let updates = feed.as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = updates
        .iter()
        .map(|u| {
            (
                u["service_request_id"].as_str().unwrap(),
                u["status"].as_str().unwrap(),
                u["external_status_code"].as_str().unwrap(),
            )
        })
        .collect();
    let dup_number = dup["number"].to_string();
    assert_eq!(
        seen,
        [
            (number.as_str(), "INVESTIGATING", "acknowledged"),
            (number.as_str(), "IN_PROGRESS", "in_progress"),
            (number.as_str(), "FIXED", "fixed"),
            (number.as_str(), "OPEN", "reopened"),
            (number.as_str(), "INTERNAL_REFERRAL", "routed"),
            (number.as_str(), "NO_FURTHER_ACTION", "no_action"),
            (dup_number.as_str(), "DUPLICATE", "duplicate"),
        ],
        "oldest first, the hidden report left out: {feed}"
    );
    assert_eq!(updates[0]["description"], "Seen.");
    assert_eq!(updates[3]["description"], "Still there.");
    let ids: BTreeSet<&str> = updates.iter().map(|u| u["update_id"].as_str().expect("a string id")).collect();
    assert_eq!(ids.len(), updates.len(), "update ids are unique");
    let times: Vec<_> = updates.iter().map(|u| instant(&u["updated_datetime"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let proof = updates[2]["media_url"].as_str().expect("the fix carries its proof photo");
    assert_eq!(app.get(proof.strip_prefix(&app.address).unwrap(), None).await.status, 200);
    assert_eq!(updates[0]["media_url"], Value::Null);

    // A window: only the updates inside it (09:35–09:55 Tbilisi time: reopened, re-routed).
    let query = "?start_date=2026-03-10T09:35:00%2B04:00&end_date=2026-03-10T09:55:00%2B04:00";
    let window = get_both(&app, "/open311/v2/servicerequestupdates", query, "service_request_updates").await;
    let statuses: Vec<&str> = window.as_array().unwrap().iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["OPEN", "INTERNAL_REFERRAL"]);
    let paged = app.get("/open311/v2/servicerequestupdates.json?page_size=2&page=2", None).await.json();
    assert_eq!(paged, json!(updates[2..4]));
    names(&get_errors(&app, "/open311/v2/servicerequestupdates.{ext}?end_date=soon", 400).await, "end_date");
}
