//! Generates the Tauri context (config, capabilities, embedded `ui/dist`, icons) at build time.

fn main() {
    // A server address baked into a build for a phone (`SMARTMAP_SERVER_URL=http://192.168.1.20:8080
    // npx tauri android build`): `option_env!` reads it, so a change must rebuild.
    println!("cargo:rerun-if-env-changed=SMARTMAP_SERVER_URL");
    tauri_build::build()
}
