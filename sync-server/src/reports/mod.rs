//! Fix-Tbilisi reports: submission (validate, locate, route, start the deadline clock) and its
//! preview, the actions staff, crews and reporters take, following, the staff queue's scope and
//! filters with its CSV export, and the views the public and staff see.
//!
//! This layer turns requests already parsed by the HTTP layer into domain decisions (through
//! `smartmap_shared::report::transition`) and storage changes; it holds no SQL and no HTTP.

pub mod actions;
pub mod export;
pub mod follow;
pub mod photos;
pub mod preview;
pub mod queue;
pub mod submit;
pub mod views;
