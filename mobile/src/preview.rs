//! The offline preview of a report: its district, the body that will answer it and its
//! deadline, computed with exactly the `smartmap-shared` functions the server routes with, over
//! synced reference data only.

use crate::error::{Error, Result};
use crate::store::ReferenceData;
use crate::views::Preview;
use chrono::{DateTime, Utc};
use smartmap_shared::calendar::Calendar;
use smartmap_shared::district::DistrictMap;
use smartmap_shared::geo::LatLon;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId};
use smartmap_shared::routing::RoutingTable;
use smartmap_shared::sla::{effective_sla, sla_deadline};

/// Where a report of `category` at `location` would go and when it would be due if it arrived
/// at `now`.
///
/// Errors: [`Error::NotYetSynced`] until categories, districts and the routing table have
/// arrived; [`Error::UnknownCategory`]; [`Error::OutsideTbilisi`]. Without a synced calendar the
/// statutory Georgian one is used (the server's decrees arrive with the calendar).
pub fn preview(reference: &ReferenceData, category: &str, location: LatLon, now: DateTime<Utc>) -> Result<Preview> {
    let routing = reference.routing.as_ref().ok_or(Error::NotYetSynced)?;
    if reference.categories.is_empty() || reference.districts.is_empty() {
        return Err(Error::NotYetSynced);
    }
    let category = reference
        .categories
        .iter()
        .find(|c| c.id.as_str() == category && c.active)
        .ok_or_else(|| Error::UnknownCategory(category.to_owned()))?;
    let map = DistrictMap::new(reference.districts.clone());
    let district = map.locate(location).ok_or_else(|| Error::OutsideTbilisi(location.to_string()))?;
    let fallback =
        BodyId::parse(routing.fallback.clone()).map_err(|e| Error::Corrupt(format!("routing fallback: {e}")))?;
    let table =
        RoutingTable::new(routing.rules.clone(), reference.bodies.iter().map(|b| b.id.clone()).collect(), fallback);
    let route = table.route(&category.id, &district.id);
    let sla = effective_sla(category.sla, &reference.sla_rules, &category.id, &route.body);
    let calendar = reference.calendar.clone().unwrap_or_else(Calendar::georgian);
    let deadline = sla_deadline(&calendar, now, sla);
    let body_name = reference
        .bodies
        .iter()
        .find(|b| b.id == route.body)
        .map(|b| b.name.clone())
        .unwrap_or_else(|| Localized::new(route.body.as_str(), route.body.as_str()));
    Ok(Preview {
        district: district.id.as_str().to_owned(),
        district_name: district.name.clone(),
        body: route.body.as_str().to_owned(),
        body_name,
        matched: route.matched,
        sla,
        deadline,
        from: now,
    })
}

/// The name of a category, if the phone knows it.
pub fn category_name(reference: &ReferenceData, category: &str) -> Option<Localized> {
    let id = CategoryId::parse(category).ok()?;
    reference.categories.iter().find(|c| c.id == id).map(|c| c.name.clone())
}

/// The name of a body, if the phone knows it.
pub fn body_name(reference: &ReferenceData, body: &str) -> Option<Localized> {
    reference.bodies.iter().find(|b| b.id.as_str() == body).map(|b| b.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartmap_shared::body::tbilisi_bodies;
    use smartmap_shared::category::first_stage_categories;
    use smartmap_shared::district::demo_districts;
    use smartmap_shared::routing::default_routing_rules;
    use smartmap_shared::sync::RoutingSnapshot;

    pub(crate) fn tbilisi_reference() -> ReferenceData {
        ReferenceData {
            categories: first_stage_categories(),
            bodies: tbilisi_bodies(),
            districts: demo_districts(),
            routing: Some(RoutingSnapshot { rules: default_routing_rules(), fallback: "city-hall".into() }),
            sla_rules: vec![],
            calendar: Some(Calendar::georgian()),
        }
    }

    #[test]
    fn nothing_is_previewed_before_reference_data_arrives() {
        let gldani = LatLon::new(41.8027, 44.8291).unwrap();
        let err = preview(&ReferenceData::default(), "pothole", gldani, Utc::now()).unwrap_err();
        assert!(matches!(err, Error::NotYetSynced), "{err}");
        assert!(err.to_string().contains("not been synced"));
    }

    #[test]
    fn a_report_in_gldani_previews_a_body_and_a_deadline_from_the_phones_clock() {
        let reference = tbilisi_reference();
        let gldani = LatLon::new(41.8027, 44.8291).unwrap();
        let category = &reference.categories[0];
        // Tuesday 2026-03-10 09:00 Tbilisi.
        let now = DateTime::parse_from_rfc3339("2026-03-10T05:00:00Z").unwrap().with_timezone(&Utc);
        let p = preview(&reference, category.id.as_str(), gldani, now).unwrap();
        assert_eq!(p.district, "gldani");
        assert!(!p.body.is_empty());
        assert_eq!(p.sla, effective_sla(category.sla, &[], &category.id, &BodyId::parse(p.body.clone()).unwrap()));
        assert_eq!(p.deadline, sla_deadline(&Calendar::georgian(), now, p.sla));
        assert!(p.deadline > now);
    }

    #[test]
    fn unknown_categories_and_places_outside_tbilisi_are_refused() {
        let reference = tbilisi_reference();
        let gldani = LatLon::new(41.8027, 44.8291).unwrap();
        assert!(matches!(preview(&reference, "unicorns", gldani, Utc::now()), Err(Error::UnknownCategory(_))));
        let batumi = LatLon::new(41.6168, 41.6367).unwrap();
        let category = reference.categories[0].id.as_str().to_owned();
        assert!(matches!(preview(&reference, &category, batumi, Utc::now()), Err(Error::OutsideTbilisi(_))));
    }
}
