//! What a report looks like from outside: the public view (never the reporter's identity, never
//! internal notes, never staff names) and the staff view (adds the reporter's name unless they
//! hid it, internal notes and the crew).

use crate::state::{AppState, Reference};
use crate::storage::{EventRecord, ExpectedPhotoRecord, PhotoKind, PhotoRecord, ReportRecord, UserRecord};
use serde_json::{Value, json};
use smartmap_shared::i18n::Localized;

/// The URL of a photo rendition.
pub fn photo_urls(p: &PhotoRecord) -> Value {
    json!({
        "kind": p.kind,
        "url": format!("/media/{}.jpg", p.sha256),
        "thumb_url": format!("/media/{}.thumb.jpg", p.sha256),
        "width": p.width,
        "height": p.height,
        "created_at": p.created_at,
    })
}

fn named(id: &str, name: Option<&Localized>) -> Value {
    match name {
        Some(n) => json!({ "id": id, "name": { "ka": n.ka, "en": n.en } }),
        None => json!({ "id": id }),
    }
}

/// Whether the report is past its deadline and still open.
pub fn is_overdue(r: &ReportRecord) -> bool {
    r.overdue_at.is_some() && !r.status.is_closed()
}

/// The fields everyone may see.
pub fn public_summary(r: &ReportRecord, reference: &Reference) -> Value {
    let category = reference.category(&r.category).map(|c| &c.name);
    let body = r.body.as_ref().map(|b| named(b.as_str(), reference.body(b).map(|b| &b.name)));
    let district = reference.districts.get(&r.district).map(|d| &d.name);
    json!({
        "id": r.id,
        "number": r.number,
        "category": named(r.category.as_str(), category),
        "status": r.status,
        "overdue": is_overdue(r),
        "location": { "lat": r.lat, "lon": r.lon },
        "address": r.address,
        "description": r.description,
        "district": named(r.district.as_str(), district),
        "body": body,
        "created_at": r.created_at,
        "deadline": r.deadline,
        "closed_at": r.closed_at,
        "duplicate_of": r.duplicate_of,
        "updated_at": r.updated_at,
    })
}

/// One public timeline entry: the actor is shown by role, never by name.
fn public_event(e: &EventRecord) -> Value {
    let mut data = e.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.remove("crew");
        obj.remove("matched");
    }
    json!({
        "at": e.at,
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "actor_role": e.actor_role.map(|r| r.as_str()).unwrap_or("system"),
        "public_note": e.public_note,
        "details": data,
    })
}

/// The public detail page of a report: summary, photos (report and proof apart) and timeline.
/// Events that only concern staff (hiding) are left out.
pub fn public_detail(r: &ReportRecord, photos: &[PhotoRecord], events: &[EventRecord], reference: &Reference) -> Value {
    let mut v = public_summary(r, reference);
    let (proof, report): (Vec<_>, Vec<_>) = photos.iter().partition(|p| p.kind == crate::storage::PhotoKind::Proof);
    v["photos"] = report.into_iter().map(photo_urls).collect();
    v["proof_photos"] = proof.into_iter().map(photo_urls).collect();
    v["timeline"] =
        events.iter().filter(|e| !matches!(e.action.as_str(), "hide" | "unhide")).map(public_event).collect();
    v
}

/// Adds what a phone promised and has not uploaded yet: `photos_pending` ("photos pending") and
/// `proof_pending` ("closed, proof pending"), each the number of photos awaited.
pub fn with_pending(mut v: Value, expected: &[ExpectedPhotoRecord]) -> Value {
    let awaited = |kind| expected.iter().filter(|e| e.kind == kind && e.photo_sha256.is_none()).count();
    v["photos_pending"] = json!(awaited(PhotoKind::Report));
    v["proof_pending"] = json!(awaited(PhotoKind::Proof));
    v
}

/// The staff view adds who reported (unless hidden), the crew, internal notes and actors.
pub async fn staff_detail(
    state: &AppState,
    r: &ReportRecord,
    photos: &[PhotoRecord],
    events: &[EventRecord],
) -> crate::error::ApiResult<Value> {
    let reference = state.reference();
    let mut v = public_detail(r, photos, &[], &reference);
    let reporter: Option<UserRecord> = state.storage.user(r.reporter).await?;
    v["reporter"] = if r.hide_reporter_name {
        json!({ "hidden": true })
    } else {
        json!({ "hidden": false, "name": reporter.map(|u| u.display_name) })
    };
    v["crew"] = json!(r.crew);
    v["hidden"] = json!(r.hidden);
    v["version"] = json!(r.version);
    v["timeline"] = events
        .iter()
        .map(|e| {
            let mut entry = public_event(e);
            entry["details"] = e.data.clone();
            // A reporter who hid their name must not be linkable across reports by their id.
            let hidden_reporter = r.hide_reporter_name && e.actor == Some(r.reporter);
            entry["actor"] = if hidden_reporter { Value::Null } else { json!(e.actor) };
            entry["internal_note"] = json!(e.internal_note);
            entry
        })
        .collect();
    Ok(v)
}

/// A report as a GeoJSON point feature for the map.
pub fn feature(r: &ReportRecord, reference: &Reference) -> Value {
    let category = reference.category(&r.category).map(|c| &c.name);
    json!({
        "type": "Feature",
        "id": r.id,
        "geometry": { "type": "Point", "coordinates": [r.lon, r.lat] },
        "properties": {
            "number": r.number,
            "category": named(r.category.as_str(), category),
            "status": r.status,
            "overdue": is_overdue(r),
            "body": r.body,
            "created_at": r.created_at,
            "deadline": r.deadline,
        }
    })
}
