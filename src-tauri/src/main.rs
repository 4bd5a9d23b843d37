//! The desktop app (Linux, macOS, Windows); Android and iOS start in `smartmap_app_lib::run`.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    smartmap_app_lib::run()
}
