//! What people do to reports after submission: staff acknowledge, assign, re-route, respond and
//! close; crews close with proof; reporters dispute; moderators hide. Each action is checked in
//! three steps — may this role ever do it, is this report inside the actor's scope, does the state
//! machine allow it now — and then stored with its timeline entry in one transaction.

use super::photos;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{
    EventRecord, Notification, PhotoKind, ReportChange, ReportRecord, StoredOutcome, SyncEffects, UserRecord,
};
use bytes::Bytes;
use serde::Deserialize;
use smartmap_shared::ids::{BodyId, ReportId, UserId};
use smartmap_shared::report::{Action, ReportStatus, TransitionContext, transition};
use smartmap_shared::role::{Role, Scope};
use smartmap_shared::sla::sla_deadline;

/// An action with the notes every transition may carry.
#[derive(Debug)]
pub struct ActionRequest {
    /// What to do.
    pub action: Action,
    /// A note the public sees on the timeline.
    pub public_note: Option<String>,
    /// A note only staff see.
    pub internal_note: Option<String>,
    /// A response template whose text becomes the public note.
    pub template: Option<String>,
}

/// An action as staff send it: flat JSON, `{"action": "assign_crew", "crew": "…", "public_note":
/// "…"}`. Every field is named; unknown ones are refused, and so are fields the chosen action does
/// not use, so a misspelt note is never silently dropped.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionForm {
    /// The action's wire name.
    pub action: String,
    /// For `assign_crew`.
    pub crew: Option<uuid::Uuid>,
    /// For `not_responsible`.
    pub to_body: Option<String>,
    /// For `mark_duplicate`.
    pub original: Option<uuid::Uuid>,
    /// For `no_action` and `dispute`.
    pub reason: Option<String>,
    /// A note the public sees.
    pub public_note: Option<String>,
    /// A note only staff see.
    pub internal_note: Option<String>,
    /// A response template id.
    pub template: Option<String>,
}

impl TryFrom<ActionForm> for ActionRequest {
    type Error = ApiError;

    fn try_from(f: ActionForm) -> Result<Self, ApiError> {
        let required =
            |field: &'static str| ApiError::field(field, "required", format!("'{}' needs '{field}'", f.action));
        let action = match f.action.as_str() {
            "acknowledge" => Action::Acknowledge,
            "respond" => Action::Respond,
            "assign_crew" => Action::AssignCrew { crew: UserId(f.crew.ok_or_else(|| required("crew"))?) },
            "not_responsible" => {
                let raw = f.to_body.clone().ok_or_else(|| required("to_body"))?;
                let to_body = BodyId::parse(raw.clone())
                    .map_err(|_| ApiError::field("to_body", "unknown_body", format!("there is no body '{raw}'")))?;
                Action::NotResponsible { to_body }
            }
            "mark_duplicate" => {
                Action::MarkDuplicate { original: ReportId(f.original.ok_or_else(|| required("original"))?) }
            }
            "no_action" => Action::NoAction { reason: f.reason.clone().ok_or_else(|| required("reason"))? },
            "dispute" => Action::Dispute { reason: f.reason.clone().ok_or_else(|| required("reason"))? },
            "mark_fixed" => Action::MarkFixed { proof_photos: 0 },
            other => {
                return Err(ApiError::field(
                    "action",
                    "unknown_action",
                    format!(
                        "there is no action '{other}'; use acknowledge, assign_crew, not_responsible, mark_duplicate, no_action or respond"
                    ),
                ));
            }
        };
        let uses = |field: &str| match field {
            "crew" => matches!(action, Action::AssignCrew { .. }),
            "to_body" => matches!(action, Action::NotResponsible { .. }),
            "original" => matches!(action, Action::MarkDuplicate { .. }),
            "reason" => matches!(action, Action::NoAction { .. } | Action::Dispute { .. }),
            _ => true,
        };
        let given = [
            ("crew", f.crew.is_some()),
            ("to_body", f.to_body.is_some()),
            ("original", f.original.is_some()),
            ("reason", f.reason.is_some()),
        ];
        if let Some((field, _)) = given.into_iter().find(|(field, present)| *present && !uses(field)) {
            return Err(ApiError::field(field, "not_used", format!("'{}' does not take '{field}'", f.action)));
        }
        Ok(ActionRequest { action, public_note: f.public_note, internal_note: f.internal_note, template: f.template })
    }
}

