//! Background jobs. Each exposes "run once" so tests drive it deterministically; the server runs
//! them on an interval.

use crate::error::ApiResult;
use crate::state::AppState;
use crate::storage::{EventRecord, Notification, ReportChange, ReportRecord, StorageError};
use smartmap_shared::body::district_administration_id;

/// Flags open reports past their deadline as overdue (publicly, on the report) and escalates each
/// once: a message to the responsible body's head and to the district administration. Returns how
/// many were flagged.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn sweep_overdue(state: &AppState) -> ApiResult<usize> {
    let now = state.clock.now();
    let mut flagged = 0;
    loop {
        let batch = state.storage.overdue_candidates(now, 200).await?;
        if batch.is_empty() {
            return Ok(flagged);
        }
        for report in batch {
            match state.storage.apply_change(&overdue_change(state, report, now)).await {
                Ok(_) => flagged += 1,
                // Someone acted on the report meanwhile; the next sweep looks again.
                Err(StorageError::Stale) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn overdue_change(state: &AppState, report: ReportRecord, now: chrono::DateTime<chrono::Utc>) -> ReportChange {
    let reference = state.reference();
    let mut recipients = Vec::new();
    if let Some(email) = report.body.as_ref().and_then(|b| reference.body(b)).and_then(|b| b.head_email.clone()) {
        recipients.push(email);
    }
    let admin = district_administration_id(&report.district);
    if let Some(email) = reference.body(&admin).and_then(|b| b.head_email.clone())
        && !recipients.contains(&email)
    {
        recipients.push(email);
    }
    let names = report.body.as_ref().and_then(|b| reference.body(b)).map(|b| b.name.clone());
    let (body_name_ka, body_name) = names.map(|n| (n.ka, n.en)).unwrap_or_default();
    let notifications = recipients
        .into_iter()
        .map(|recipient| Notification {
            kind: "overdue_escalation".into(),
            recipient,
            subject: format!(
                "ვადაგადაცილებულია: შეტყობინება #{0} / Overdue: report #{0} ({1})",
                report.number, report.category
            ),
            body: format!(
                "შეტყობინებას #{0} ({1}) ვადა ({3}) გაუვიდა და არ დახურულა.\n\
                 Report #{0} routed to {2} passed its deadline ({3}) without a closure.",
                report.number,
                body_name_ka,
                body_name,
                crate::reports::actions::fmt_deadline(report.deadline)
            ),
            report: Some(report.id),
            created_at: now,
        })
        .collect();
    let event = EventRecord {
        at: now,
        actor: None,
        actor_role: None,
        action: "overdue".into(),
        from_status: Some(report.status),
        to_status: report.status,
        public_note: None,
        internal_note: None,
        data: serde_json::json!({ "deadline": report.deadline }),
    };
    let next = ReportRecord { overdue_at: Some(now), updated_at: now, ..report };
    ReportChange { report: next, event, photos: Vec::new(), notifications, sync: Default::default() }
}

/// Runs the sweep every `seconds` until the process ends.
pub fn spawn_overdue_sweeper(state: AppState, seconds: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds));
        loop {
            tick.tick().await;
            if let Err(e) = sweep_overdue(&state).await {
                tracing::warn!(error = ?e, "overdue sweep failed; will retry");
            }
            if let Err(e) = crate::uploads::sweep_expired(&state).await {
                tracing::warn!(error = ?e, "sweeping expired uploads failed; will retry");
            }
        }
    });
}
