//! Admin and moderation routes: edit categories (names, deadlines), per-body deadlines,
//! templates, routing rules, create staff accounts, hide reports, run the overdue sweep now.

use super::accounts::{account_json, create_account};
use super::extract::Json;
use super::reports::report_id;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::reports::{actions, views};
use crate::state::AppState;
use crate::storage::{ResponseTemplate, UserRecord};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use smartmap_shared::category::Category;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId};
use smartmap_shared::role::Role;
use smartmap_shared::routing::RoutingRule;
use smartmap_shared::sla::{Sla, SlaRule, SlaUnit};

/// The admin and moderation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/categories/{id}", put(put_category))
        .route("/api/admin/sla/{category}/{body}", put(put_sla_override).delete(delete_sla_override))
        .route("/api/admin/templates/{id}", put(put_template))
        .route("/api/admin/routing-rules", put(put_routing_rules))
        .route("/api/admin/users", post(create_user))
        .route("/api/admin/jobs/overdue", post(run_overdue))
        .route("/api/moderation/reports/{id}/hide", post(hide))
        .route("/api/moderation/reports/{id}/unhide", post(unhide))
}

fn require_admin(user: &UserRecord) -> ApiResult<()> {
    if user.role == Role::Admin { Ok(()) } else { Err(ApiError::Forbidden("admins only".into())) }
}

fn slug_field<T: TryFrom<String>>(field: &str, raw: &str) -> Result<T, FieldError> {
    T::try_from(raw.to_owned()).map_err(|_| FieldError {
        field: field.into(),
        code: "invalid_slug",
        message: "lowercase letters, digits and '-', starting with a letter".into(),
    })
}

