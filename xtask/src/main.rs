//! `cargo xtask` — the project's task runner, so the README's two commands are whole:
//!
//! - `cargo xtask run [ARGS…]` builds the UI (`ui/dist`) and runs the server on the embedded
//!   SQLite default with demo data (`smartmap serve ARGS…`), which serves the UI at `/`.
//! - `cargo xtask test` builds the UI, runs every Rust test (`cargo test --workspace`, which
//!   includes the Tauri app's end-to-end test), then the browser end-to-end suite (Playwright and
//!   Debian's Chromium against the real server).
//! - `cargo xtask ui` builds the UI only; `cargo xtask e2e` runs the browser suite only;
//!   `cargo xtask icons` regenerates every app icon from `icons/smartmap.svg`.
//!
//! Node packages are installed with `npm ci` whenever `ui/package-lock.json` changed since the last
//! install.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let outcome = match task {
        "run" => build_ui().and_then(|()| run_server(rest)),
        "test" => test_everything(),
        "ui" => build_ui(),
        "e2e" => build_ui().and_then(|()| cargo(&["build", "--bin", "smartmap"])).and_then(|()| browser_e2e()),
        "icons" => npm(&["run", "icons"]),
        _ => {
            eprintln!("{}", USAGE);
            return if task == "help" { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
  run [ARGS…]  build the UI and run the server (SQLite, demo data); ARGS go to `smartmap serve`
  test         build the UI, run every Rust test, then the browser end-to-end suite
  ui           build the UI into ui/dist
  e2e          build the UI and the server, run the browser end-to-end suite only
  icons        regenerate the app icons from icons/smartmap.svg";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ sits in the workspace").to_path_buf()
}

fn ui_dir() -> PathBuf {
    root().join("ui")
}

fn run_server(args: &[String]) -> Result {
    let mut command = vec!["run", "--bin", "smartmap", "--", "serve"];
    command.extend(args.iter().map(String::as_str));
    cargo(&command)
}

fn test_everything() -> Result {
    check_test_prerequisites()?;
    build_ui()?;
    // This also builds target/debug/smartmap (the server's own integration tests run it), which
    // the browser suite starts: a separate `cargo build` would resolve features without the
    // dev-dependencies and rebuild half the dependency tree.
    cargo(&["test", "--workspace"])?;
    browser_e2e()
}

/// The suite needs system packages (WebKitGTK for the Tauri app, its WebDriver, Xvfb, Chromium,
/// PostgreSQL): `.ci/setup` installs them on Debian. Run as root on a machine without them, the
/// runner calls it; otherwise it says what to do before a long build fails on it.
fn check_test_prerequisites() -> Result {
    let mut missing: Vec<&str> =
        ["tauri-driver", "WebKitWebDriver", "chromium", "Xvfb"].into_iter().filter(|p| !on_path(p)).collect();
    let webkit = Command::new("pkg-config").args(["--exists", "webkit2gtk-4.1"]).status();
    if !webkit.is_ok_and(|status| status.success()) {
        missing.push("webkit2gtk-4.1 (dev files)");
    }
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    if root_user {
        eprintln!("xtask: missing {}: running .ci/setup", missing.join(", "));
        return run(&mut Command::new(root().join(".ci/setup")));
    }
    Err(format!(
        "missing {}. On Debian, as root: .ci/setup — it installs what the tests need and starts PostgreSQL.",
        missing.join(", ")
    ))
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn build_ui() -> Result {
    install_node_packages()?;
    npm(&["run", "build"])
}

fn browser_e2e() -> Result {
    let server = root().join("target/debug/smartmap");
    if !server.exists() {
        return Err(format!("{} is missing: build it with `cargo build --bin smartmap`", server.display()));
    }
    install_node_packages()?;
    run(Command::new("npm").args(["run", "e2e"]).current_dir(ui_dir()).env("SMARTMAP_BIN", &server))
}

/// `npm ci` when the lock file changed since the last install (npm records the installed tree in
/// `node_modules/.package-lock.json`, written after the lock file).
fn install_node_packages() -> Result {
    let lock = modified(&ui_dir().join("package-lock.json")).ok_or("ui/package-lock.json is missing")?;
    let installed = modified(&ui_dir().join("node_modules/.package-lock.json"));
    if installed.is_some_and(|installed| installed >= lock) {
        return Ok(());
    }
    npm(&["ci", "--no-audit", "--no-fund"])
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn npm(args: &[&str]) -> Result {
    run(Command::new("npm").args(args).current_dir(ui_dir()))
}

fn cargo(args: &[&str]) -> Result {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo).args(args).current_dir(root()))
}

fn run(command: &mut Command) -> Result {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("xtask: {shown}");
    let status = command.status().map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}
