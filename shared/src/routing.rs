//! Routing: which body answers a report of a given category in a given district.
//!
//! Rules are data (operators edit them); the precedence is code, here, so the phone previews
//! exactly the body the server will pick:
//! 1. a rule for this category in this district ([`RouteMatch::Exact`]);
//! 2. a rule for this category in every district ([`RouteMatch::CategoryWide`]);
//! 3. the district's administration (gamgeoba), if that body exists
//!    ([`RouteMatch::DistrictAdministration`]);
//! 4. the table's fallback, a body that triages by hand ([`RouteMatch::Fallback`]).

use crate::body::district_administration_id;
use crate::ids::{BodyId, CategoryId, DistrictId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// "Reports of `category` in `district` go to `body`."
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoutingRule {
    /// The category the rule is for.
    pub category: CategoryId,
    /// The district it is for; `None` means every district.
    pub district: Option<DistrictId>,
    /// The body that answers.
    pub body: BodyId,
}

/// Which step of the precedence chose a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMatch {
    /// A rule for this category in this district.
    Exact,
    /// A rule for this category in every district.
    CategoryWide,
    /// No rule; the district's administration answers.
    DistrictAdministration,
    /// No rule and no administration for the district; the fallback body triages.
    Fallback,
}

/// The outcome of routing a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The body that answers the report.
    pub body: BodyId,
    /// Why that body.
    pub matched: RouteMatch,
}

/// Routing rules together with the bodies that exist and a fallback.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    rules: Vec<RoutingRule>,
    lookup: HashMap<(CategoryId, Option<DistrictId>), BodyId>,
    known_bodies: HashSet<BodyId>,
    fallback: BodyId,
}

impl RoutingTable {
    /// Builds a table. `known_bodies` are the bodies that exist, so a district without an
    /// administration of its own falls through to `fallback` instead of to a body nobody reads.
    /// If two rules name the same category and district, the earlier one wins (see
    /// [`RoutingTable::shadowed_rules`]).
    pub fn new(rules: Vec<RoutingRule>, known_bodies: Vec<BodyId>, fallback: BodyId) -> RoutingTable {
        let mut lookup = HashMap::with_capacity(rules.len());
        for rule in &rules {
            lookup.entry((rule.category.clone(), rule.district.clone())).or_insert_with(|| rule.body.clone());
        }
        RoutingTable { rules, lookup, known_bodies: known_bodies.into_iter().collect(), fallback }
    }

