//! The six account roles and the scope each acts in.

use crate::ids::{BodyId, DistrictId};
use serde::{Deserialize, Serialize};

/// What an account is for. Staff roles carry the scope they act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reports problems, follows and disputes their own reports.
    Resident,
    /// Works the tickets assigned to them and closes them with proof photos. Belongs to a body.
    FieldCrew,
    /// Works the reports located in one district.
    DistrictStaff,
    /// Works the reports routed to one department (body).
    DepartmentStaff,
    /// Keeps public content decent citywide: hides abusive reports, marks duplicates.
    Moderator,
    /// Edits reference data and accounts; may do anything.
    Admin,
}

impl Role {
    /// Every role, for matrices and documentation.
    pub const ALL: [Role; 6] =
        [Role::Resident, Role::FieldCrew, Role::DistrictStaff, Role::DepartmentStaff, Role::Moderator, Role::Admin];

    /// The wire name, e.g. `district_staff`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::FieldCrew => "field_crew",
            Role::DistrictStaff => "district_staff",
            Role::DepartmentStaff => "department_staff",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who is acting, with the scope their role gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The account's role.
    pub role: Role,
    /// For district staff: their district.
    pub district: Option<DistrictId>,
    /// For department staff and field crews: their body.
    pub body: Option<BodyId>,
}

impl Scope {
    /// Whether this actor may work on (see in a queue, move through its states) a report that lies
    /// in `district` and is routed to `body`.
    pub fn may_work_on(&self, district: &DistrictId, body: Option<&BodyId>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::DistrictStaff => self.district.as_ref() == Some(district),
            Role::DepartmentStaff => body.is_some() && self.body.as_ref() == body,
            Role::Resident | Role::FieldCrew | Role::Moderator => false,
        }
    }

    /// Whether this actor works on reports at all (has a staff queue).
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::DistrictStaff | Role::DepartmentStaff | Role::Moderator | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DistrictId {
        DistrictId::parse(s).unwrap()
    }
    fn b(s: &str) -> BodyId {
        BodyId::parse(s).unwrap()
    }

    #[test]
    fn roles_round_trip_their_wire_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("mayor"), None);
    }

    #[test]
    fn staff_work_only_inside_their_scope() {
        let district = Scope { role: Role::DistrictStaff, district: Some(d("gldani")), body: None };
        assert!(district.may_work_on(&d("gldani"), Some(&b("tbilservice"))));
        assert!(!district.may_work_on(&d("vake"), Some(&b("tbilservice"))));

        let dept = Scope { role: Role::DepartmentStaff, district: None, body: Some(b("tbilservice")) };
        assert!(dept.may_work_on(&d("vake"), Some(&b("tbilservice"))));
        assert!(!dept.may_work_on(&d("vake"), Some(&b("gamgeoba-vake"))));
        assert!(!dept.may_work_on(&d("vake"), None));

        let resident = Scope { role: Role::Resident, district: None, body: None };
        assert!(!resident.may_work_on(&d("vake"), None));
        let admin = Scope { role: Role::Admin, district: None, body: None };
        assert!(admin.may_work_on(&d("vake"), None));
    }
}
