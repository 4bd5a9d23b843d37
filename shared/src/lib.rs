//! Smart Map Tbilisi's domain model and wire types.
//!
//! Pure: nothing here touches a database, the network, the file system or a clock. The server
//! (`sync-server`) and the phone (`mobile`) both link this crate, so a report routed or a deadline
//! previewed on a phone offline is computed by exactly the code the server uses.
//!
//! # Layout
//! - [`i18n`]: text in Georgian and English.
//! - [`ids`]: identifiers of categories, bodies, districts, users and reports.
//! - [`role`]: the six account roles and what each is scoped to.
//! - [`category`], [`body`]: what can be reported, and who answers it.
//! - [`geo`], [`district`]: coordinates, polygons, and which district holds a point.
//! - [`routing`]: category × district → the responsible body.
//! - [`calendar`], [`sla`]: the Georgian working-day calendar and response deadlines.
//! - [`preview`]: where a report will go and when it is due, for submission and preview alike.
//! - [`report`]: the report life cycle as a state machine of legal transitions.
//! - [`sync`]: the sync protocol's wire types (mutations, change feed, tokens, tus constants).

pub mod body;
pub mod calendar;
pub mod category;
pub mod district;
pub mod geo;
pub mod i18n;
pub mod ids;
#[cfg(feature = "photo")]
pub mod photo;
pub mod preview;
pub mod report;
pub mod role;
pub mod routing;
pub mod sla;
pub mod sync;
