//! The staff desk in the browser: the dashboard over a district's or department's reports, the
//! queue as a spreadsheet (CSV that keeps Georgian, quotes and formulas harmless), and what the
//! queue and `me` tell the UI.

use chrono::{DateTime, Duration};
use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{Account, Backend, GLDANI, Reply, TestApp, VAKE, instant, report_json, spawn_app};

smartmap_tests::scenarios!(
    the_dashboard_counts_what_is_in_the_callers_scope,
    the_queue_exports_as_csv_that_spreadsheets_read_safely,
    the_queue_and_me_tell_the_ui_what_it_shows,
);

async fn submit(app: &TestApp, who: &Account, category: &str, at: (f64, f64), description: &str) -> Value {
    app.submit_ok(&who.token, &report_json(category, at, description), &[]).await
}

fn id(report: &Value) -> String {
    report["id"].as_str().unwrap().to_owned()
}

async fn dashboard(app: &TestApp, who: &Account, query: &str) -> Value {
    app.get(&format!("/api/staff/dashboard{query}"), Some(&who.token)).await.expect(200)
}

async fn the_dashboard_counts_what_is_in_the_callers_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let vake = app.make_user(Role::DistrictStaff, Some("vake"), None).await;
    let tbilservice = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;

    let rubbish = submit(&app, &resident, "cleaning", GLDANI, "Rubbish.").await;
    let bench = submit(&app, &resident, "park-benches", GLDANI, "Broken bench.").await;
    let lamp = submit(&app, &resident, "street-lighting", GLDANI, "Lamp out.").await;
    let vake_rubbish = submit(&app, &resident, "cleaning", VAKE, "Rubbish in Vake.").await;
    // The Gldani rubbish is fixed within its deadline.
    app.start_work(&admin, &id(&rubbish), &crew).await;
    app.close(&crew.token, &id(&rubbish), &[photo(1)]).await.expect(200);

    let d = dashboard(&app, &gldani, "").await;
    assert_eq!(d["total"], 3, "{d}");
    assert_eq!((d["by_status"]["fixed"].clone(), d["by_status"]["routed"].clone()), (json!(1), json!(2)));
    assert_eq!(d["by_status"]["reopened"], 0, "every status has a count");
    assert_eq!((d["open"].clone(), d["overdue_count"].clone()), (json!(2), json!(0)));
    assert_eq!(d["on_time_rate"], 1.0);
    assert_eq!(d["overdue"], json!([]));
    assert_eq!(d["truncated"], false);
    let line = |d: &Value, category: &str| {
        d["by_category"].as_array().unwrap().iter().find(|l| l["category"] == category).cloned().unwrap()
    };
    assert_eq!(
        line(&d, "cleaning"),
        json!({ "category": "cleaning", "name": { "ka": "დასუფთავება", "en": "Cleaning" }, "total": 1, "open": 0, "overdue": 0 })
    );
    assert_eq!(line(&d, "trees-greenery")["total"], 0, "every category has a line");
    // Scopes: the department sees its body's reports in every district; Vake only Vake; the
    // admin everything.
    assert_eq!(dashboard(&app, &tbilservice, "").await["total"], 2);
    assert_eq!(dashboard(&app, &vake, "").await["total"], 1);
    assert_eq!(dashboard(&app, &admin, "").await["total"], 4);
    assert_eq!(dashboard(&app, &vake, "").await["on_time_rate"], Value::Null, "nothing closed in Vake");

    // A month later everything open is overdue: most overdue (earliest deadline) first.
    app.advance(Duration::days(30));
    let d = dashboard(&app, &gldani, "").await;
    assert_eq!((d["open"].clone(), d["overdue_count"].clone()), (json!(2), json!(2)));
    let listed: Vec<&str> = d["overdue"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut expected = [&lamp, &bench];
    expected.sort_by_key(|r| instant(&r["deadline"]));
    assert_eq!(listed, expected.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>());
    let first = &d["overdue"][0];
    assert_eq!(first["number"], expected[0]["number"]);
    assert_eq!(first["district"], "gldani");
    assert_eq!(first["body"], expected[0]["body"]["id"]);
    assert_eq!(first["status"], "routed");
    assert_eq!(instant(&first["deadline"]), instant(&expected[0]["deadline"]));
    assert_eq!(line(&d, "street-lighting")["overdue"], 1);
    assert_eq!(dashboard(&app, &tbilservice, "").await["overdue"][0]["id"], vake_rubbish["id"]);

    // A window over creation time.
    let late = submit(&app, &resident, "park-benches", GLDANI, "Another bench.").await;
    let since = (smartmap_tests::start() + Duration::days(1)).to_rfc3339().replace('+', "%2B");
    let d = dashboard(&app, &gldani, &format!("?from={since}")).await;
    assert_eq!((d["total"].clone(), d["by_status"]["routed"].clone()), (json!(1), json!(1)), "{d}");
    assert_eq!(d["overdue_count"], 0, "{} is not due yet", late["id"]);
    let d = dashboard(&app, &gldani, &format!("?to={since}")).await;
    assert_eq!(d["total"], 3);

    // Bad windows name the parameter; residents and crews do not get a dashboard.
    let path = "/api/staff/dashboard?from=yesterday";
    app.get(path, Some(&gldani.token)).await.expect_field_error(422, "from", "invalid_date");
    let path = format!("/api/staff/dashboard?from={since}&to=2026-03-01");
    app.get(&path, Some(&gldani.token)).await.expect_field_error(422, "to", "empty_range");
    app.get("/api/staff/dashboard?district=vake", Some(&gldani.token)).await.expect_field_error(
        422,
        "district",
        "invalid_value",
    );
    for who in [&resident, &crew] {
        app.get("/api/staff/dashboard", Some(&who.token)).await.expect_problem(403, "forbidden");
    }
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, doubled quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "the CSV ends mid-row");
    rows
}