const MAX_NOTE_CHARS: usize = 5_000;

/// The actor's scope, from their account.
pub fn scope_of(user: &UserRecord) -> Scope {
    Scope { role: user.role, district: user.district.clone(), body: user.body.clone() }
}

/// Applies `request` to report `id` on behalf of `actor`. `proof` are photos uploaded with a
/// fixed-closure.
pub async fn act(
    state: &AppState,
    actor: &UserRecord,
    id: ReportId,
    request: ActionRequest,
    proof: Vec<Bytes>,
) -> ApiResult<ReportRecord> {
    act_with(state, actor, id, request, proof, SyncEffects::default()).await
}

/// [`act`] for a mutation pushed from a phone: `sync` (the `applied_mutations` row, promised
/// proof photos) is stored in the same transaction as the change. A fixed-closure counts the
/// promised proof photos with the uploaded ones: the report becomes fixed with its proof pending.
#[tracing::instrument(skip_all, fields(report = %id, action = request.action.kind(), actor = %actor.id), err(Debug))]
pub async fn act_with(
    state: &AppState,
    actor: &UserRecord,
    id: ReportId,
    mut request: ActionRequest,
    proof: Vec<Bytes>,
    mut sync: SyncEffects,
) -> ApiResult<ReportRecord> {
    let report = state.storage.report(id).await?.ok_or(ApiError::NotFound("report"))?;
    if let Action::MarkFixed { proof_photos } = &mut request.action {
        // The server counts the photos it actually received or has been promised; a client's
        // claim means nothing.
        let promised = sync.expected_photos.iter().filter(|p| p.kind == PhotoKind::Proof).count();
        *proof_photos = (proof.len() + promised) as u32;
    }
    authorize(actor, &report, &request.action)?;
    let reference = state.reference();
    let now = state.clock.now();
    let public_note = resolve_public_note(state, &report, &mut request).await?;
    let internal_note = clean_note("internal_note", request.internal_note.take())?;

    // Checks that need stored data: the crew, the target body, the original report.
    let mut data = serde_json::json!({});
    match &request.action {
        Action::AssignCrew { crew } => {
            let member = state.storage.user(*crew).await?;
            let ok = member.as_ref().is_some_and(|m| m.role == Role::FieldCrew && m.body == report.body);
            if !ok {
                return Err(ApiError::field(
                    "crew",
                    "not_a_crew_of_this_body",
                    "pick a field crew of the body this report is routed to",
                ));
            }
            data = serde_json::json!({ "crew": crew });
        }
        Action::NotResponsible { to_body } if reference.body(to_body).is_none() => {
            return Err(ApiError::field("to_body", "unknown_body", format!("there is no body '{to_body}'")));
        }
        Action::MarkDuplicate { original } => {
            let Some(orig) = state.storage.report(*original).await? else {
                return Err(ApiError::field("original", "unknown_report", "there is no such report"));
            };
            if let Some(root) = orig.duplicate_of {
                return Err(ApiError::field(
                    "original",
                    "original_is_duplicate",
                    format!("report #{} is itself a duplicate of {root}; link to that one", orig.number),
                ));
            }
            data = serde_json::json!({ "original": original, "original_number": orig.number });
        }
        _ => {}
    }

    let ctx = TransitionContext {
        report: report.id,
        body: report.body.clone(),
        closed_at: report.closed_at,
        dispute_window: chrono::Duration::days(state.settings.dispute_window_days),
        now,
    };
    let to = transition(report.status, &request.action, &ctx)?;
    let photos = match request.action {
        Action::MarkFixed { .. } => photos::intake(state, proof, PhotoKind::Proof).await?,
        _ if !proof.is_empty() => {
            return Err(ApiError::field("photos", "photos_not_expected", "photos go only with a fixed-closure"));
        }
        _ => Vec::new(),
    };

    let mut next = ReportRecord { status: to, updated_at: now, ..report.clone() };
    let mut notifications = Vec::new();
    let restart_clock = |next: &mut ReportRecord| {
        // A new owner or a reopened case gets a fresh deadline from now, under the rule of the
        // body that owns it now (its override for the category, else the category's deadline).
        let sla = match &next.body {
            Some(body) => reference.sla_for(&next.category, body),
            None => reference.category(&next.category).map(|c| c.sla),
        };
        next.routed_at = Some(now);
        next.deadline = sla.map(|sla| sla_deadline(&reference.calendar, now, sla));
        next.overdue_at = None;
        next.crew = None;
    };
    match &request.action {
        Action::AssignCrew { crew } => next.crew = Some(*crew),
        Action::MarkFixed { .. } | Action::NoAction { .. } => next.closed_at = Some(now),
        Action::MarkDuplicate { original } => {
            next.closed_at = Some(now);
            next.duplicate_of = Some(*original);
        }
        Action::NotResponsible { to_body } => {
            next.body = Some(to_body.clone());
            restart_clock(&mut next);
            data = serde_json::json!({ "from_body": report.body, "body": to_body, "deadline": next.deadline });
            if let Some(email) = reference.body(to_body).and_then(|b| b.head_email.clone()) {
                notifications.push(Notification {
                    kind: "rerouted_to_you".into(),
                    recipient: email,
                    // Georgian first, English second, until the mailer brings per-recipient language.
                    subject: format!(
                        "შეტყობინება #{0} გადმოგეგზავნათ / Report #{0} was re-routed to you",
                        report.number
                    ),
                    body: format!(
                        "შეტყობინება #{0} ახლა თქვენია; ვადა: {1}.\nReport #{0} is now yours; it is due {1}.",
                        report.number,
                        fmt_deadline(next.deadline)
                    ),
                    report: Some(report.id),
                    created_at: now,
                });
            }
        }
        Action::Dispute { .. } => {
            next.closed_at = None;
            restart_clock(&mut next);
            data = serde_json::json!({ "deadline": next.deadline });
            if let Some(email) = next.body.as_ref().and_then(|b| reference.body(b)).and_then(|b| b.head_email.clone()) {
                notifications.push(Notification {
                    kind: "closure_disputed".into(),
                    recipient: email,
                    subject: format!(
                        "შეტყობინება #{0}-ის დახურვა გასაჩივრდა / The closure of report #{0} was disputed",
                        report.number
                    ),
                    body: format!(
                        "განმცხადებელი არ ეთანხმება შეტყობინება #{0}-ის დახურვას; ახალი ვადა: {1}.\n\
                         The reporter disputes the closure of report #{0}; it is due again {1}.",
                        report.number,
                        fmt_deadline(next.deadline)
                    ),
                    report: Some(report.id),
                    created_at: now,
                });
            }
        }
        _ => {}
    }
    let public_note = match &request.action {
        Action::NoAction { reason } | Action::Dispute { reason } => clean_note("reason", Some(reason.clone()))?,
        _ => public_note,
    };
    if let Some(template) = &request.template {
        data["template"] = serde_json::json!(template);
    }
    let event = EventRecord {
        at: now,
        actor: Some(actor.id),
        actor_role: Some(actor.role),
        action: request.action.kind().into(),
        from_status: Some(report.status),
        to_status: to,
        public_note,
        internal_note,
        data,
    };
    if let Some(m) = &mut sync.mutation {
        m.outcome = StoredOutcome::Applied(crate::sync::push::report_result(report.id, to));
    }
    let change = ReportChange { report: next, event, photos, notifications, sync };
    Ok(state.storage.apply_change(&change).await?)
}

