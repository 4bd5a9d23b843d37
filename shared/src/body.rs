//! Responsible bodies: City Hall's services and agencies, the district administrations
//! (gamgeobas) and Tbilservice Group.

use crate::i18n::Localized;
use crate::ids::{BodyId, DistrictId};
use serde::{Deserialize, Serialize};

/// What kind of organisation a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// A City Hall service (department), e.g. the Environmental Protection Service.
    Service,
    /// An agency or other subordinate entity.
    Agency,
    /// A district administration (gamgeoba); always tied to one district.
    DistrictAdministration,
    /// A municipal company, e.g. Tbilservice Group.
    Company,
}

impl BodyKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Service => "service",
            BodyKind::Agency => "agency",
            BodyKind::DistrictAdministration => "district_administration",
            BodyKind::Company => "company",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<BodyKind> {
        [BodyKind::Service, BodyKind::Agency, BodyKind::DistrictAdministration, BodyKind::Company]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A responsible body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Stable slug, e.g. `tbilservice`, `gamgeoba-vake`.
    pub id: BodyId,
    /// What kind of organisation it is.
    pub kind: BodyKind,
    /// Display name in both languages.
    pub name: Localized,
    /// For a district administration: its district.
    pub district: Option<DistrictId>,
    /// Where escalations for this body go (its head's address).
    pub head_email: Option<String>,
}

/// The id of the administration (gamgeoba) of `district`, by the project's naming convention.
pub fn district_administration_id(district: &DistrictId) -> BodyId {
    BodyId::parse(format!("gamgeoba-{district}")).expect("a district slug prefixed is a slug")
}

/// The bodies named in the action plan (its closing list of responsible bodies), Tbilservice
/// Group, and the administration of each of the ten districts. Head e-mails are left for the
/// operator to fill in.
pub fn tbilisi_bodies() -> Vec<Body> {
    let city = |id: &str, kind, ka: &str, en: &str| Body {
        id: BodyId::parse(id).expect("static slug"),
        kind,
        name: Localized::new(ka, en),
        district: None,
        head_email: None,
    };
    use BodyKind::*;
    let mut bodies = vec![
        city(
            "municipal-services-agency",
            Agency,
            "მუნიციპალური სერვისების განვითარების სააგენტო",
            "Municipal Services Development Agency",
        ),
        city("city-hall-legal", Service, "იურიდიული საქალაქო სამსახური", "Legal Service of City Hall"),
        city("city-hall-finance", Service, "საფინანსო საქალაქო სამსახური", "Finance Service of City Hall"),
        city(
            "city-hall-administration",
            Service,
            "ადმინისტრაციული საქალაქო სამსახური",
            "Administration Service of City Hall",
        ),
        city(
            "city-hall-environment",
            Service,
            "გარემოს დაცვის საქალაქო სამსახური",
            "Environmental Protection Service of City Hall",
        ),
        city(
            "city-hall-infrastructure",
            Service,
            "ინფრასტრუქტურის განვითარების საქალაქო სამსახური",
            "Infrastructure Development Service of City Hall",
        ),
        city(
            "city-hall-economy",
            Service,
            "ეკონომიკური განვითარების საქალაქო სამსახური",
            "Economic Development Service of City Hall",
        ),
        city("city-hall-transport", Service, "ტრანსპორტის საქალაქო სამსახური", "Transport Service of City Hall"),
        city("municipal-inspection", Service, "მუნიციპალური ინსპექცია", "Municipal Inspection (Supervision Service)"),
        city("architecture-service", Service, "არქიტექტურის სამსახური", "Architecture Service"),
        city("tbilservice", Company, "თბილსერვის ჯგუფი", "Tbilservice Group"),
        city(
            "public-communication-agency",
            Agency,
            "საზოგადოებასთან ურთიერთობის განვითარების სააგენტო",
            "Agency for Development of Communication with the Public",
        ),
    ];
    // Georgian names the administration by the district's genitive ("of Gldani").
    let districts = [
        ("chugureti", "ჩუღურეთის", "Chughureti"),
        ("didube", "დიდუბის", "Didube"),
        ("gldani", "გლდანის", "Gldani"),
        ("isani", "ისნის", "Isani"),
        ("krtsanisi", "კრწანისის", "Krtsanisi"),
        ("mtatsminda", "მთაწმინდის", "Mtatsminda"),
        ("nadzaladevi", "ნაძალადევის", "Nadzaladevi"),
        ("saburtalo", "საბურთალოს", "Saburtalo"),
        ("samgori", "სამგორის", "Samgori"),
        ("vake", "ვაკის", "Vake"),
    ];
    for (slug, genitive, en) in districts {
        let district = DistrictId::parse(slug).expect("static slug");
        bodies.push(Body {
            id: district_administration_id(&district),
            kind: DistrictAdministration,
            name: Localized::new(format!("{genitive} რაიონის გამგეობა"), format!("{en} District Administration")),
            district: Some(district),
            head_email: None,
        });
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_district_has_an_administration_and_ids_are_unique() {
        let bodies = tbilisi_bodies();
        let admins: Vec<_> = bodies.iter().filter(|b| b.kind == BodyKind::DistrictAdministration).collect();
        assert_eq!(admins.len(), 10);
        for admin in admins {
            let district = admin.district.as_ref().expect("an administration has a district");
            assert_eq!(admin.id, district_administration_id(district));
        }
        let mut ids: Vec<_> = bodies.iter().map(|b| b.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), bodies.len());
        assert!(bodies.iter().any(|b| b.id.as_str() == "tbilservice"));
    }
}
