//! Who may call what. The route catalogue (`smartmap_server::http::catalog::ROUTES`) declares,
//! for every route, who may call it; this file holds the server to it:
//!
//! - the whole matrix: every catalogued route × every role and anonymous, each with a plausible
//!   request — anonymous on a non-public route gets 401, a role the catalogue does not admit
//!   gets 403, an admitted role gets neither;
//! - the catalogue's gate holds whatever the request carries (every action through the staff
//!   route, an empty body);
//! - scope narrows further: staff act only in their district or department, crews close only
//!   their own tickets, only the reporter disputes;
//! - the router serves exactly the catalogued routes — nothing is served that the catalogue (and
//!   so this matrix and the OpenAPI description) does not know about.

use reqwest::Method;
use serde_json::{Value, json};
use smartmap_server::http::catalog::{Access, ROUTES, RouteDoc};
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{
    Account, Backend, GLDANI, PASSWORD, Reply, TestApp, VAKE, multipart_form, report_json, spawn_app,
};
use std::collections::BTreeSet;

smartmap_tests::scenarios!(
    every_caller_meets_the_access_the_catalogue_declares,
    callers_the_catalogue_does_not_admit_are_refused_whatever_they_send,
    no_action_reaches_a_report_through_the_staff_route_without_a_staff_role,
    scope_narrows_what_staff_crews_and_reporters_may_touch,
    a_session_ends_at_sign_out_and_when_it_expires,
    the_router_serves_exactly_the_catalogued_routes,
);

/// One account per role, and the reports the matrix acts on.
struct World {
    /// One account per role, in [`Role::ALL`] order: a resident (who reported `ticket`), a
    /// Tbilservice crew member (assigned to it), Gldani district staff, Tbilservice department
    /// staff, a moderator, an admin. Every staff account has `ticket` in scope.
    accounts: Vec<Account>,
    /// Rubbish in Gldani, routed to Tbilservice, in progress with the crew member assigned.
    ticket: String,
    /// `<sha256>.jpg` of the ticket's photo.
    photo_file: String,
    /// A report for the moderation routes.
    hideable: String,
}

impl World {
    fn account(&self, role: Role) -> &Account {
        self.accounts.iter().find(|a| a.role == role).expect("an account per role")
    }
}

fn rubbish() -> Value {
    report_json("cleaning", GLDANI, "Rubbish has not been collected.")
}

async fn world(app: &TestApp) -> World {
    let mut accounts = Vec::new();
    for role in Role::ALL {
        let (district, body) = match role {
            Role::FieldCrew | Role::DepartmentStaff => (None, Some("tbilservice")),
            Role::DistrictStaff => (Some("gldani"), None),
            _ => (None, None),
        };
        accounts.push(app.make_user(role, district, body).await);
    }
    let find = |role| accounts.iter().find(|a: &&Account| a.role == role).unwrap().clone();
    let (resident, crew, admin) = (find(Role::Resident), find(Role::FieldCrew), find(Role::Admin));
    let submitted = app.submit_ok(&resident.token, &rubbish(), &[photo(1)]).await;
    assert_eq!(submitted["body"]["id"], "tbilservice");
    let ticket = submitted["id"].as_str().unwrap().to_owned();
    let url = submitted["photos"][0]["url"].as_str().unwrap();
    let photo_file = url.strip_prefix("/media/").unwrap().to_owned();
    app.start_work(&admin, &ticket, &crew).await;
    let hideable = app.submit_ok(&resident.token, &rubbish(), &[]).await["id"].as_str().unwrap().to_owned();
    World { accounts, ticket, photo_file, hideable }
}

/// A new Gldani rubbish report by `reporter`, in progress with the world's crew.
async fn fresh_ticket(app: &TestApp, w: &World, reporter: &Account) -> String {
    let id = app.submit_ok(&reporter.token, &rubbish(), &[]).await["id"].as_str().unwrap().to_owned();
    app.start_work(w.account(Role::Admin), &id, w.account(Role::FieldCrew)).await;
    id
}