    /// The body that answers a report of `category` in `district`, and why (see the module
    /// documentation for the precedence).
    pub fn route(&self, category: &CategoryId, district: &DistrictId) -> Route {
        let rule = |district: Option<&DistrictId>| self.lookup.get(&(category.clone(), district.cloned()));
        if let Some(body) = rule(Some(district)) {
            return Route { body: body.clone(), matched: RouteMatch::Exact };
        }
        if let Some(body) = rule(None) {
            return Route { body: body.clone(), matched: RouteMatch::CategoryWide };
        }
        let administration = district_administration_id(district);
        if self.known_bodies.contains(&administration) {
            return Route { body: administration, matched: RouteMatch::DistrictAdministration };
        }
        Route { body: self.fallback.clone(), matched: RouteMatch::Fallback }
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[RoutingRule] {
        &self.rules
    }

    /// The body that gets whatever no rule or administration covers.
    pub fn fallback(&self) -> &BodyId {
        &self.fallback
    }

    /// Rules that send reports to a body not among the known bodies: a data error for the
    /// operator to fix (the table still follows them).
    pub fn rules_to_unknown_bodies(&self) -> impl Iterator<Item = &RoutingRule> {
        self.rules.iter().filter(|r| !self.known_bodies.contains(&r.body))
    }

    /// Rules that never apply because an earlier rule has the same category and district.
    pub fn shadowed_rules(&self) -> impl Iterator<Item = &RoutingRule> {
        let mut seen = HashSet::new();
        self.rules.iter().filter(move |r| !seen.insert((&r.category, &r.district)))
    }
}

/// The rules a fresh install starts with, for the four first-stage categories.
///
/// - `street-lighting` → `city-hall-infrastructure` (City Hall's Infrastructure Development
///   Service): outdoor lighting is one city-wide network run centrally, not by districts.
/// - `cleaning` → `tbilservice` (Tbilservice Group): the municipal company cleans streets in
///   every district.
/// - `trees-greenery` → `city-hall-environment` (the Environmental Protection Service), which
///   handles phytosanitary work and crown shaping city-wide.
/// - `park-benches`: deliberately no rule. Benches in squares are each district
///   administration's upkeep, and the routing precedence already sends a rule-less category to
///   the district's administration, so a rule here would only have to be repeated per district.
pub fn default_routing_rules() -> Vec<RoutingRule> {
    let everywhere = |category: &str, body: &str| RoutingRule {
        category: CategoryId::parse(category).expect("static slug"),
        district: None,
        body: BodyId::parse(body).expect("static slug"),
    };
    vec![
        everywhere("street-lighting", "city-hall-infrastructure"),
        everywhere("cleaning", "tbilservice"),
        everywhere("trees-greenery", "city-hall-environment"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(s: &str) -> CategoryId {
        CategoryId::parse(s).unwrap()
    }

    fn district(s: &str) -> DistrictId {
        DistrictId::parse(s).unwrap()
    }

    fn body(s: &str) -> BodyId {
        BodyId::parse(s).unwrap()
    }

    fn route(body_slug: &str, matched: RouteMatch) -> Route {
        Route { body: body(body_slug), matched }
    }

    /// Default rules, every district's administration except Krtsanisi's, and City Hall's
    /// call centre as the fallback.
    fn table_with(extra: Vec<RoutingRule>) -> RoutingTable {
        let mut rules = extra;
        rules.extend(default_routing_rules());
        let mut known: Vec<BodyId> =
            ["gldani", "vake", "isani"].iter().map(|d| district_administration_id(&district(d))).collect();
        known.extend(["city-hall-infrastructure", "tbilservice", "city-hall-environment", "city-hall"].map(body));
        RoutingTable::new(rules, known, body("city-hall"))
    }

    #[test]
    fn category_wide_rules_cover_every_district() {
        let table = table_with(vec![]);
        for d in ["gldani", "vake", "krtsanisi"] {
            let d = district(d);
            assert_eq!(
                table.route(&cat("street-lighting"), &d),
                route("city-hall-infrastructure", RouteMatch::CategoryWide)
            );
            assert_eq!(table.route(&cat("cleaning"), &d), route("tbilservice", RouteMatch::CategoryWide));
            assert_eq!(
                table.route(&cat("trees-greenery"), &d),
                route("city-hall-environment", RouteMatch::CategoryWide)
            );
        }
    }

    #[test]
    fn park_benches_go_to_the_districts_own_administration() {
        let table = table_with(vec![]);
        assert_eq!(
            table.route(&cat("park-benches"), &district("gldani")),
            route("gamgeoba-gldani", RouteMatch::DistrictAdministration)
        );
        assert_eq!(
            table.route(&cat("park-benches"), &district("vake")),
            route("gamgeoba-vake", RouteMatch::DistrictAdministration)
        );
    }

    #[test]
    fn without_an_administration_the_fallback_triages() {
        let table = table_with(vec![]);
        assert_eq!(table.route(&cat("park-benches"), &district("krtsanisi")), route("city-hall", RouteMatch::Fallback));
        assert_eq!(table.fallback(), &body("city-hall"));
    }

    #[test]
    fn an_exact_rule_beats_a_category_wide_one_only_in_its_district() {
        let table = table_with(vec![
            RoutingRule { category: cat("cleaning"), district: Some(district("vake")), body: body("gamgeoba-vake") },
            RoutingRule { category: cat("park-benches"), district: Some(district("isani")), body: body("tbilservice") },
        ]);
        assert_eq!(table.route(&cat("cleaning"), &district("vake")), route("gamgeoba-vake", RouteMatch::Exact));
        assert_eq!(table.route(&cat("cleaning"), &district("isani")), route("tbilservice", RouteMatch::CategoryWide));
        assert_eq!(table.route(&cat("park-benches"), &district("isani")), route("tbilservice", RouteMatch::Exact));
        assert_eq!(
            table.route(&cat("park-benches"), &district("gldani")),
            route("gamgeoba-gldani", RouteMatch::DistrictAdministration)
        );
    }

    #[test]
    fn a_category_wide_rule_beats_the_district_administration() {
        let table = table_with(vec![]);
        assert_eq!(table.route(&cat("cleaning"), &district("gldani")).matched, RouteMatch::CategoryWide);
    }

    #[test]
    fn the_earlier_of_two_clashing_rules_wins_and_the_later_is_reported() {
        let first = RoutingRule { category: cat("cleaning"), district: None, body: body("city-hall") };
        let table = table_with(vec![first]);
        assert_eq!(table.route(&cat("cleaning"), &district("vake")), route("city-hall", RouteMatch::CategoryWide));
        let shadowed: Vec<&RoutingRule> = table.shadowed_rules().collect();
        assert_eq!(shadowed.len(), 1);
        assert_eq!(shadowed[0].body, body("tbilservice"));
        assert_eq!(table.rules().len(), 4);
    }

    #[test]
    fn rules_to_bodies_that_do_not_exist_are_listed() {
        let table = RoutingTable::new(default_routing_rules(), vec![body("tbilservice")], body("city-hall"));
        let unknown: Vec<&str> = table.rules_to_unknown_bodies().map(|r| r.body.as_str()).collect();
        assert_eq!(unknown, ["city-hall-infrastructure", "city-hall-environment"]);
    }

    #[test]
    fn with_the_citys_bodies_every_first_stage_report_reaches_a_real_body() {
        let bodies: Vec<BodyId> = crate::body::tbilisi_bodies().into_iter().map(|b| b.id).collect();
        let table = RoutingTable::new(default_routing_rules(), bodies.clone(), body("city-hall"));
        assert_eq!(table.rules_to_unknown_bodies().count(), 0);
        for category in crate::category::first_stage_categories() {
            for d in crate::district::demo_districts() {
                let route = table.route(&category.id, &d.id);
                assert_ne!(route.matched, RouteMatch::Fallback, "{} in {}", category.id, d.id);
                assert!(bodies.contains(&route.body));
            }
        }
    }

    #[test]
    fn routes_travel_as_snake_case() {
        let json = serde_json::to_value(route("gamgeoba-vake", RouteMatch::DistrictAdministration)).unwrap();
        assert_eq!(json, serde_json::json!({"body": "gamgeoba-vake", "matched": "district_administration"}));
    }
}
