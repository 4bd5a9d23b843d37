//! The catalogue of every route: method, path, who may call it, what it does. The OpenAPI
//! description is generated from it, and the authorization test walks it role by role, so a
//! route missing here is both undocumented and untested — `router_matches_catalog` catches that.

use smartmap_shared::role::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in account (the handler may narrow further by ownership).
    SignedIn,
    /// Only these roles (the handler may narrow further by scope).
    Roles(&'static [Role]),
}

impl Access {
    /// Whether an account of `role` passes the role gate.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public | Access::SignedIn => true,
            Access::Roles(roles) => roles.contains(&role),
        }
    }
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: &'static str,
    /// Path template in axum syntax (`{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// Request body, if any: `json`, `multipart`, `form` (`application/x-www-form-urlencoded`).
    pub body: Option<&'static str>,
}

use Role::*;
const STAFF: &[Role] = &[DistrictStaff, DepartmentStaff, Moderator, Admin];
const CLOSERS: &[Role] = &[FieldCrew, DistrictStaff, DepartmentStaff, Admin];
const MODERATORS: &[Role] = &[Moderator, Admin];
const ADMIN: &[Role] = &[Admin];
const CREW: &[Role] = &[FieldCrew];

const fn r(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    body: Option<&'static str>,
) -> RouteDoc {
    RouteDoc { method, path, access, summary, body }
}

