//! The life of a Fix-Tbilisi report, as a state machine that knows only legal transitions.
//!
//! ```text
//! submitted ─route─▶ routed ─acknowledge─▶ acknowledged ─assign_crew─▶ in_progress ─mark_fixed─▶ fixed
//!                      ▲  │                     │                          │ (≥1 proof photo)
//!   not_responsible ───┘  ├── mark_duplicate ───┴──────────▶ duplicate ◀───┤
//!   (re-route, from any   └── no_action (reason) ─────────▶ no_action ◀───┘
//!    open state)                                                 │
//!   closed (fixed | duplicate | no_action) ─dispute (reporter, within the window)─▶ reopened
//!   reopened behaves like routed: acknowledge, re-route or close again.
//! ```
//!
//! The state machine is pure: who may act, and in which district, is decided by the server from
//! [`crate::role`]; what the transition needs to know (the time, when the report closed, its body)
//! arrives in a [`TransitionContext`].

use crate::ids::{BodyId, ReportId, UserId};
use crate::role::Role;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a report is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Received, not yet routed (routing happens at once on the server; a phone shows this while
    /// the report waits in its outbox).
    Submitted,
    /// Routed to a responsible body; its response deadline runs.
    Routed,
    /// The body has seen it and accepted it as theirs.
    Acknowledged,
    /// A field crew is assigned and working on it.
    InProgress,
    /// Closed: fixed, with proof photos.
    Fixed,
    /// Closed: the same problem is already reported (linked to the original).
    Duplicate,
    /// Closed: nothing will be done, with a public reason.
    NoAction,
    /// The reporter disputed a closure; the body must look again.
    Reopened,
}

impl ReportStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [ReportStatus; 8] = [
        ReportStatus::Submitted,
        ReportStatus::Routed,
        ReportStatus::Acknowledged,
        ReportStatus::InProgress,
        ReportStatus::Fixed,
        ReportStatus::Duplicate,
        ReportStatus::NoAction,
        ReportStatus::Reopened,
    ];

    /// The wire name, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Submitted => "submitted",
            ReportStatus::Routed => "routed",
            ReportStatus::Acknowledged => "acknowledged",
            ReportStatus::InProgress => "in_progress",
            ReportStatus::Fixed => "fixed",
            ReportStatus::Duplicate => "duplicate",
            ReportStatus::NoAction => "no_action",
            ReportStatus::Reopened => "reopened",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ReportStatus> {
        ReportStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Closed reports no longer count against a deadline.
    pub fn is_closed(self) -> bool {
        matches!(self, ReportStatus::Fixed | ReportStatus::Duplicate | ReportStatus::NoAction)
    }

    /// Open reports are the body's work in hand (routed and later, not closed).
    fn is_workable(self) -> bool {
        matches!(
            self,
            ReportStatus::Routed | ReportStatus::Acknowledged | ReportStatus::InProgress | ReportStatus::Reopened
        )
    }
}

