//! Fix-Tbilisi reports: submission (validate, locate, route, start the deadline clock), the
//! actions staff, crews and reporters take, and the views the public and staff see.
//!
//! This layer turns requests already parsed by the HTTP layer into domain decisions (through
//! `smartmap_shared::report::transition`) and storage changes; it holds no SQL and no HTTP.

pub mod actions;
pub mod photos;
pub mod submit;
pub mod views;