/// Every API route.
pub const ROUTES: &[RouteDoc] = &[
    r(
        "GET",
        "/",
        Access::Public,
        "The web UI's index.html when it is built (the `ui_dir` setting; its other files are served beside it), \
         else a server-rendered front page.",
        None,
    ),
    r("GET", "/api/health", Access::Public, "Liveness and database check.", None),
    r("GET", "/api/openapi.json", Access::Public, "This description.", None),
    r("GET", "/api/categories", Access::Public, "Report categories with names (ka, en) and deadlines.", None),
    r("GET", "/api/bodies", Access::Public, "Responsible bodies.", None),
    r("GET", "/api/districts", Access::Public, "District polygons as GeoJSON.", None),
    r(
        "GET",
        "/api/sla",
        Access::Public,
        "Deadline rules: every category's default and every per-body override (category × body → deadline).",
        None,
    ),
    r("GET", "/api/stats", Access::Public, "Per body and category: totals, on-time rate, median hours to fix.", None),
    r(
        "GET",
        "/media/{file}",
        Access::Public,
        "A photo (`<sha256>.jpg`) or its thumbnail (`<sha256>.thumb.jpg`).",
        None,
    ),
    r(
        "POST",
        "/api/auth/register",
        Access::Public,
        "Create a resident account; returns a session token.",
        Some("json"),
    ),
    r(
        "POST",
        "/api/auth/login",
        Access::Public,
        "Sign in; returns a session token, or with `device_id` a device token pair (access + refresh).",
        Some("json"),
    ),
    r(
        "POST",
        "/api/auth/refresh",
        Access::Public,
        "Exchange a device's refresh token for a new token pair (rotation; the refresh token is the credential).",
        Some("json"),
    ),
    r("POST", "/api/auth/logout", Access::SignedIn, "End this session.", None),
    r(
        "OPTIONS",
        "/api/uploads",
        Access::Public,
        "Resumable uploads (tus 1.0): the server's capabilities (Tus-Version, Tus-Extension, Tus-Max-Size, \
         Tus-Checksum-Algorithm).",
        None,
    ),
    r(
        "POST",
        "/api/uploads",
        Access::SignedIn,
        "tus creation: Upload-Length and Upload-Metadata (sha256, report, kind, optional filename) → 201 with \
         Location and Upload-Expires.",
        None,
    ),
    r(
        "HEAD",
        "/api/uploads/{id}",
        Access::SignedIn,
        "tus: the caller's upload's Upload-Offset and Upload-Length (410 once expired).",
        None,
    ),
    r(
        "PATCH",
        "/api/uploads/{id}",
        Access::SignedIn,
        "tus: append application/offset+octet-stream bytes at Upload-Offset (optional Upload-Checksum); the last \
         byte verifies the whole file's sha256 and hands the photo to its report.",
        Some("octet-stream"),
    ),
    r("DELETE", "/api/uploads/{id}", Access::SignedIn, "tus termination: discard the caller's upload.", None),
    r("GET", "/api/me", Access::SignedIn, "The caller's account.", None),
    r("GET", "/api/me/reports", Access::SignedIn, "The caller's own reports.", None),
    r(
        "POST",
        "/api/reports",
        Access::SignedIn,
        "Submit a report: multipart `report` JSON part + `photo` parts, or JSON without photos.",
        Some("multipart"),
    ),
    r(
        "GET",
        "/api/reports/{id}",
        Access::Public,
        "A report with its public timeline and photos (staff in scope see more).",
        None,
    ),
    r(
        "GET",
        "/api/preview",
        Access::Public,
        "Where a report of `category` at `lat`,`lon` would go and when it would be due: {district, district_name, \
         body, body_name, matched, sla, deadline, from}, computed as a submission would be.",
        None,
    ),
    r(
        "POST",
        "/api/reports/{id}/follow",
        Access::SignedIn,
        "Follow a report (idempotent): its changes reach the caller's phone and `following` shows on it.",
        None,
    ),
    r("DELETE", "/api/reports/{id}/follow", Access::SignedIn, "Stop following a report (idempotent).", None),
    r(
        "POST",
        "/api/reports/{id}/dispute",
        Access::SignedIn,
        "The reporter disputes a closure within the dispute window.",
        Some("json"),
    ),
    r(
        "GET",
        "/api/map/reports",
        Access::Public,
        "Reports as GeoJSON: bbox, category, status, from, to, zoom (clusters below the threshold), page, page_size.",
        None,
    ),
    r(
        "GET",
        "/api/staff/queue",
        Access::Roles(STAFF),
        "Open reports in the caller's district or department, nearest deadline first.",
        None,
    ),
    r(
        "GET",
        "/api/staff/queue.csv",
        Access::Roles(STAFF),
        "The queue as CSV (UTF-8 with BOM, RFC 4180; same scope and filters, every matching report up to 10 000).",
        None,
    ),
    r(
        "GET",
        "/api/staff/dashboard",
        Access::Roles(STAFF),
        "Figures over the caller's district or department (from, to: creation time): by status, by category, \
         on-time rate, open and overdue counts, the 50 most overdue reports.",
        None,
    ),
    r(
        "POST",
        "/api/staff/reports/{id}/actions",
        Access::Roles(STAFF),
        "Act on a report: acknowledge, assign_crew, not_responsible, mark_duplicate, no_action, respond.",
        Some("json"),
    ),
    r("GET", "/api/staff/templates", Access::Roles(STAFF), "Response templates, optionally of one category.", None),
    r("GET", "/api/staff/crews", Access::Roles(STAFF), "Field crews the caller can assign.", None),
    r("GET", "/api/crew/tickets", Access::Roles(CREW), "The crew member's assigned open tickets.", None),
    r(
        "POST",
        "/api/crew/tickets/{id}/close",
        Access::Roles(CLOSERS),
        "Close a ticket as fixed with proof photos (multipart: `photo` parts, optional `action` JSON notes).",
        Some("multipart"),
    ),
    r(
        "PUT",
        "/api/admin/categories/{id}",
        Access::Roles(ADMIN),
        "Create or edit a category (names, deadline, active).",
        Some("json"),
    ),
    r(
        "PUT",
        "/api/admin/sla/{category}/{body}",
        Access::Roles(ADMIN),
        "Set the deadline of a category's reports routed to one body ({sla_amount, sla_unit}), over the \
         category's own; applies to reports routed from then on.",
        Some("json"),
    ),
    r(
        "DELETE",
        "/api/admin/sla/{category}/{body}",
        Access::Roles(ADMIN),
        "Remove a per-body deadline: the category's own applies again to new reports.",
        None,
    ),
    r("PUT", "/api/admin/templates/{id}", Access::Roles(ADMIN), "Create or edit a response template.", Some("json")),
    r("PUT", "/api/admin/routing-rules", Access::Roles(ADMIN), "Replace the routing table.", Some("json")),
    r("POST", "/api/admin/users", Access::Roles(ADMIN), "Create an account of any role.", Some("json")),
    r("POST", "/api/admin/jobs/overdue", Access::Roles(ADMIN), "Run the overdue sweep now.", None),
    r("GET", "/api/admin/outbox", Access::Roles(ADMIN), "Notifications waiting to be sent.", None),
    r(
        "POST",
        "/api/moderation/reports/{id}/hide",
        Access::Roles(MODERATORS),
        "Hide a report from the public (kept, with a reason).",
        Some("json"),
    ),
    r(
        "POST",
        "/api/moderation/reports/{id}/unhide",
        Access::Roles(MODERATORS),
        "Show a hidden report again.",
        Some("json"),
    ),
    r(
        "GET",
        "/open311/v2/discovery.{format}",
        Access::Public,
        "Open311 service discovery (format: xml or json): the GeoReport v2 endpoint, its formats and contact.",
        None,
    ),
    r(
        "GET",
        "/open311/v2/services.{format}",
        Access::Public,
        "Open311 GeoReport v2 service list (format: xml or json): every category taking reports, by service_code.",
        None,
    ),
    r(
        "GET",
        "/open311/v2/services/{service_code}",
        Access::Public,
        "Open311 service definition: `{service_code}.xml` or `.json`, the category's questions as attributes.",
        None,
    ),
    r(
        "GET",
        "/open311/v2/requests.{format}",
        Access::Public,
        "Open311 service requests (public reports) as xml or json: service_request_id, service_code, start_date, \
         end_date, status (open, closed); most recent 90 days and 1000 records by default; extensions: page, \
         page_size, updated_after, updated_before, extensions=true.",
        None,
    ),
    r(
        "POST",
        "/open311/v2/requests.{format}",
        Access::Public,
        "Open311: post a service request (form-encoded, or multipart with `media` photos) with an `api_key` \
         issued by an admin; lat and long required; answers service_request_id and token (xml or json).",
        Some("form"),
    ),
    r(
        "GET",
        "/open311/v2/requests/{service_request_id}",
        Access::Public,
        "Open311 service request: `{service_request_id}.xml` or `.json` (the report's public number); \
         extensions=true adds our fields and the public timeline as notes.",
        None,
    ),
    r(
        "GET",
        "/open311/v2/tokens/{token}",
        Access::Public,
        "Open311: the service_request_id of a POST's token, as `{token}.xml` or `.json`.",
        None,
    ),
    r(
        "GET",
        "/open311/v2/servicerequestupdates.{format}",
        Access::Public,
        "Open311 (mySociety extension): public updates to requests between start_date and end_date, with \
         extended statuses (OPEN, INVESTIGATING, IN_PROGRESS, FIXED, DUPLICATE, NO_FURTHER_ACTION, \
         INTERNAL_REFERRAL), oldest first; page, page_size.",
        None,
    ),
    r(
        "POST",
        "/api/admin/open311/keys",
        Access::Roles(ADMIN),
        "Issue an Open311 api_key to an app ({app_name, contact_email}); the key is answered once and stored \
         hashed, with the app's own resident account.",
        Some("json"),
    ),
    r("GET", "/api/admin/open311/keys", Access::Roles(ADMIN), "Apps holding Open311 api_keys (never the keys).", None),
    r(
        "POST",
        "/api/sync/push",
        Access::SignedIn,
        "Sync: apply a phone's outbox ({device_id, mutations}, at most 100), each mutation at most once; per-item \
         outcomes applied, duplicate or rejected (code, en and ka messages, field).",
        Some("json"),
    ),
    r(
        "GET",
        "/api/sync/pull",
        Access::SignedIn,
        "Sync: the caller's change feed after `cursor` (`<epoch>.<seq>`; absent: from the start), `limit` per page; \
         410 cursor_expired for another epoch or a seq never issued.",
        None,
    ),
    r(
        "GET",
        "/api/sync/snapshot",
        Access::SignedIn,
        "Sync: reference data and every report the caller holds (own, assigned, followed), with the cursor to pull from.",
        None,
    ),
];
