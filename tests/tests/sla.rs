//! Deadlines are data, per category and per body: an admin says "cleaning routed to Tbilservice
//! has 2 working days" (cleaning's own deadline is 24 working hours). Reports routed to
//! Tbilservice from then on are due under that rule; reports of the category routed (or
//! re-routed) elsewhere keep the category's deadline; a dispute restarts the clock under the
//! owner's rule. Removing the rule restores the default for new reports and leaves running
//! deadlines alone. The rules are public; only admins change them.
//!
//! Every clock starts on Tuesday 10 March 2026, 09:00 in Tbilisi; working hours are 09:00–18:00
//! and there is no holiday before Easter (10–13 April).

use reqwest::Method;
use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{Account, Backend, GLDANI, Reply, TestApp, instant, report_json, spawn_app, tbilisi};

smartmap_tests::scenarios!(
    a_body_s_own_deadline_for_a_category_applies_to_reports_routed_to_it,
    re_routing_and_disputes_restart_the_clock_under_the_owner_s_deadline,
    removing_a_body_s_deadline_restores_the_default_for_new_reports_only,
    bad_deadline_rules_are_refused_naming_the_field,
    only_admins_change_deadline_rules,
);

const CLEANING_AT_TBILSERVICE: &str = "/api/admin/sla/cleaning/tbilservice";

fn two_working_days() -> Value {
    json!({ "sla_amount": 2, "sla_unit": "working_days" })
}

async fn delete(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    app.send(app.request(Method::DELETE, path, token)).await
}

/// A new cleaning report in Gldani (routed to Tbilservice by the default rules).
async fn rubbish(app: &TestApp, resident: &Account) -> Value {
    let submitted =
        app.submit_ok(&resident.token, &report_json("cleaning", GLDANI, "Rubbish not collected."), &[]).await;
    assert_eq!(submitted["body"]["id"], "tbilservice");
    submitted
}

fn id(report: &Value) -> String {
    report["id"].as_str().expect("an id").to_owned()
}

/// The public list of deadline rules.
async fn rules(app: &TestApp) -> Value {
    app.get("/api/sla", None).await.expect(200)
}

async fn a_body_s_own_deadline_for_a_category_applies_to_reports_routed_to_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let resident = app.make_user(Role::Resident, None, None).await;

    let set = app.put_json(CLEANING_AT_TBILSERVICE, Some(&admin.token), &two_working_days()).await.expect(200);
    assert_eq!(
        set,
        json!({ "category": "cleaning", "body": "tbilservice", "sla": { "amount": 2, "unit": "working_days" } })
    );

    // Anyone may read the rules: every category's default and the override.
    let listed = rules(&app).await;
    let cleaning = listed["defaults"].as_array().unwrap().iter().find(|d| d["category"] == "cleaning").unwrap();
    assert_eq!(cleaning["sla"], json!({ "amount": 24, "unit": "working_hours" }), "the default stays: {listed}");
    assert_eq!(listed["defaults"].as_array().unwrap().len(), 4, "{listed}");
    assert_eq!(listed["overrides"], json!([set]));

    // Tuesday 09:00: the day of arrival never counts; Wednesday 11 and Thursday 12 March are the
    // two working days, so it is due at Thursday's closing time (under the default, 24 working
    // hours, it would have been Thursday 15:00).
    let report = rubbish(&app, &resident).await;
    assert_eq!(instant(&report["deadline"]), tbilisi(2026, 3, 12, 18, 0));
    assert_eq!(instant(&app.public_report(&id(&report)).await["deadline"]), tbilisi(2026, 3, 12, 18, 0));

    // Another category routed to another body keeps its own deadline: a Gldani bench, ten
    // working days (11–13, 16–20, 23, 24 March).
    let bench = app.submit_ok(&resident.token, &report_json("park-benches", GLDANI, "Broken bench."), &[]).await;
    assert_eq!(bench["body"]["id"], "gamgeoba-gldani");
    assert_eq!(instant(&bench["deadline"]), tbilisi(2026, 3, 24, 18, 0));

    // Setting the pair again replaces its rule.
    let hours = json!({ "sla_amount": 4, "sla_unit": "working_hours" });
    app.put_json(CLEANING_AT_TBILSERVICE, Some(&admin.token), &hours).await.expect(200);
    assert_eq!(rules(&app).await["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(instant(&rubbish(&app, &resident).await["deadline"]), tbilisi(2026, 3, 10, 13, 0));
}

async fn re_routing_and_disputes_restart_the_clock_under_the_owner_s_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    app.put_json(CLEANING_AT_TBILSERVICE, Some(&admin.token), &two_working_days()).await.expect(200);
    let report = id(&rubbish(&app, &resident).await);

    // Wednesday 10:00, Tbilservice is not responsible: the Gldani administration has no rule of
    // its own, so cleaning's 24 working hours run from now — 8 on Wednesday, 9 on Thursday, the
    // last 7 on Friday: 16:00.
    app.clock.set(tbilisi(2026, 3, 11, 10, 0));
    let to_gldani = json!({ "action": "not_responsible", "to_body": "gamgeoba-gldani" });
    let moved = app.act_ok(&admin.token, &report, &to_gldani).await;
    assert_eq!(moved["body"]["id"], "gamgeoba-gldani", "{moved}");
    assert_eq!(instant(&moved["deadline"]), tbilisi(2026, 3, 13, 16, 0));

    // Wednesday 11:00, sent back: Tbilservice's two working days run from now (Thursday, Friday).
    app.clock.set(tbilisi(2026, 3, 11, 11, 0));
    let to_tbilservice = json!({ "action": "not_responsible", "to_body": "tbilservice" });
    let back = app.act_ok(&admin.token, &report, &to_tbilservice).await;
    assert_eq!(instant(&back["deadline"]), tbilisi(2026, 3, 13, 18, 0));

    // Fixed on Thursday, disputed at 11:00: two working days again (Friday 13, Monday 16 March).
    app.clock.set(tbilisi(2026, 3, 12, 10, 0));
    app.start_work(&admin, &report, &crew).await;
    app.close(&crew.token, &report, &[photo(1)]).await.expect(200);
    app.clock.set(tbilisi(2026, 3, 12, 11, 0));
    let disputed = app.dispute(&resident.token, &report, "Still dirty.").await.expect(200);
    assert_eq!(disputed["status"], "reopened", "{disputed}");
    assert_eq!(instant(&disputed["deadline"]), tbilisi(2026, 3, 16, 18, 0));
}

