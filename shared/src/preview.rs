//! Where a new report will go and when it will be due, before it is sent: the routing and the
//! deadline of a submission, computed by the one function the server's submission also calls
//! ([`plan`]), and the answer the UI shows ([`Preview`]: "Gldani district administration, due in
//! 3 working days").

use crate::calendar::Calendar;
use crate::district::District;
use crate::i18n::Localized;
use crate::ids::{CategoryId, DistrictId};
use crate::routing::{Route, RouteMatch, RoutingTable};
use crate::sla::{Sla, SlaRule, effective_sla, sla_deadline};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What routing decides for a report of a category in a district arriving at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The responsible body and why.
    pub route: Route,
    /// The deadline rule in force for that category and body.
    pub sla: Sla,
    /// The deadline, counted in working time from the arrival.
    pub deadline: DateTime<Utc>,
}

/// Routes a report of `category` (whose own deadline rule is `category_sla`) in `district` and
/// starts its clock at `now`: the body's per-category override wins over the category's rule.
pub fn plan(
    routing: &RoutingTable,
    overrides: &[SlaRule],
    calendar: &Calendar,
    category: &CategoryId,
    category_sla: Sla,
    district: &DistrictId,
    now: DateTime<Utc>,
) -> Plan {
    let route = routing.route(category, district);
    let sla = effective_sla(category_sla, overrides, category, &route.body);
    let deadline = sla_deadline(calendar, now, sla);
    Plan { route, sla, deadline }
}

/// A preview as the UI shows it. Wire type (`GET /api/preview`, and the phone's offline preview
/// has the same shape): add fields only, never rename or remove one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// District slug.
    pub district: String,
    /// District name.
    pub district_name: Localized,
    /// The responsible body's slug.
    pub body: String,
    /// Its name (the slug in both languages if the body is unknown).
    pub body_name: Localized,
    /// Why that body.
    pub matched: RouteMatch,
    /// The deadline rule.
    pub sla: Sla,
    /// The deadline if the report arrived at `from`.
    pub deadline: DateTime<Utc>,
    /// The instant the deadline was computed from.
    pub from: DateTime<Utc>,
}

impl Preview {
    /// The preview of `plan` for a report in `district`, computed from `from`; `body_name` is the
    /// routed body's name if known.
    pub fn new(plan: Plan, district: &District, body_name: Option<&Localized>, from: DateTime<Utc>) -> Preview {
        let body = plan.route.body.as_str().to_owned();
        let body_name = body_name.cloned().unwrap_or_else(|| Localized::new(body.as_str(), body.as_str()));
        Preview {
            district: district.id.as_str().to_owned(),
            district_name: district.name.clone(),
            body,
            body_name,
            matched: plan.route.matched,
            sla: plan.sla,
            deadline: plan.deadline,
            from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::tbilisi_bodies;
    use crate::district::demo_districts;
    use crate::ids::BodyId;
    use crate::routing::default_routing_rules;
    use crate::sla::SlaUnit;
    use chrono::TimeZone;

    #[test]
    fn a_body_override_wins_over_the_category_deadline_and_names_come_along() {
        let bodies = tbilisi_bodies();
        let table = RoutingTable::new(
            default_routing_rules(),
            bodies.iter().map(|b| b.id.clone()).collect(),
            BodyId::parse("city-hall").unwrap(),
        );
        let gldani = demo_districts().into_iter().find(|d| d.id.as_str() == "gldani").unwrap();
        let benches = CategoryId::parse("park-benches").unwrap();
        let days = |amount| Sla { amount, unit: SlaUnit::WorkingDays };
        // Tuesday 2026-03-10 09:00 in Tbilisi.
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 5, 0, 0).unwrap();
        let calendar = Calendar::georgian();
        let plain = plan(&table, &[], &calendar, &benches, days(10), &gldani.id, now);
        assert_eq!(plain.route.body.as_str(), "gamgeoba-gldani");
        assert_eq!(plain.sla, days(10));
        let rule = SlaRule { category: benches.clone(), body: plain.route.body.clone(), sla: days(2) };
        let overridden = plan(&table, &[rule], &calendar, &benches, days(10), &gldani.id, now);
        assert_eq!(overridden.sla, days(2));
        assert!(overridden.deadline < plain.deadline);

        let name = bodies.iter().find(|b| b.id == plain.route.body).map(|b| &b.name);
        let preview = Preview::new(plain.clone(), &gldani, name, now);
        assert_eq!((preview.district.as_str(), preview.body.as_str()), ("gldani", "gamgeoba-gldani"));
        assert_eq!(preview.body_name, name.unwrap().clone());
        let unknown = Preview::new(plain, &gldani, None, now);
        assert_eq!(unknown.body_name, Localized::new("gamgeoba-gldani", "gamgeoba-gldani"));
    }
}