fn required_text(field: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max {
        errors
            .push(FieldError { field: field.into(), code: "invalid_length", message: format!("1–{max} characters") });
    }
    text.to_owned()
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A category as an admin edits it.
pub struct CategoryForm {
    /// Name in Georgian.
    name_ka: String,
    /// Name in English.
    name_en: String,
    /// Response deadline: how many units.
    sla_amount: u32,
    #[schemars(schema_with = "super::openapi::sla_unit_schema")]
    sla_unit: SlaUnit,
    /// Whether the category takes new reports (default true).
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

async fn put_category(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(f): Json<CategoryForm>,
) -> ApiResult<axum::Json<Category>> {
    require_admin(&user)?;
    let mut errors = Vec::new();
    let id: Option<CategoryId> = slug_field("id", &id).map_err(|e| errors.push(e)).ok();
    let ka = required_text("name_ka", &f.name_ka, 200, &mut errors);
    let en = required_text("name_en", &f.name_en, 200, &mut errors);
    let sla = Sla::new(f.sla_amount, f.sla_unit)
        .map_err(|e| {
            errors.push(FieldError { field: "sla_amount".into(), code: "out_of_range", message: e.to_string() })
        })
        .ok();
    let (Some(id), Some(sla), true) = (id, sla, errors.is_empty()) else { return Err(ApiError::Invalid(errors)) };
    let category = Category { id, name: Localized::new(ka, en), sla, active: f.active };
    state.storage.upsert_category(&category).await?;
    state.reload_reference().await?;
    Ok(axum::Json(category))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A body's own deadline for a category.
pub struct SlaForm {
    /// How many units.
    sla_amount: u32,
    #[schemars(schema_with = "super::openapi::sla_unit_schema")]
    sla_unit: SlaUnit,
}

/// Sets the deadline of reports of `category` routed to `body`, over the category's own. Applies
/// from the next routing on: deadlines already running are left as they are.
async fn put_sla_override(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((category, body)): Path<(String, String)>,
    Json(f): Json<SlaForm>,
) -> ApiResult<axum::Json<SlaRule>> {
    require_admin(&user)?;
    let reference = state.reference();
    let mut errors = Vec::new();
    let category_id = CategoryId::parse(category.clone()).ok().filter(|c| reference.category(c).is_some());
    if category_id.is_none() {
        errors.push(FieldError {
            field: "category".into(),
            code: "unknown_category",
            message: format!("there is no category '{category}'"),
        });
    }
    let body_id = BodyId::parse(body.clone()).ok().filter(|b| reference.body(b).is_some());
    if body_id.is_none() {
        errors.push(FieldError {
            field: "body".into(),
            code: "unknown_body",
            message: format!("there is no body '{body}'"),
        });
    }
    let sla = Sla::new(f.sla_amount, f.sla_unit)
        .map_err(|e| {
            errors.push(FieldError { field: "sla_amount".into(), code: "out_of_range", message: e.to_string() })
        })
        .ok();
    let (Some(category), Some(body), Some(sla), true) = (category_id, body_id, sla, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let rule = SlaRule { category, body, sla };
    state.storage.upsert_sla_override(&rule).await?;
    state.reload_reference().await?;
    Ok(axum::Json(rule))
}

/// Removes a per-body deadline: new reports of the category routed to the body get the
/// category's own deadline again.
async fn delete_sla_override(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((category, body)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_admin(&user)?;
    let (Ok(category), Ok(body)) = (CategoryId::parse(category), BodyId::parse(body)) else {
        return Err(ApiError::NotFound("deadline override"));
    };
    if !state.storage.delete_sla_override(&category, &body).await? {
        return Err(ApiError::NotFound("deadline override"));
    }
    state.reload_reference().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A response template as an admin edits it.
pub struct TemplateForm {
    /// The category slug it answers.
    category: String,
    /// Short title for staff, Georgian.
    title_ka: String,
    /// Short title for staff, English.
    title_en: String,
    /// The public text, Georgian.
    body_ka: String,
    /// The public text, English.
    body_en: String,
}

async fn put_template(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(f): Json<TemplateForm>,
) -> ApiResult<axum::Json<ResponseTemplate>> {
    require_admin(&user)?;
    let mut errors = Vec::new();
    let _: Option<CategoryId> = slug_field("id", &id).map_err(|e| errors.push(e)).ok();
    let category = CategoryId::parse(f.category.clone()).ok().filter(|c| state.reference().category(c).is_some());
    if category.is_none() {
        errors.push(FieldError {
            field: "category".into(),
            code: "unknown_category",
            message: format!("there is no category '{}'", f.category),
        });
    }
    let title = Localized::new(
        required_text("title_ka", &f.title_ka, 200, &mut errors),
        required_text("title_en", &f.title_en, 200, &mut errors),
    );
    let body = Localized::new(
        required_text("body_ka", &f.body_ka, 5000, &mut errors),
        required_text("body_en", &f.body_en, 5000, &mut errors),
    );
    let (Some(category), true) = (category, errors.is_empty()) else { return Err(ApiError::Invalid(errors)) };
    let template = ResponseTemplate { id, category, title, body };
    state.storage.upsert_template(&template).await?;
    Ok(axum::Json(template))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// One routing rule: reports of `category` in `district` (every district when absent) go to `body`.
pub struct RuleForm {
    /// Category slug.
    category: String,
    /// District slug; absent for every district.
    district: Option<String>,
    /// Body slug.
    body: String,
}

async fn put_routing_rules(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(rules): Json<Vec<RuleForm>>,
) -> ApiResult<axum::Json<Vec<RoutingRule>>> {
    require_admin(&user)?;
    let reference = state.reference();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let category = CategoryId::parse(r.category.clone()).ok().filter(|c| reference.category(c).is_some());
        let district = match &r.district {
            None => Some(None),
            Some(d) => DistrictId::parse(d.clone()).ok().filter(|d| reference.districts.get(d).is_some()).map(Some),
        };
        let body = BodyId::parse(r.body.clone()).ok().filter(|b| reference.body(b).is_some());
        let mut bad = |f: &str, what: &str| {
            errors.push(FieldError {
                field: format!("[{i}].{f}"),
                code: "unknown_reference",
                message: format!("there is no such {what}"),
            })
        };
        if category.is_none() {
            bad("category", "category");
        }
        if district.is_none() {
            bad("district", "district");
        }
        if body.is_none() {
            bad("body", "body");
        }
        if let (Some(category), Some(district), Some(body)) = (category, district, body) {
            parsed.push(RoutingRule { category, district, body });
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    state.storage.replace_routing_rules(&parsed).await?;
    state.reload_reference().await?;
    Ok(axum::Json(parsed))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// An account an admin creates.
pub struct UserForm {
    /// Login e-mail.
    email: String,
    /// At least 10 characters.
    password: String,
    /// Name shown to staff.
    display_name: String,
    #[schemars(schema_with = "super::openapi::role_schema")]
    role: Role,
    /// District slug, required for district staff.
    district: Option<String>,
    /// Body slug, required for department staff and field crews.
    body: Option<String>,
}

async fn create_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(f): Json<UserForm>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    require_admin(&user)?;
    let reference = state.reference();
    let district =
        f.district.as_deref().map(|d| DistrictId::parse(d).ok().filter(|d| reference.districts.get(d).is_some()));
    let body = f.body.as_deref().map(|b| BodyId::parse(b).ok().filter(|b| reference.body(b).is_some()));
    let mut errors = Vec::new();
    if matches!(district, Some(None)) || (f.role == Role::DistrictStaff && district.is_none()) {
        errors.push(FieldError {
            field: "district".into(),
            code: "district_required",
            message: "district staff need a known district".into(),
        });
    }
    if matches!(body, Some(None)) || (matches!(f.role, Role::DepartmentStaff | Role::FieldCrew) && body.is_none()) {
        errors.push(FieldError {
            field: "body".into(),
            code: "body_required",
            message: "department staff and crews need a known body".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let created =
        create_account(&state, &f.email, &f.password, &f.display_name, f.role, district.flatten(), body.flatten())
            .await?;
    Ok((StatusCode::CREATED, axum::Json(account_json(&created))))
}

async fn run_overdue(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    require_admin(&user)?;
    let flagged = crate::jobs::sweep_overdue(&state).await?;
    Ok(axum::Json(json!({ "flagged": flagged })))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Why a moderator hides or shows a report (kept as an internal note).
pub struct Reason {
    /// The reason.
    reason: String,
}

async fn hide(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> ApiResult<axum::Json<Value>> {
    let report = actions::set_hidden(&state, &user, report_id(&id)?, true, r.reason).await?;
    Ok(axum::Json(views::public_summary(&report, &state.reference())))
}

async fn unhide(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> ApiResult<axum::Json<Value>> {
    let report = actions::set_hidden(&state, &user, report_id(&id)?, false, r.reason).await?;
    Ok(axum::Json(views::public_summary(&report, &state.reference())))
}