impl fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something someone does to a report. The wire form is tagged by `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The system routes a submitted report to a body.
    Route {
        /// The responsible body.
        body: BodyId,
    },
    /// The body accepts the report as theirs.
    Acknowledge,
    /// A field crew is put on it (or replaced).
    AssignCrew {
        /// The crew member's account.
        crew: UserId,
    },
    /// The work is done; proof photos show it.
    MarkFixed {
        /// How many proof photos accompany the closure.
        proof_photos: u32,
    },
    /// The body is not responsible; the report goes to another body and its clock restarts.
    NotResponsible {
        /// The body that should answer instead.
        to_body: BodyId,
    },
    /// The same problem is already reported.
    MarkDuplicate {
        /// The original report.
        original: ReportId,
    },
    /// Nothing will be done; the reason is public.
    NoAction {
        /// Why, for the public.
        reason: String,
    },
    /// The reporter disputes a closure.
    Dispute {
        /// Why the reporter disagrees.
        reason: String,
    },
    /// A public response without a change of state (e.g. from a template).
    Respond,
    /// A public comment on the timeline by anyone signed in; the status does not change. The
    /// server requires a non-empty public note.
    Comment,
}

impl Action {
    /// The wire name of the action, e.g. `mark_fixed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Route { .. } => "route",
            Action::Acknowledge => "acknowledge",
            Action::AssignCrew { .. } => "assign_crew",
            Action::MarkFixed { .. } => "mark_fixed",
            Action::NotResponsible { .. } => "not_responsible",
            Action::MarkDuplicate { .. } => "mark_duplicate",
            Action::NoAction { .. } => "no_action",
            Action::Dispute { .. } => "dispute",
            Action::Respond => "respond",
            Action::Comment => "comment",
        }
    }

    /// Whether an account of `role` may ever take this action. Scope (which district, which
    /// body, which assignment, whose report) is checked by the server on top of this.
    pub fn permitted_to(&self, role: Role) -> bool {
        use Role::*;
        match self {
            // Routing is the system's alone; a person re-routes with `NotResponsible`.
            Action::Route { .. } => false,
            Action::Acknowledge
            | Action::AssignCrew { .. }
            | Action::NotResponsible { .. }
            | Action::NoAction { .. }
            | Action::Respond => matches!(role, DistrictStaff | DepartmentStaff | Admin),
            Action::MarkDuplicate { .. } => {
                matches!(role, DistrictStaff | DepartmentStaff | Moderator | Admin)
            }
            Action::MarkFixed { .. } => matches!(role, FieldCrew | DistrictStaff | DepartmentStaff | Admin),
            // Any account may dispute — the server checks it is the reporter's own report.
            Action::Dispute { .. } => true,
            // Anyone signed in may comment, on any report they can see.
            Action::Comment => true,
        }
    }
}

/// What a transition needs to know besides the current status.
#[derive(Debug, Clone)]
pub struct TransitionContext {
    /// The report acted on.
    pub report: ReportId,
    /// The body it is routed to now, if any.
    pub body: Option<BodyId>,
    /// When it was closed, if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// How long after a closure the reporter may dispute it.
    pub dispute_window: Duration,
    /// Now, from the injected clock.
    pub now: DateTime<Utc>,
}

/// Why a transition was refused. Each names the rule broken, for a clear error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action is not legal from the current status.
    #[error("a report that is {from} cannot be moved by '{action}'")]
    Illegal {
        /// The current status.
        from: ReportStatus,
        /// The action attempted.
        action: &'static str,
    },
    /// Fixed needs proof.
    #[error("closing a report as fixed needs at least one proof photo")]
    ProofPhotoRequired,
    /// A reason (public note) must be given.
    #[error("a reason is required")]
    ReasonRequired,
    /// The dispute window has passed.
    #[error("a closure may be disputed within {window_days} days; this one closed on {closed_at}")]
    DisputeWindowClosed {
        /// When the report was closed.
        closed_at: DateTime<Utc>,
        /// The window, in days.
        window_days: i64,
    },
    /// Re-routing to the body that already has it.
    #[error("the report is already routed to {0}")]
    SameBody(BodyId),
    /// A report cannot duplicate itself.
    #[error("a report cannot be a duplicate of itself")]
    SelfDuplicate,
}