async fn removing_a_body_s_deadline_restores_the_default_for_new_reports_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    app.put_json(CLEANING_AT_TBILSERVICE, Some(&admin.token), &two_working_days()).await.expect(200);
    let earlier = id(&rubbish(&app, &resident).await);

    assert_eq!(delete(&app, CLEANING_AT_TBILSERVICE, Some(&admin.token)).await.expect(204), Value::Null);
    assert_eq!(rules(&app).await["overrides"], json!([]));
    // Gone is gone: nothing to remove twice, nor for a pair that never had a rule.
    delete(&app, CLEANING_AT_TBILSERVICE, Some(&admin.token)).await.expect_problem(404, "not_found");
    delete(&app, "/api/admin/sla/park-benches/tbilservice", Some(&admin.token)).await.expect_problem(404, "not_found");
    delete(&app, "/api/admin/sla/cleaning/Not-A-Body", Some(&admin.token)).await.expect_problem(404, "not_found");

    // A new report gets cleaning's own 24 working hours: Thursday 15:00.
    let later = rubbish(&app, &resident).await;
    assert_eq!(instant(&later["deadline"]), tbilisi(2026, 3, 12, 15, 0));
    // The earlier report keeps the deadline it was given.
    assert_eq!(instant(&app.public_report(&earlier).await["deadline"]), tbilisi(2026, 3, 12, 18, 0));
}

async fn bad_deadline_rules_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let token = Some(admin.token.as_str());
    let put = |path: &'static str, body: Value| {
        let app = &app;
        async move { app.put_json(path, token, &body).await }
    };

    let zero = json!({ "sla_amount": 0, "sla_unit": "working_days" });
    put(CLEANING_AT_TBILSERVICE, zero).await.expect_field_error(422, "sla_amount", "out_of_range");
    let too_long = json!({ "sla_amount": 366, "sla_unit": "working_days" });
    put(CLEANING_AT_TBILSERVICE, too_long).await.expect_field_error(422, "sla_amount", "out_of_range");
    let weeks = json!({ "sla_amount": 2, "sla_unit": "weeks" });
    put(CLEANING_AT_TBILSERVICE, weeks).await.expect_field_error(422, "sla_unit", "invalid_value");
    put(CLEANING_AT_TBILSERVICE, json!({ "sla_amount": 2 })).await.expect_field_error(422, "sla_unit", "invalid_value");
    let negative = json!({ "sla_amount": -1, "sla_unit": "working_days" });
    put(CLEANING_AT_TBILSERVICE, negative).await.expect_field_error(422, "sla_amount", "invalid_value");

    put("/api/admin/sla/cleaning/nobody", two_working_days()).await.expect_field_error(422, "body", "unknown_body");
    put("/api/admin/sla/cleaning/Tbilservice", two_working_days()).await.expect_field_error(
        422,
        "body",
        "unknown_body",
    );
    put("/api/admin/sla/potholes/tbilservice", two_working_days()).await.expect_field_error(
        422,
        "category",
        "unknown_category",
    );
    // Every problem is named at once.
    let all_wrong = put("/api/admin/sla/potholes/nobody", json!({ "sla_amount": 0, "sla_unit": "working_days" }))
        .await
        .expect_field_error(422, "sla_amount", "out_of_range");
    let fields: Vec<&str> =
        all_wrong["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["category", "body", "sla_amount"], "{all_wrong}");

    assert_eq!(rules(&app).await["overrides"], json!([]), "nothing was stored");
}

async fn only_admins_change_deadline_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let others = [
        app.make_user(Role::Resident, None, None).await,
        app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await,
        app.make_user(Role::DistrictStaff, Some("gldani"), None).await,
        app.make_user(Role::Moderator, None, None).await,
    ];
    app.put_json(CLEANING_AT_TBILSERVICE, Some(&admin.token), &two_working_days()).await.expect(200);
    let mine = json!({ "sla_amount": 365, "sla_unit": "working_days" });
    for who in &others {
        app.put_json(CLEANING_AT_TBILSERVICE, Some(&who.token), &mine).await.expect_problem(403, "forbidden");
        delete(&app, CLEANING_AT_TBILSERVICE, Some(&who.token)).await.expect_problem(403, "forbidden");
    }
    app.put_json(CLEANING_AT_TBILSERVICE, None, &mine).await.expect_problem(401, "unauthenticated");
    delete(&app, CLEANING_AT_TBILSERVICE, None).await.expect_problem(401, "unauthenticated");

    let listed = rules(&app).await;
    assert_eq!(listed["overrides"][0]["sla"], json!({ "amount": 2, "unit": "working_days" }), "{listed}");
}