fn label(caller: Option<&Account>) -> &'static str {
    caller.map_or("anonymous", |a| a.role.as_str())
}

/// A request a legitimate caller of `route` would send, sent as `caller`. Every catalogued
/// route needs an entry: a new route fails here until it has one.
async fn plausible_call(app: &TestApp, w: &World, route: &RouteDoc, caller: Option<&Account>) -> Reply {
    let token = caller.map(|a| a.token.as_str());
    let admin = w.account(Role::Admin);
    let n = uuid::Uuid::new_v4().simple().to_string();
    match (route.method, route.path) {
        ("GET", "/media/{file}") => app.get(&format!("/media/{}", w.photo_file), token).await,
        ("GET", "/api/reports/{id}") => app.get(&format!("/api/reports/{}", w.ticket), token).await,
        ("GET", "/api/preview") => app.get("/api/preview?category=cleaning&lat=41.8027&lon=44.8291", token).await,
        ("POST" | "DELETE", "/api/reports/{id}/follow") => {
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            app.send(app.request(method, &format!("/api/reports/{}/follow", w.ticket), token)).await
        }
        ("GET", path) if !path.contains('{') => app.get(path, token).await,
        ("GET", "/open311/v2/tokens/{token}") => {
            let posted = open311_post(app, admin).await.expect(200);
            app.get(&format!("/open311/v2/tokens/{}.json", posted[0]["token"].as_str().unwrap()), token).await
        }
        ("GET", path) if path.starts_with("/open311/") => {
            let path = path
                .replace("{format}", "xml")
                .replace("{service_code}", "cleaning.xml")
                .replace("{service_request_id}", &format!("{}.xml", w.ticket));
            app.get(&path, token).await
        }
        ("POST", "/open311/v2/requests.{format}") => open311_post(app, admin).await,
        ("POST", "/api/admin/open311/keys") => {
            let body = json!({ "app_name": format!("App {n}"), "contact_email": "apps@test.smartmap.ge" });
            app.post_json(route.path, token, &body).await
        }
        ("POST", "/api/auth/register") => {
            let body = json!({ "email": format!("new-{n}@test.smartmap.ge"), "password": PASSWORD, "display_name": "New Resident" });
            app.post_json(route.path, token, &body).await
        }
        ("POST", "/api/auth/login") => {
            let body = json!({ "email": w.account(Role::Resident).email, "password": PASSWORD });
            app.post_json(route.path, token, &body).await
        }
        ("POST", "/api/auth/logout") => {
            // A session of its own, so signing out does not end the caller's other calls.
            let throwaway = match caller {
                Some(a) => Some(app.new_session(a.id).await),
                None => None,
            };
            app.send(app.request(Method::POST, route.path, throwaway.as_deref())).await
        }
        ("POST", "/api/reports") => {
            let form = multipart_form(Some(("report", rubbish().to_string().into_bytes())), &[]);
            app.send(app.request(Method::POST, route.path, token).multipart(form)).await
        }
        ("POST", "/api/reports/{id}/dispute") => {
            // The caller's own report, fixed.
            let id = match caller {
                Some(me) => {
                    let id = fresh_ticket(app, w, me).await;
                    app.close(&admin.token, &id, &[photo(2)]).await.expect(200);
                    id
                }
                None => w.ticket.clone(),
            };
            app.post_json(&format!("/api/reports/{id}/dispute"), token, &json!({ "reason": "Still dirty." })).await
        }
        ("POST", "/api/staff/reports/{id}/actions") => {
            let (id, action) = match caller.map(|a| a.role) {
                // A moderator's one action: marking a duplicate.
                Some(Role::Moderator) => {
                    let id = app.submit_ok(&admin.token, &rubbish(), &[]).await["id"].as_str().unwrap().to_owned();
                    (id, json!({ "action": "mark_duplicate", "original": w.ticket }))
                }
                _ => (w.ticket.clone(), json!({ "action": "respond", "public_note": "We are on it." })),
            };
            app.post_json(&format!("/api/staff/reports/{id}/actions"), token, &action).await
        }
        ("POST", "/api/crew/tickets/{id}/close") => {
            let id = match caller {
                Some(_) => fresh_ticket(app, w, w.account(Role::Resident)).await,
                None => w.ticket.clone(),
            };
            let form = multipart_form(Some(("action", br#"{"public_note":"Cleaned."}"#.to_vec())), &[photo(3)]);
            app.send(app.request(Method::POST, &format!("/api/crew/tickets/{id}/close"), token).multipart(form)).await
        }
        ("PUT", "/api/admin/categories/{id}") => {
            let body =
                json!({ "name_ka": "შემოწმება", "name_en": "Check", "sla_amount": 5, "sla_unit": "working_days" });
            app.put_json("/api/admin/categories/matrix-check", token, &body).await
        }
        ("PUT", "/api/admin/sla/{category}/{body}") => {
            let body = json!({ "sla_amount": 2, "sla_unit": "working_days" });
            app.put_json("/api/admin/sla/park-benches/city-hall-environment", token, &body).await
        }
        ("DELETE", "/api/admin/sla/{category}/{body}") => {
            // An override of its own to remove, set by the admin each time.
            let path = "/api/admin/sla/street-lighting/city-hall-environment";
            let body = json!({ "sla_amount": 5, "sla_unit": "working_days" });
            app.put_json(path, Some(&admin.token), &body).await.expect(200);
            app.send(app.request(Method::DELETE, path, token)).await
        }
        ("PUT", "/api/admin/templates/{id}") => {
            let body =
                json!({ "category": "cleaning", "title_ka": "ა", "title_en": "A", "body_ka": "ბ", "body_en": "B" });
            app.put_json("/api/admin/templates/matrix-check", token, &body).await
        }
        ("PUT", "/api/admin/routing-rules") => {
            let rules = json!([
                { "category": "street-lighting", "district": null, "body": "city-hall-infrastructure" },
                { "category": "cleaning", "district": null, "body": "tbilservice" },
                { "category": "trees-greenery", "district": null, "body": "city-hall-environment" },
            ]);
            app.put_json(route.path, token, &rules).await
        }
        ("POST", "/api/admin/users") => {
            let body = json!({ "email": format!("staff-{n}@test.smartmap.ge"), "password": PASSWORD, "display_name": "Vake Staff", "role": "district_staff", "district": "vake" });
            app.post_json(route.path, token, &body).await
        }
        ("POST", "/api/admin/jobs/overdue") => app.send(app.request(Method::POST, route.path, token)).await,
        ("POST", "/api/auth/refresh") => {
            // A device's own sign-in, then its refresh: the refresh token is the credential.
            let device = uuid::Uuid::now_v7();
            let login = json!({ "email": w.account(Role::Resident).email, "password": PASSWORD, "device_id": device });
            let pair = app.post_json("/api/auth/login", None, &login).await.expect(200);
            let body = json!({ "refresh_token": pair["refresh_token"], "device_id": device });
            app.post_json(route.path, token, &body).await
        }
        ("OPTIONS", "/api/uploads") => app.send(app.request(Method::OPTIONS, route.path, token)).await,
        ("POST", "/api/uploads") => {
            let bytes = photo(7);
            let metadata = smartmap_tests::tus::metadata(&bytes, &w.ticket, "report");
            app.tus_create(token.unwrap_or(""), bytes.len(), &metadata).await
        }
        ("HEAD" | "PATCH" | "DELETE", "/api/uploads/{id}") => {
            // The caller's own upload (an anonymous caller names one that does not exist).
            let bytes = photo(8);
            let path = match caller {
                Some(me) => app.tus_upload_path(&me.token, &bytes, &w.ticket, "report").await,
                None => "/api/uploads/00000000000000000000000000000000".to_owned(),
            };
            let token = token.unwrap_or("");
            match route.method {
                "HEAD" => app.tus_head(token, &path).await,
                "PATCH" => app.tus_patch(token, &path, 0, &bytes[..10], None).await,
                _ => app.send(app.request(Method::DELETE, &path, Some(token)).header("Tus-Resumable", "1.0.0")).await,
            }
        }
        ("POST", "/api/moderation/reports/{id}/hide" | "/api/moderation/reports/{id}/unhide") => {
            let path = route.path.replace("{id}", &w.hideable);
            app.post_json(&path, token, &json!({ "reason": "Matrix check." })).await
        }
        ("POST", "/api/sync/push") => {
            // An empty outbox: the push of a phone with nothing queued.
            let body = json!({ "device_id": uuid::Uuid::new_v4(), "mutations": [] });
            app.post_json(route.path, token, &body).await
        }
        (method, path) => panic!("no plausible request for {method} {path}: add one to plausible_call"),
    }
}

/// An Open311 service request posted with a key the admin issues for it (the key, not a
/// session, is what admits a caller).
async fn open311_post(app: &TestApp, admin: &Account) -> Reply {
    let issued = app
        .post_json(
            "/api/admin/open311/keys",
            Some(&admin.token),
            &json!({ "app_name": "Matrix", "contact_email": "apps@test.smartmap.ge" }),
        )
        .await
        .expect(201);
    let key = issued["api_key"].as_str().unwrap();
    let form = format!("api_key={key}&service_code=cleaning&lat=41.8027&long=44.8291&description=Rubbish.");
    let request = app
        .request(Method::POST, "/open311/v2/requests.json", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    app.send(request).await
}

/// What the catalogue says `caller` must get from `route`: `Some(401|403)`, or `None` for
/// "anything but 401 and 403".
fn refusal(route: &RouteDoc, caller: Option<&Account>) -> Option<u16> {
    match (caller, route.access) {
        (None, Access::Public) => None,
        (None, _) => Some(401),
        (Some(a), access) if !access.admits(a.role) => Some(403),
        (Some(_), _) => None,
    }
}

/// Checks `reply` against the catalogue; returns a line describing any mismatch.
fn check(route: &RouteDoc, caller: Option<&Account>, reply: &Reply) -> Option<String> {
    let expected = refusal(route, caller);
    let ok = match expected {
        Some(status) => {
            let code = if status == 401 { "unauthenticated" } else { "forbidden" };
            reply.status == status
                && reply.header("content-type") == Some("application/problem+json")
                && (route.method == "HEAD" || reply.json()["code"] == code)
        }
        None => reply.status != 401 && reply.status != 403,
    };
    let want = expected.map_or("neither 401 nor 403".to_owned(), |s| s.to_string());
    (!ok).then(|| {
        format!(
            "{:<16} {} {} → {} (want {want}): {}",
            label(caller),
            route.method,
            route.path,
            reply.status,
            brief(reply)
        )
    })
}

/// The problem's detail, or the start of the body: enough to see why, short enough to list.
fn brief(reply: &Reply) -> String {
    let detail =
        serde_json::from_slice::<Value>(&reply.body).ok().and_then(|v| v["detail"].as_str().map(str::to_owned));
    detail.unwrap_or_else(|| reply.text().chars().take(160).collect())
}

async fn every_caller_meets_the_access_the_catalogue_declares(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let callers: Vec<Option<&Account>> = std::iter::once(None).chain(w.accounts.iter().map(Some)).collect();
    let mut mismatches = Vec::new();
    for route in ROUTES {
        for &caller in &callers {
            let reply = plausible_call(&app, &w, route, caller).await;
            mismatches.extend(check(route, caller, &reply));
            // Beyond the gate: a plausible request from an admitted caller succeeds outright, so
            // the matrix really reached each handler's own checks.
            if refusal(route, caller).is_none() && reply.status >= 300 {
                mismatches.push(format!(
                    "{:<16} {} {} → {} (want 2xx): {}",
                    label(caller),
                    route.method,
                    route.path,
                    reply.status,
                    brief(&reply)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "the server disagrees with the catalogue:\n{}", mismatches.join("\n"));
}

async fn callers_the_catalogue_does_not_admit_are_refused_whatever_they_send(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let mut mismatches = Vec::new();
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let path = route.path.replace("{id}", &w.ticket);
        let refused: Vec<Option<&Account>> =
            std::iter::once(None).chain(w.accounts.iter().filter(|a| !route.access.admits(a.role)).map(Some)).collect();
        for caller in refused {
            // An empty JSON object: the gate must not depend on what the body says.
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let request = app.request(method, &path, caller.map(|a| a.token.as_str())).json(&json!({}));
            let reply = app.send(request).await;
            mismatches.extend(check(route, caller, &reply));
        }
    }
    assert!(mismatches.is_empty(), "refused only after reading the request:\n{}", mismatches.join("\n"));
}

/// Every action, as sent to `POST /api/staff/reports/{id}/actions`.
fn every_action(w: &World, other: &str) -> Vec<Value> {
    vec![
        json!({ "action": "acknowledge" }),
        json!({ "action": "assign_crew", "crew": w.account(Role::FieldCrew).id }),
        json!({ "action": "not_responsible", "to_body": "city-hall-environment" }),
        json!({ "action": "mark_duplicate", "original": other }),
        json!({ "action": "no_action", "reason": "Not needed." }),
        json!({ "action": "respond", "public_note": "Noted." }),
        json!({ "action": "mark_fixed", "proof_photos": 1 }),
        json!({ "action": "dispute", "reason": "Still dirty." }),
    ]
}

async fn no_action_reaches_a_report_through_the_staff_route_without_a_staff_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let (resident, crew, admin) = (w.account(Role::Resident), w.account(Role::FieldCrew), w.account(Role::Admin));
    // The resident's own fixed report (a dispute would be theirs to make, elsewhere), and the
    // crew's own ticket (a closure would be theirs to make, elsewhere).
    let fixed = fresh_ticket(&app, &w, resident).await;
    app.close(&admin.token, &fixed, &[photo(4)]).await.expect(200);
    let mut mismatches = Vec::new();
    for (who, id) in [(resident, &fixed), (crew, &w.ticket)] {
        for action in every_action(&w, &w.hideable) {
            let before = app.counts().await;
            let reply = app.act(&who.token, id, &action).await;
            let stored = if app.counts().await == before { "" } else { " (and it was stored)" };
            if reply.status != 403 || !stored.is_empty() {
                mismatches.push(format!(
                    "{} {} → {}{stored}: {}",
                    who.role.as_str(),
                    action["action"],
                    reply.status,
                    brief(&reply)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "the staff route served non-staff:\n{}", mismatches.join("\n"));
}

async fn scope_narrows_what_staff_crews_and_reporters_may_touch(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let (resident, crew, gldani, tbilservice, admin) = (
        w.account(Role::Resident),
        w.account(Role::FieldCrew),
        w.account(Role::DistrictStaff),
        w.account(Role::DepartmentStaff),
        w.account(Role::Admin),
    );
    let vake = app.make_user(Role::DistrictStaff, Some("vake"), None).await;
    let other_crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let gldani_crew = app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await;
    let neighbour = app.make_user(Role::Resident, None, None).await;
    let bench = app.submit_ok(&resident.token, &report_json("park-benches", GLDANI, "Broken bench."), &[]).await;
    assert_eq!(bench["body"]["id"], "gamgeoba-gldani");
    let bench = bench["id"].as_str().unwrap().to_owned();
    let vake_bench =
        app.submit_ok(&resident.token, &report_json("park-benches", VAKE, "Broken bench."), &[]).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let before = app.counts().await;

    // District staff of Vake on a Gldani report.
    for action in [json!({ "action": "acknowledge" }), json!({ "action": "respond", "public_note": "Hm." })] {
        let problem = app.act(&vake.token, &bench, &action).await.expect_problem(403, "forbidden");
        assert!(problem["detail"].as_str().unwrap().contains("district"), "{problem}");
    }
    // Tbilservice staff on a report routed to the Gldani administration, and Gldani staff on
    // a report in Vake.
    app.act(&tbilservice.token, &bench, &json!({ "action": "acknowledge" })).await.expect_problem(403, "forbidden");
    app.act(&gldani.token, &vake_bench, &json!({ "action": "acknowledge" })).await.expect_problem(403, "forbidden");
    // Crews close only their own tickets.
    for stranger in [&other_crew, &gldani_crew] {
        app.close(&stranger.token, &w.ticket, &[photo(5)]).await.expect_problem(403, "forbidden");
    }
    // A moderator marks duplicates anywhere, but does not work reports.
    app.act(&w.account(Role::Moderator).token, &bench, &json!({ "action": "acknowledge" }))
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(app.counts().await, before, "refused actions store nothing");

    // Only the reporter disputes.
    app.close(&crew.token, &w.ticket, &[photo(6)]).await.expect(200);
    for stranger in [&neighbour, gldani, admin] {
        app.dispute(&stranger.token, &w.ticket, "Still dirty.").await.expect_problem(403, "forbidden");
    }
    app.dispute(&resident.token, &w.ticket, "Still dirty.").await.expect(200);

    // Queues, tickets, crews and report views follow the same scopes.
    let queue_ids = |reply: Value| -> BTreeSet<String> {
        reply["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    let queue = |who: &Account| {
        let token = who.token.clone();
        let app = &app;
        async move { app.get("/api/staff/queue", Some(&token)).await }
    };
    let gldani_queue = queue_ids(queue(gldani).await.expect(200));
    assert!(gldani_queue.contains(&bench) && gldani_queue.contains(&w.ticket) && !gldani_queue.contains(&vake_bench));
    assert_eq!(queue_ids(queue(&vake).await.expect(200)), BTreeSet::from([vake_bench.clone()]));
    let tbilservice_queue = queue_ids(queue(tbilservice).await.expect(200));
    assert!(tbilservice_queue.contains(&w.ticket) && !tbilservice_queue.contains(&bench));
    let crews = app.get("/api/staff/crews", Some(&tbilservice.token)).await.expect(200);
    assert!(crews["items"].as_array().unwrap().iter().all(|c| c["body"] == "tbilservice"), "{crews}");
    assert_eq!(app.get("/api/crew/tickets", Some(&other_crew.token)).await.expect(200)["items"], json!([]));
    let seen_by_vake = app.get(&format!("/api/reports/{bench}"), Some(&vake.token)).await.expect(200);
    assert_eq!(seen_by_vake.get("reporter"), None, "out-of-scope staff get the public view: {seen_by_vake}");
    let seen_by_gldani = app.get(&format!("/api/reports/{bench}"), Some(&gldani.token)).await.expect(200);
    assert!(seen_by_gldani.get("reporter").is_some(), "in-scope staff get the staff view");
}

async fn a_session_ends_at_sign_out_and_when_it_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let wrong = json!({ "email": resident.email, "password": "not the password" });
    app.post_json("/api/auth/login", None, &wrong).await.expect_field_error(422, "password", "wrong_credentials");

    let token = app.login(&resident.email.to_uppercase(), PASSWORD).await;
    assert_eq!(app.get("/api/me", Some(&token)).await.expect(200)["email"], resident.email.as_str());
    app.send(app.request(Method::POST, "/api/auth/logout", Some(&token))).await.expect(204);
    app.get("/api/me", Some(&token)).await.expect_problem(401, "unauthenticated");
    assert_eq!(app.get("/api/me", Some(&resident.token)).await.status, 200, "other sessions live on");

    // Sessions last 30 days.
    let token = app.login(&resident.email, PASSWORD).await;
    app.advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    app.get("/api/me", Some(&token)).await.expect_problem(401, "unauthenticated");
    app.get("/api/me", Some("not-a-token")).await.expect_problem(401, "unauthenticated");
}

/// The catalogue path with every parameter filled with something well-formed but unknown.
fn concrete(path: &str) -> String {
    path.replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{file}", &format!("{}.jpg", "0".repeat(64)))
        .replace("{format}", "json")
        .replace("{service_code}", "unknown.json")
        .replace("{service_request_id}", "0.json")
        .replace("{token}", "unknown.json")
        .replace("{category}", "cleaning")
        .replace("{body}", "tbilservice")
}

fn is_router_404(reply: &Reply) -> bool {
    reply.status == 404 && reply.json()["detail"] == "route not found"
}

async fn the_router_serves_exactly_the_catalogued_routes(backend: Backend) {
    let app = spawn_app(backend).await;
    // Something made up gets the router's own 404, as problem+json.
    let made_up = app.get("/api/reports/all/of/them", None).await;
    made_up.expect_problem(404, "not_found");
    assert!(is_router_404(&made_up), "{}", made_up.text());

    let catalogued: BTreeSet<(&str, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(catalogued.len(), ROUTES.len(), "a route is catalogued twice");
    let mut problems = Vec::new();
    for path in ROUTES.iter().map(|r| r.path).collect::<BTreeSet<_>>() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let request = app.request(Method::from_bytes(method.as_bytes()).unwrap(), &concrete(path), None);
            let reply = app.send(request).await;
            if catalogued.contains(&(method, path)) {
                // Served: whatever the answer, it is not "no such route".
                if is_router_404(&reply) || reply.status == 405 {
                    problems.push(format!("{method} {path} is catalogued but not routed ({})", reply.status));
                }
            } else if reply.status != 405 || reply.json()["code"] != "method_not_allowed" {
                problems.push(format!(
                    "{method} {path} is routed but not catalogued ({}: {})",
                    reply.status,
                    reply.text()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "router and catalogue disagree:\n{}", problems.join("\n"));
}

/// The routes the server's source declares (`.route("/path", get(..).post(..))` in
/// `sync-server/src/http/` and `sync-server/src/open311/`), as (method, path).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/src");
    let mut found = BTreeSet::new();
    let sources = ["http", "open311"].into_iter().flat_map(|dir| {
        std::fs::read_dir(src.join(dir)).expect("the server's router sources").map(|entry| entry.unwrap().path())
    });
    for path in sources {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in source.split(".route(\"").skip(1) {
            let (route, rest) = call.split_once('"').expect("a closing quote");
            // The handler expression runs to the parenthesis closing `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let handlers = &rest[..end];
            for method in ["get", "head", "options", "post", "put", "patch", "delete"] {
                let called = handlers
                    .match_indices(&format!("{method}("))
                    .any(|(i, _)| i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if called {
                    found.insert((method.to_uppercase(), route.to_owned()));
                }
            }
        }
    }
    found
}

/// A route added to a router but not to the catalogue would be served undocumented and
/// untested by the matrix above; the HTML front page is the one route outside the API.
#[test]
fn every_route_in_the_server_source_is_catalogued() {
    let in_source = routes_in_source();
    assert!(in_source.len() >= 20, "the scan found too little: {in_source:?}");
    let catalogued: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let front_page = ("GET".to_owned(), "/".to_owned());
    let uncatalogued: Vec<_> = in_source.iter().filter(|r| !catalogued.contains(*r) && **r != front_page).collect();
    assert!(uncatalogued.is_empty(), "routed but not in catalog::ROUTES: {uncatalogued:?}");
    let unrouted: Vec<_> = catalogued.iter().filter(|r| !in_source.contains(*r)).collect();
    assert!(unrouted.is_empty(), "in catalog::ROUTES but in no router: {unrouted:?}");
}