/// Applies `action` to a report in status `from`, returning the new status, or why not.
pub fn transition(
    from: ReportStatus,
    action: &Action,
    ctx: &TransitionContext,
) -> Result<ReportStatus, TransitionError> {
    use ReportStatus::*;
    let illegal = || TransitionError::Illegal { from, action: action.kind() };
    match action {
        Action::Route { .. } => match from {
            Submitted => Ok(Routed),
            _ => Err(illegal()),
        },
        Action::Acknowledge => match from {
            Routed | Reopened => Ok(Acknowledged),
            _ => Err(illegal()),
        },
        Action::AssignCrew { .. } => match from {
            Acknowledged | InProgress => Ok(InProgress),
            _ => Err(illegal()),
        },
        Action::MarkFixed { proof_photos } => match from {
            InProgress if *proof_photos == 0 => Err(TransitionError::ProofPhotoRequired),
            InProgress => Ok(Fixed),
            _ => Err(illegal()),
        },
        Action::NotResponsible { to_body } => {
            if !from.is_workable() {
                return Err(illegal());
            }
            if ctx.body.as_ref() == Some(to_body) {
                return Err(TransitionError::SameBody(to_body.clone()));
            }
            Ok(Routed)
        }
        Action::MarkDuplicate { original } => {
            if !from.is_workable() {
                return Err(illegal());
            }
            if *original == ctx.report {
                return Err(TransitionError::SelfDuplicate);
            }
            Ok(Duplicate)
        }
        Action::NoAction { reason } => {
            if !from.is_workable() {
                return Err(illegal());
            }
            if reason.trim().is_empty() {
                return Err(TransitionError::ReasonRequired);
            }
            Ok(NoAction)
        }
        Action::Dispute { reason } => {
            if !from.is_closed() {
                return Err(illegal());
            }
            if reason.trim().is_empty() {
                return Err(TransitionError::ReasonRequired);
            }
            let closed_at = ctx.closed_at.unwrap_or(ctx.now);
            if ctx.now > closed_at + ctx.dispute_window {
                return Err(TransitionError::DisputeWindowClosed {
                    closed_at,
                    window_days: ctx.dispute_window.num_days(),
                });
            }
            Ok(Reopened)
        }
        Action::Respond => match from {
            Submitted => Err(illegal()),
            other => Ok(other),
        },
        // A comment leaves the report where it is, whatever its status.
        Action::Comment => Ok(from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReportStatus::*;
    use chrono::TimeZone;

    fn body(s: &str) -> BodyId {
        BodyId::parse(s).unwrap()
    }

    fn ctx() -> TransitionContext {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        TransitionContext {
            report: ReportId(uuid::Uuid::from_u128(1)),
            body: Some(body("gamgeoba-vake")),
            closed_at: Some(now - Duration::days(3)),
            dispute_window: Duration::days(14),
            now,
        }
    }

    /// One of each action, with valid arguments.
    fn every_action() -> Vec<Action> {
        vec![
            Action::Route { body: body("tbilservice") },
            Action::Acknowledge,
            Action::AssignCrew { crew: UserId(uuid::Uuid::from_u128(7)) },
            Action::MarkFixed { proof_photos: 1 },
            Action::NotResponsible { to_body: body("tbilservice") },
            Action::MarkDuplicate { original: ReportId(uuid::Uuid::from_u128(2)) },
            Action::NoAction { reason: "private land".into() },
            Action::Dispute { reason: "the lamp is still dark".into() },
            Action::Respond,
            Action::Comment,
        ]
    }

    /// The whole legal table, written out by hand: (from, action) → to. Everything else is illegal.
    fn legal(from: ReportStatus, action: &str) -> Option<ReportStatus> {
        let open = [Routed, Acknowledged, InProgress, Reopened];
        let closed = [Fixed, Duplicate, NoAction];
        match action {
            "route" if from == Submitted => Some(Routed),
            "acknowledge" if from == Routed || from == Reopened => Some(Acknowledged),
            "assign_crew" if from == Acknowledged || from == InProgress => Some(InProgress),
            "mark_fixed" if from == InProgress => Some(Fixed),
            "not_responsible" if open.contains(&from) => Some(Routed),
            "mark_duplicate" if open.contains(&from) => Some(Duplicate),
            "no_action" if open.contains(&from) => Some(NoAction),
            "dispute" if closed.contains(&from) => Some(Reopened),
            "respond" if from != Submitted => Some(from),
            "comment" => Some(from),
            _ => None,
        }
    }

    #[test]
    fn every_status_action_pair_follows_the_table() {
        let mut legal_count = 0;
        for from in ReportStatus::ALL {
            for action in every_action() {
                let got = transition(from, &action, &ctx());
                match legal(from, action.kind()) {
                    Some(to) => {
                        legal_count += 1;
                        assert_eq!(got, Ok(to), "{from} --{}--> should reach {to}", action.kind())
                    }
                    None => assert_eq!(
                        got,
                        Err(TransitionError::Illegal { from, action: action.kind() }),
                        "{from} --{}--> should be illegal",
                        action.kind()
                    ),
                }
            }
        }
        // 1 route + 2 acknowledge + 2 assign + 1 fixed + 4×3 open-state closures/re-routes
        // + 3 disputes + 7 responds + 8 comments.
        assert_eq!(legal_count, 1 + 2 + 2 + 1 + 12 + 3 + 7 + 8);
    }

    #[test]
    fn a_comment_keeps_every_status_and_anyone_may_write_one() {
        for from in ReportStatus::ALL {
            assert_eq!(transition(from, &Action::Comment, &ctx()), Ok(from), "{from}");
        }
        for role in Role::ALL {
            assert!(Action::Comment.permitted_to(role), "{}", role.as_str());
        }
        let a: Action = serde_json::from_str(r#"{"action":"comment"}"#).unwrap();
        assert_eq!(a, Action::Comment);
        assert_eq!(a.kind(), "comment");
    }

    #[test]
    fn fixed_needs_a_proof_photo() {
        let got = transition(InProgress, &Action::MarkFixed { proof_photos: 0 }, &ctx());
        assert_eq!(got, Err(TransitionError::ProofPhotoRequired));
    }

    #[test]
    fn no_action_and_dispute_need_a_reason() {
        let blank = "  \n".to_string();
        assert_eq!(
            transition(Acknowledged, &Action::NoAction { reason: blank.clone() }, &ctx()),
            Err(TransitionError::ReasonRequired)
        );
        assert_eq!(transition(Fixed, &Action::Dispute { reason: blank }, &ctx()), Err(TransitionError::ReasonRequired));
    }

    #[test]
    fn a_closure_can_be_disputed_only_inside_the_window() {
        let mut c = ctx();
        c.closed_at = Some(c.now - Duration::days(14));
        let dispute = Action::Dispute { reason: "still broken".into() };
        assert_eq!(transition(Fixed, &dispute, &c), Ok(Reopened), "the last day still counts");
        c.closed_at = Some(c.now - Duration::days(14) - Duration::seconds(1));
        assert!(matches!(
            transition(Fixed, &dispute, &c),
            Err(TransitionError::DisputeWindowClosed { window_days: 14, .. })
        ));
    }

    #[test]
    fn re_routing_needs_another_body_and_duplicates_another_report() {
        let c = ctx();
        assert_eq!(
            transition(Routed, &Action::NotResponsible { to_body: body("gamgeoba-vake") }, &c),
            Err(TransitionError::SameBody(body("gamgeoba-vake")))
        );
        assert_eq!(
            transition(Routed, &Action::MarkDuplicate { original: c.report }, &c),
            Err(TransitionError::SelfDuplicate)
        );
    }

    #[test]
    fn only_the_right_roles_may_take_each_action() {
        let fixed = Action::MarkFixed { proof_photos: 1 };
        assert!(fixed.permitted_to(Role::FieldCrew));
        assert!(!fixed.permitted_to(Role::Resident));
        assert!(!fixed.permitted_to(Role::Moderator));
        assert!(!Action::Acknowledge.permitted_to(Role::FieldCrew));
        assert!(!Action::Acknowledge.permitted_to(Role::Moderator));
        assert!(Action::MarkDuplicate { original: ReportId(uuid::Uuid::nil()) }.permitted_to(Role::Moderator));
        for role in Role::ALL {
            assert!(!Action::Route { body: body("x") }.permitted_to(role), "routing is the system's");
        }
    }

    #[test]
    fn statuses_round_trip_their_wire_names() {
        for st in ReportStatus::ALL {
            assert_eq!(ReportStatus::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
    }

    #[test]
    fn actions_read_from_tagged_json() {
        let a: Action = serde_json::from_str(r#"{"action":"no_action","reason":"private land"}"#).unwrap();
        assert_eq!(a, Action::NoAction { reason: "private land".into() });
        assert!(serde_json::from_str::<Action>(r#"{"action":"teleport"}"#).is_err());
    }
}