async fn csv(app: &TestApp, who: &Account, query: &str) -> Reply {
    app.get(&format!("/api/staff/queue.csv{query}"), Some(&who.token)).await
}

/// The export as rows, after checking what makes a spreadsheet read it right.
fn rows(reply: &Reply) -> Vec<Vec<String>> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"smartmap-queue-2026-03-10.csv\""),
        "named by the Tbilisi date"
    );
    assert!(reply.body.starts_with("\u{feff}".as_bytes()), "a UTF-8 byte-order mark");
    let text = std::str::from_utf8(&reply.body[3..]).expect("UTF-8");
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\r'), "CRLF line ends");
    parse_csv(text)
}

async fn the_queue_exports_as_csv_that_spreadsheets_read_safely(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let vake = app.make_user(Role::DistrictStaff, Some("vake"), None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;

    let tricky = "=HYPERLINK(\"http://evil.example\",\"click\"), then \"more\"\nსკამი გატეხილია";
    let mut bench = report_json("park-benches", GLDANI, tricky);
    bench["address"] = json!("-1 Rustaveli Ave, Tbilisi");
    let bench = app.submit_ok(&resident.token, &bench, &[]).await;
    let rubbish = submit(&app, &resident, "cleaning", GLDANI, "Rubbish, again.").await;
    let lamp = submit(&app, &resident, "street-lighting", GLDANI, "+ sign first").await;
    submit(&app, &resident, "cleaning", VAKE, "Not in Gldani.").await;
    app.start_work(&gldani, &id(&rubbish), &crew).await;

    let queue = app.get("/api/staff/queue", Some(&gldani.token)).await.expect(200);
    let rows = rows(&csv(&app, &gldani, "").await);
    let header = [
        "number",
        "id",
        "created_at",
        "category",
        "category_name_ka",
        "district",
        "body",
        "status",
        "deadline",
        "overdue",
        "crew",
        "address",
        "description",
    ];
    assert_eq!(rows[0], header);
    let items = queue["items"].as_array().unwrap();
    assert_eq!(rows.len() - 1, items.len(), "one row per queue item");
    for (row, item) in rows[1..].iter().zip(items) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[0], item["number"].to_string());
        assert_eq!(row[1], item["id"].as_str().unwrap(), "the queue's order");
        assert_eq!(DateTime::parse_from_rfc3339(&row[2]).unwrap(), instant(&item["created_at"]));
        assert!(row[2].ends_with("+04:00"), "Tbilisi time: {}", row[2]);
        assert_eq!(row[3], item["category"]["id"].as_str().unwrap());
        assert_eq!(row[4], item["category"]["name"]["ka"].as_str().unwrap());
        assert_eq!(row[5], "gldani");
        assert_eq!(row[6], item["body"]["id"].as_str().unwrap());
        assert_eq!(row[7], item["status"].as_str().unwrap());
        assert_eq!(DateTime::parse_from_rfc3339(&row[8]).unwrap(), instant(&item["deadline"]));
        assert_eq!(row[9], item["overdue"].to_string());
    }
    let row_of = |report: &Value| rows.iter().find(|r| r[1] == report["id"].as_str().unwrap()).unwrap().clone();
    // Quotes, commas, line breaks and Georgian survive; a leading = + - is never a formula.
    assert_eq!(row_of(&bench)[12], format!("'{tricky}"));
    assert_eq!(row_of(&bench)[11], "'-1 Rustaveli Ave, Tbilisi");
    assert_eq!(row_of(&lamp)[12], "'+ sign first");
    assert_eq!(row_of(&rubbish)[12], "Rubbish, again.");
    assert_eq!(row_of(&rubbish)[10], crew.display_name, "the assigned crew by name");
    assert_eq!(row_of(&bench)[10], "");

    // The queue's filters and scope apply.
    let filtered = self::rows(&csv(&app, &gldani, "?category=cleaning&status=in_progress").await);
    assert_eq!(filtered.len(), 2);
    assert_eq!(filtered[1][1], id(&rubbish));
    assert_eq!(self::rows(&csv(&app, &vake, "").await).len(), 2, "Vake's one report");
    csv(&app, &gldani, "?status=lost").await.expect_field_error(422, "status", "unknown_status");
    csv(&app, &gldani, "?page=2").await.expect_field_error(422, "page", "invalid_value");
    csv(&app, &resident, "").await.expect_problem(403, "forbidden");
    app.get("/api/staff/queue.csv", None).await.expect_problem(401, "unauthenticated");
}

