//! What every handler shares: storage, clock, blob store, settings, and the reference data
//! (categories, bodies, districts, routing, calendar, per-body deadlines) cached in memory.

use crate::clock::Clock;
use crate::config::Settings;
use crate::media::BlobStore;
use crate::storage::Storage;
use smartmap_shared::body::Body;
use smartmap_shared::calendar::Calendar;
use smartmap_shared::category::Category;
use smartmap_shared::district::DistrictMap;
use smartmap_shared::ids::{BodyId, CategoryId};
use smartmap_shared::routing::RoutingTable;
use smartmap_shared::sla::{Sla, SlaRule, effective_sla};
use std::sync::{Arc, RwLock};

/// Reference data, read on every report and changed rarely (by admins or an import).
pub struct Reference {
    /// Every category.
    pub categories: Vec<Category>,
    /// Every body.
    pub bodies: Vec<Body>,
    /// District polygons, for locating reports.
    pub districts: DistrictMap,
    /// Category × district → body.
    pub routing: RoutingTable,
    /// The working-day calendar deadlines are counted on.
    pub calendar: Calendar,
    /// Per-body exceptions to categories' deadlines.
    pub sla_overrides: Vec<SlaRule>,
}

impl Reference {
    /// A category by id.
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.categories.iter().find(|c| &c.id == id)
    }

    /// A body by id.
    pub fn body(&self, id: &BodyId) -> Option<&Body> {
        self.bodies.iter().find(|b| &b.id == id)
    }

    /// The deadline rule for a report of `category` routed to `body`: the body's override if an
    /// admin set one, else the category's own deadline. `None` if the category is unknown.
    pub fn sla_for(&self, category: &CategoryId, body: &BodyId) -> Option<Sla> {
        let default = self.category(category)?.sla;
        Some(effective_sla(default, &self.sla_overrides, category, body))
    }
}

/// Shared handler state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub storage: Arc<dyn Storage>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Photo blobs.
    pub blobs: BlobStore,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Recently resolved sessions.
    pub sessions: Arc<crate::auth::SessionCache>,
    reference: Arc<RwLock<Arc<Reference>>>,
}

impl AppState {
    /// Builds the state and loads reference data from storage.
    pub async fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        blobs: BlobStore,
        settings: Settings,
    ) -> anyhow::Result<AppState> {
        let reference = load_reference(storage.as_ref(), &settings).await?;
        Ok(AppState {
            storage,
            clock,
            blobs,
            settings: Arc::new(settings),
            sessions: Arc::default(),
            reference: Arc::new(RwLock::new(Arc::new(reference))),
        })
    }

    /// The same state seen through another clock (demo data is replayed at past times).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> AppState {
        AppState { clock, ..self.clone() }
    }

    /// A consistent snapshot of the reference data.
    pub fn reference(&self) -> Arc<Reference> {
        self.reference.read().expect("reference lock").clone()
    }

    /// Re-reads reference data after an edit. (With several replicas on PostgreSQL, each reloads
    /// on its own edits; others pick changes up on restart — see ARCHITECTURE.md.)
    pub async fn reload_reference(&self) -> anyhow::Result<()> {
        let fresh = load_reference(self.storage.as_ref(), &self.settings).await?;
        *self.reference.write().expect("reference lock") = Arc::new(fresh);
        Ok(())
    }
}

async fn load_reference(storage: &dyn Storage, settings: &Settings) -> anyhow::Result<Reference> {
    let categories = storage.categories().await?;
    let bodies = storage.bodies().await?;
    let districts = DistrictMap::new(storage.districts().await?);
    let known: Vec<BodyId> = bodies.iter().map(|b| b.id.clone()).collect();
    let fallback = BodyId::parse(settings.fallback_body.clone())
        .map_err(|e| anyhow::anyhow!("fallback_body {:?}: {e}", settings.fallback_body))?;
    let routing = RoutingTable::new(storage.routing_rules().await?, known, fallback);
    let sla_overrides = storage.sla_overrides().await?;
    Ok(Reference { categories, bodies, districts, routing, calendar: Calendar::georgian(), sla_overrides })
}
