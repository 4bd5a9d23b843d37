//! What residents can report. First-stage categories come from the action plan (commitment I.b);
//! more are added as data.

use crate::i18n::Localized;
use crate::ids::CategoryId;
use crate::sla::{Sla, SlaUnit};
use serde::{Deserialize, Serialize};

/// A report category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Stable slug, e.g. `street-lighting`.
    pub id: CategoryId,
    /// Display name in both languages.
    pub name: Localized,
    /// The default response deadline for reports in this category.
    pub sla: Sla,
    /// Inactive categories are kept for old reports but accept no new ones.
    pub active: bool,
}

/// The four first-stage categories of the action plan, with their default deadlines.
pub fn first_stage_categories() -> Vec<Category> {
    let cat = |id: &str, ka: &str, en: &str, amount, unit| Category {
        id: CategoryId::parse(id).expect("static slug"),
        name: Localized::new(ka, en),
        sla: Sla { amount, unit },
        active: true,
    };
    vec![
        cat("street-lighting", "გარე განათება", "Street lighting", 3, SlaUnit::WorkingDays),
        cat(
            "trees-greenery",
            "ხეები და გამწვანება (ფიტოსანიტარია, ვარჯის ფორმირება)",
            "Trees and greenery care (phytosanitary work, crown shaping)",
            10,
            SlaUnit::WorkingDays,
        ),
        cat("park-benches", "სკვერის სკამები", "Park benches", 10, SlaUnit::WorkingDays),
        cat("cleaning", "დასუფთავება", "Cleaning", 24, SlaUnit::WorkingHours),
    ]
}
