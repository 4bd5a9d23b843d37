//! What the user sees: synced state with the phone's pending changes laid over it. A report the
//! server does not have yet is built from its queued `report.create`; comments, disputes and
//! closures not yet acknowledged (or refused) become timeline entries marked pending (or with
//! their reason); a queued follow already counts.

use crate::error::Result;
use crate::preview;
use crate::store::{OutboxRow, OutboxState, ReferenceData, Store};
use crate::views::{LocalPhoto, ReportView, TimelineEntry};
use smartmap_shared::sync::{CreateReport, MutationKind, SyncedReport};

fn local_photos(s: &Store, report: uuid::Uuid) -> Result<Vec<LocalPhoto>> {
    Ok(s.photos_of_report(report)?
        .into_iter()
        .map(|p| LocalPhoto { kind: p.kind, sha256: p.sha256, size: p.size, uploaded: p.upload_offset, done: p.done })
        .collect())
}

/// A report that exists only in the outbox.
pub(crate) fn queued_report_view(s: &Store, reference: &ReferenceData, row: &OutboxRow) -> Result<ReportView> {
    let draft: CreateReport = serde_json::from_value(row.mutation.payload.clone())?;
    let preview = preview::preview(reference, &draft.category, draft.location, row.mutation.client_time).ok();
    let status = match row.state {
        OutboxState::Pending => "queued",
        OutboxState::InFlight => "sending",
        OutboxState::Acked => "submitted",
        OutboxState::Rejected => "rejected",
    };
    let mut view = ReportView {
        id: draft.report_id,
        number: None,
        category_name: preview::category_name(reference, &draft.category),
        category: draft.category,
        district: preview.as_ref().map(|p| p.district.clone()),
        body: preview.as_ref().map(|p| p.body.clone()),
        body_name: preview.as_ref().map(|p| p.body_name.clone()),
        status: status.to_owned(),
        location: draft.location,
        description: draft.description,
        address: draft.address,
        created_at: row.mutation.client_time,
        deadline: preview.as_ref().map(|p| p.deadline),
        overdue: false,
        photos: vec![],
        server_pending_photos: 0,
        local_photos: local_photos(s, draft.report_id.0)?,
        timeline: vec![TimelineEntry {
            at: row.mutation.client_time,
            action: "submitted".into(),
            status: None,
            note: None,
            by_role: None,
            by_me: true,
            pending: matches!(row.state, OutboxState::Pending | OutboxState::InFlight),
            rejection: row.rejection.clone(),
        }],
        mine: true,
        assigned_to_me: false,
        following: true,
        pending: matches!(row.state, OutboxState::Pending | OutboxState::InFlight),
        rejection: row.rejection.clone(),
    };
    overlay(s, &mut view)?;
    Ok(view)
}

/// A synced report with the phone's pending changes laid over it.
pub(crate) fn synced_view(s: &Store, reference: &ReferenceData, r: SyncedReport) -> Result<ReportView> {
    let mut view = ReportView {
        id: r.id,
        number: Some(r.number),
        category_name: preview::category_name(reference, &r.category),
        category: r.category,
        district: Some(r.district),
        body_name: r.body.as_deref().and_then(|b| preview::body_name(reference, b)),
        body: r.body,
        status: serde_json::to_value(r.status)?.as_str().unwrap_or_default().to_owned(),
        location: r.location,
        description: r.description,
        address: r.address,
        created_at: r.created_at,
        deadline: r.deadline,
        overdue: r.overdue,
        photos: r.photos,
        server_pending_photos: r.pending_photos.len(),
        local_photos: local_photos(s, r.id.0)?,
        timeline: r
            .timeline
            .into_iter()
            .map(|e| TimelineEntry {
                at: e.at,
                status: serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_owned)),
                action: e.action,
                note: e.note,
                by_role: e.by_role,
                by_me: e.by_me,
                pending: false,
                rejection: None,
            })
            .collect(),
        mine: r.mine,
        assigned_to_me: r.assigned_to_me,
        following: r.following,
        pending: false,
        rejection: None,
    };
    overlay(s, &mut view)?;
    Ok(view)
}

/// Lays the report's unacknowledged (and refused) mutations over `view`: comments, disputes and
/// closures as timeline entries marked pending or refused, a queued follow as the follow state.
/// Acknowledged mutations show through the synced state after the next pull.
fn overlay(s: &Store, view: &mut ReportView) -> Result<()> {
    for row in s.outbox_rows_for(view.id.0)? {
        let in_progress = matches!(row.state, OutboxState::Pending | OutboxState::InFlight);
        if !in_progress && row.state != OutboxState::Rejected {
            continue;
        }
        let payload = &row.mutation.payload;
        let text = |key: &str| payload.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let action = match row.mutation.kind {
            MutationKind::CreateReport => continue, // the report itself (queued_report_view)
            MutationKind::Follow => {
                if in_progress {
                    view.following = payload.get("follow").and_then(|v| v.as_bool()).unwrap_or(view.following);
                    view.pending = true;
                }
                continue;
            }
            MutationKind::Comment => ("comment", text("text")),
            MutationKind::Dispute => ("dispute", text("reason")),
            MutationKind::CloseTicket => ("close", text("public_note")),
        };
        view.pending |= in_progress;
        view.timeline.push(TimelineEntry {
            at: row.mutation.client_time,
            action: action.0.to_owned(),
            status: None,
            note: action.1,
            by_role: None,
            by_me: true,
            pending: in_progress,
            rejection: row.rejection.clone(),
        });
    }
    Ok(())
}