async fn the_queue_and_me_tell_the_ui_what_it_shows(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let tbilservice = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let rubbish = submit(&app, &resident, "cleaning", GLDANI, "Rubbish.").await;
    app.start_work(&gldani, &id(&rubbish), &crew).await;

    let queue = app.get("/api/staff/queue", Some(&gldani.token)).await.expect(200);
    let item = &queue["items"][0];
    assert_eq!(item["id"], rubbish["id"]);
    assert_eq!(item["status"], "in_progress");
    assert_eq!(item["category"]["id"], "cleaning");
    assert_eq!(item["district"]["id"], "gldani");
    assert_eq!(item["body"]["id"], "tbilservice");
    assert_eq!(instant(&item["deadline"]), instant(&rubbish["deadline"]));
    assert_eq!(item["overdue"], false);
    assert_eq!(item["crew"], json!(crew.id));
    assert_eq!(item["crew_name"], crew.display_name.as_str());
    assert!(item["seconds_to_deadline"].as_i64().unwrap() > 0);
    let crews = app.get("/api/staff/crews", Some(&tbilservice.token)).await.expect(200);
    assert!(
        crews["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(crew.id) && c["display_name"] == crew.display_name.as_str())
    );

    let me = app.get("/api/me", Some(&gldani.token)).await.expect(200);
    assert_eq!((me["role"].clone(), me["district"].clone()), (json!("district_staff"), json!("gldani")));
    assert_eq!(me["district_name"]["en"], "Gldani");
    assert_eq!(me["body_name"], Value::Null);
    let me = app.get("/api/me", Some(&tbilservice.token)).await.expect(200);
    assert_eq!((me["role"].clone(), me["body"].clone()), (json!("department_staff"), json!("tbilservice")));
    assert!(me["body_name"]["ka"].as_str().is_some_and(|n| !n.is_empty()), "{me}");
}
