//! Deadlines that pass: a report still open after its deadline is flagged overdue — on the public
//! report, the map and the staff queue — and escalated once, by e-mail in the outbox, to the head
//! of the responsible body and to the administration of the district it lies in. Re-routing
//! restarts the clock (and a later lapse escalates again). Public statistics then show how often
//! each body answers on time and how long fixes take.

use chrono::Duration;
use serde_json::{Value, json};
use smartmap_server::jobs::sweep_overdue;
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{Backend, GLDANI, TestApp, VAKE, instant, report_json, spawn_app, tbilisi};

smartmap_tests::scenarios!(
    an_overdue_report_is_flagged_and_escalated_once,
    a_re_routed_report_gets_a_fresh_clock_and_a_fresh_escalation,
    statistics_show_the_on_time_rate_and_the_median_time_to_fix,
);

const TBILSERVICE_HEAD: &str = "head@tbilservice.example.ge";
const GLDANI_HEAD: &str = "gamgebeli@gldani.example.ge";
const VAKE_HEAD: &str = "gamgebeli@vake.example.ge";

async fn outbox(app: &TestApp, admin_token: &str) -> Vec<Value> {
    app.get("/api/admin/outbox", Some(admin_token)).await.expect(200)["items"].as_array().expect("items").clone()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().expect("items").iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

async fn an_overdue_report_is_flagged_and_escalated_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_head_email("tbilservice", TBILSERVICE_HEAD).await;
    app.set_head_email("gamgeoba-gldani", GLDANI_HEAD).await;
    app.set_head_email("gamgeoba-vake", VAKE_HEAD).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let tbilservice = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let admin = app.make_user(Role::Admin, None, None).await;

    // Tuesday 09:00: rubbish in Gldani (Tbilservice's, 24 working hours) and a bench in Vake.
    let rubbish = app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "Rubbish not collected."), &[]).await;
    assert_eq!(rubbish["body"]["id"], "tbilservice");
    // 9 working hours on Tuesday, 9 on Wednesday, the last 6 on Thursday: 15:00.
    assert_eq!(instant(&rubbish["deadline"]), tbilisi(2026, 3, 12, 15, 0));
    let rubbish = rubbish["id"].as_str().unwrap().to_owned();
    let bench = app.submit_ok(&resident.token, &report_json("park-benches", VAKE, "Broken bench."), &[]).await;
    let bench = bench["id"].as_str().unwrap().to_owned();

    // At the deadline itself the report is not late yet.
    app.clock.set(tbilisi(2026, 3, 12, 15, 0));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 0);
    assert_eq!(app.public_report(&rubbish).await["overdue"], false);

    // A minute later it is.
    app.advance(Duration::minutes(1));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 1);
    let public = app.public_report(&rubbish).await;
    assert_eq!(public["overdue"], true);
    assert_eq!(public["status"], "routed", "being late is a flag, not a status");
    assert_eq!(public["timeline"].as_array().unwrap().last().unwrap()["action"], "overdue");
    assert_eq!(app.public_report(&bench).await["overdue"], false);
    let map = app.get("/api/map/reports", None).await.expect(200);
    let feature =
        map["features"].as_array().unwrap().iter().find(|f| f["id"] == rubbish.as_str()).expect("on the map").clone();
    assert_eq!(feature["properties"]["overdue"], true);

    // Both the body and the district see it among their overdue work; the bench is not there.
    for staff in [&tbilservice, &gldani] {
        let late = app.get("/api/staff/queue?overdue=true", Some(&staff.token)).await.expect(200);
        assert_eq!(ids(&late), [rubbish.as_str()], "{:?} queue", staff.role);
        assert_eq!(late["items"][0]["overdue"], true);
    }
    let admin_queue = app.get("/api/staff/queue?overdue=true", Some(&admin.token)).await.expect(200);
    assert_eq!(ids(&admin_queue), [rubbish.as_str()]);

    // One escalation to Tbilservice's head and one to the Gldani administration's.
    let sent = outbox(&app, &admin.token).await;
    let mut recipients: Vec<&str> = sent.iter().map(|n| n["recipient"].as_str().unwrap()).collect();
    recipients.sort();
    assert_eq!(recipients, [GLDANI_HEAD, TBILSERVICE_HEAD], "outbox: {sent:?}");
    let number = app.public_report(&rubbish).await["number"].to_string();
    for n in &sent {
        assert_eq!(n["kind"], "overdue_escalation");
        assert_eq!(n["report"], rubbish.as_str());
        // Georgian first, English second, both naming the report.
        let subject = n["subject"].as_str().unwrap();
        assert!(
            subject.starts_with(&format!("ვადაგადაცილებულია: შეტყობინება #{number} / Overdue: report #{number}")),
            "{subject}"
        );
        assert!(n["body"].as_str().unwrap().contains("Tbilservice"), "{n}");
    }

    // Sweeping again finds nothing new and sends nothing twice, by hand or over HTTP.
    app.advance(Duration::hours(5));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 0);
    let ran = app.post_json("/api/admin/jobs/overdue", Some(&admin.token), &json!({})).await.expect(200);
    assert_eq!(ran["flagged"], 0);
    assert_eq!(outbox(&app, &admin.token).await.len(), 2);
    let events = app.public_report(&rubbish).await["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "overdue")
        .count();
    assert_eq!(events, 1, "flagged once");
}