/// Hides a report from the public map (abusive content, personal data in the photo) or shows it
/// again. Only moderators and admins; the report and its timeline are kept.
#[tracing::instrument(skip_all, fields(report = %id, hidden), err(Debug))]
pub async fn set_hidden(
    state: &AppState,
    actor: &UserRecord,
    id: ReportId,
    hidden: bool,
    reason: String,
) -> ApiResult<ReportRecord> {
    if !matches!(actor.role, Role::Moderator | Role::Admin) {
        return Err(ApiError::Forbidden("only moderators hide reports".into()));
    }
    let reason =
        clean_note("reason", Some(reason))?.ok_or_else(|| ApiError::field("reason", "reason_required", "say why"))?;
    let report = state.storage.report(id).await?.ok_or(ApiError::NotFound("report"))?;
    let now = state.clock.now();
    let event = EventRecord {
        at: now,
        actor: Some(actor.id),
        actor_role: Some(actor.role),
        action: if hidden { "hide" } else { "unhide" }.into(),
        from_status: Some(report.status),
        to_status: report.status,
        public_note: None,
        internal_note: Some(reason),
        data: serde_json::json!({}),
    };
    let next = ReportRecord { hidden, updated_at: now, ..report };
    Ok(state
        .storage
        .apply_change(&ReportChange {
            report: next,
            event,
            photos: vec![],
            notifications: vec![],
            sync: SyncEffects::default(),
        })
        .await?)
}

/// Role, then scope. Errors say which rule refused.
fn authorize(actor: &UserRecord, report: &ReportRecord, action: &Action) -> ApiResult<()> {
    if !action.permitted_to(actor.role) {
        return Err(ApiError::Forbidden(format!("a {} may not {}", actor.role.as_str(), action.kind())));
    }
    match (action, actor.role) {
        (Action::Dispute { .. }, _) if report.reporter != actor.id => {
            Err(ApiError::Forbidden("only the reporter may dispute a closure".into()))
        }
        (Action::Dispute { .. }, _) => Ok(()),
        // Anyone signed in may comment on a report they can see.
        (Action::Comment, _) => Ok(()),
        (Action::MarkFixed { .. }, Role::FieldCrew) if report.crew != Some(actor.id) => {
            Err(ApiError::Forbidden("this ticket is not assigned to you".into()))
        }
        (Action::MarkFixed { .. }, Role::FieldCrew) => Ok(()),
        (_, Role::Moderator) => Ok(()),
        _ if scope_of(actor).may_work_on(&report.district, report.body.as_ref()) => Ok(()),
        (_, Role::DistrictStaff) => Err(ApiError::Forbidden("this report is outside your district".into())),
        _ => Err(ApiError::Forbidden("this report is not routed to your department".into())),
    }
}

/// The public note: given text, or a template's text for the report's category. `respond`
/// must say something.
async fn resolve_public_note(
    state: &AppState,
    report: &ReportRecord,
    request: &mut ActionRequest,
) -> ApiResult<Option<String>> {
    let mut note = clean_note("public_note", request.public_note.take())?;
    if let Some(template_id) = &request.template {
        let templates = state.storage.templates(Some(&report.category)).await?;
        let Some(template) = templates.into_iter().find(|t| &t.id == template_id) else {
            return Err(ApiError::field(
                "template",
                "unknown_template",
                format!("no template '{template_id}' for this category"),
            ));
        };
        note.get_or_insert(template.body.ka);
    }
    if matches!(request.action, Action::Respond) && note.is_none() {
        return Err(ApiError::field("public_note", "required", "a response needs a public note or a template"));
    }
    if matches!(request.action, Action::Comment) && note.is_none() {
        return Err(ApiError::field("public_note", "required", "a comment needs some text"));
    }
    Ok(note)
}

fn clean_note(field: &'static str, note: Option<String>) -> ApiResult<Option<String>> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::field(field, "too_long", format!("at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(note)
}

pub(crate) fn fmt_deadline(deadline: Option<chrono::DateTime<chrono::Utc>>) -> String {
    deadline
        .map(|d| d.with_timezone(&smartmap_shared::calendar::tbilisi_offset()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// Statuses a crew's ticket list shows.
pub const CREW_STATUSES: [ReportStatus; 1] = [ReportStatus::InProgress];