async fn a_re_routed_report_gets_a_fresh_clock_and_a_fresh_escalation(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_head_email("gamgeoba-gldani", GLDANI_HEAD).await;
    app.set_head_email("tbilservice", TBILSERVICE_HEAD).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let id = app.submit_ok(&resident.token, &report_json("park-benches", GLDANI, "Broken bench."), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Wednesday 25 March, a day after the deadline: flagged, and Gldani's head is told (once:
    // the body and the district administration are the same).
    app.clock.set(tbilisi(2026, 3, 25, 10, 0));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 1);
    let sent = outbox(&app, &admin.token).await;
    assert_eq!(sent.iter().map(|n| n["recipient"].as_str().unwrap()).collect::<Vec<_>>(), [GLDANI_HEAD]);

    // Gldani passes it to Tbilservice: the new owner is told, and has a fresh deadline.
    let moved = app.act_ok(&gldani.token, &id, &json!({ "action": "not_responsible", "to_body": "tbilservice" })).await;
    assert_eq!(moved["overdue"], false, "the clock restarted");
    // From Wednesday 25 March: 26, 27, 30, 31 March, 1, 2, 3 April; 6, 7, 8 April (Good Friday
    // 10 April and Easter Monday are later).
    assert_eq!(instant(&moved["deadline"]), tbilisi(2026, 4, 8, 18, 0));
    let sent = outbox(&app, &admin.token).await;
    assert!(
        sent.iter().any(|n| n["kind"] == "rerouted_to_you" && n["recipient"] == TBILSERVICE_HEAD),
        "outbox: {sent:?}"
    );

    // Nothing is late before the new deadline; after it, the new owner is escalated to.
    app.clock.set(tbilisi(2026, 4, 8, 17, 0));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 0);
    app.clock.set(tbilisi(2026, 4, 9, 9, 0));
    assert_eq!(sweep_overdue(&app.state).await.unwrap(), 1);
    let mut escalations: Vec<String> = outbox(&app, &admin.token)
        .await
        .iter()
        .filter(|n| n["kind"] == "overdue_escalation")
        .map(|n| n["recipient"].as_str().unwrap().to_owned())
        .collect();
    escalations.sort();
    assert_eq!(escalations, [GLDANI_HEAD, GLDANI_HEAD, TBILSERVICE_HEAD], "the district hears of each lapse");
    assert_eq!(app.public_report(&id).await["overdue"], true);
}

async fn statistics_show_the_on_time_rate_and_the_median_time_to_fix(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await;
    let submit = |d: &'static str| async {
        app.submit_ok(&resident.token, &report_json("park-benches", GLDANI, d), &[]).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let quick = submit("Bench one.").await;
    let slow = submit("Bench two.").await;
    let _open = submit("Bench three.").await;
    app.start_work(&admin, &quick, &crew).await;
    app.start_work(&admin, &slow, &crew).await;

    // The first is fixed 26 hours later (on time); the second 17 days later, past its
    // 24 March deadline; the third is still open, and late.
    app.advance(Duration::hours(26));
    app.close(&crew.token, &quick, &[photo(1)]).await.expect(200);
    app.clock.set(tbilisi(2026, 3, 27, 9, 0));
    app.close(&crew.token, &slow, &[photo(2)]).await.expect(200);

    let stats = app.get("/api/stats", None).await.expect(200);
    let row = stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["body"] == "gamgeoba-gldani" && r["category"] == "park-benches")
        .unwrap_or_else(|| panic!("no Gldani benches row: {stats}"))
        .clone();
    let count = |k: &str| row[k].as_u64().unwrap_or_else(|| panic!("{k} in {row}"));
    assert_eq!((count("total"), count("open"), count("open_overdue")), (3, 1, 1), "{row}");
    assert_eq!((count("closed"), count("closed_on_time"), count("fixed")), (2, 1, 2), "{row}");
    assert_eq!(row["on_time_rate"].as_f64(), Some(0.5));
    // Median of 26 h and 17 × 24 = 408 h.
    assert_eq!(row["median_hours_to_fix"].as_f64(), Some(217.0));
}
