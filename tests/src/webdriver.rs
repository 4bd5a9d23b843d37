//! App end-to-end tests: the real app binary in a real WebKitGTK webview, driven over W3C
//! WebDriver through `tauri-driver` (which starts `WebKitWebDriver`, which starts the app).
//!
//! - [`AppDriver`]: an X display (`Xvfb`, only when `DISPLAY` is unset) and a `tauri-driver` on
//!   free ports, both killed on drop. `tauri-driver` passes its environment down to the app, so
//!   the app's configuration (`SMARTMAP_SERVER_URL`, `SMARTMAP_APP_DATA`) is given here.
//! - [`Session`] / [`Element`]: a small WebDriver client over reqwest — new session
//!   (`browserName: "wry"`, `tauri:options.application`), find by CSS, click, send keys (to a
//!   file input: a path), text, attribute, wait until, screenshot, delete.
//!
//! Setup (Debian): `apt-get install webkit2gtk-driver xvfb` and `cargo install tauri-driver
//! --locked --version ^2`. Without them [`AppDriver::start`] says what is missing and the test
//! skips, unless `SMARTMAP_REQUIRE_APP_E2E=1` (CI), where it fails.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set to `1` to make a missing `tauri-driver` / `WebKitWebDriver` / `Xvfb` fail the app e2e
/// tests instead of skipping them.
pub const REQUIRE_APP_E2E_VAR: &str = "SMARTMAP_REQUIRE_APP_E2E";

/// W3C WebDriver's key for an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Finds an executable in `PATH`, or else at one of `fallbacks`.
fn find_executable(name: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    in_path.into_iter().chain(fallbacks.iter().cloned()).find(|p| p.is_file())
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listened on port {port} within {timeout:?}")
}

/// A child process started as the leader of its own process group; on drop the whole group is
/// killed and the child reaped. `tauri-driver` starts `WebKitWebDriver`, which starts the app:
/// killing only `tauri-driver` would leave them running, holding the test's output pipes open.
struct Killed(Child);

impl Killed {
    fn spawn(command: &mut Command) -> std::io::Result<Killed> {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0).spawn().map(Killed)
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An X display and a `tauri-driver` for one app configuration; both stop on drop.
pub struct AppDriver {
    /// The WebDriver endpoint (`http://127.0.0.1:<port>`).
    pub url: String,
    /// The app binary sessions start.
    pub application: PathBuf,
    // Dropped in order: the driver (and with it WebKitWebDriver and the app) before the display.
    _driver: Killed,
    _xvfb: Option<Killed>,
}

impl AppDriver {
    /// Starts `tauri-driver` for `application` with `env` added to the app's environment.
    ///
    /// `Ok(None)` when the tools are missing (a notice is printed), unless
    /// [`REQUIRE_APP_E2E_VAR`] is set, then that is an error.
    pub fn start(application: &Path, env: &[(&str, String)]) -> Result<Option<AppDriver>> {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let tauri_driver = find_executable("tauri-driver", &[home.join(".cargo/bin/tauri-driver")]);
        let webkit_driver = find_executable("WebKitWebDriver", &[PathBuf::from("/usr/bin/WebKitWebDriver")]);
        let display = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty());
        let xvfb = if display.is_none() { find_executable("Xvfb", &[]) } else { None };
        let missing: Vec<&str> = [
            (tauri_driver.is_none(), "tauri-driver (cargo install tauri-driver --locked --version ^2)"),
            (webkit_driver.is_none(), "WebKitWebDriver (apt-get install webkit2gtk-driver)"),
            (display.is_none() && xvfb.is_none(), "an X display: DISPLAY or Xvfb (apt-get install xvfb)"),
        ]
        .into_iter()
        .filter_map(|(absent, what)| absent.then_some(what))
        .collect();
        if !missing.is_empty() {
            let notice = format!("app e2e skipped: missing {}", missing.join(", "));
            if std::env::var(REQUIRE_APP_E2E_VAR).is_ok_and(|v| v == "1") {
                bail!("{notice} ({REQUIRE_APP_E2E_VAR}=1)");
            }
            eprintln!("{notice}");
            return Ok(None);
        }
        let (tauri_driver, webkit_driver) = (tauri_driver.unwrap(), webkit_driver.unwrap());

        let (display, xvfb) = match display {
            Some(display) => (display, None),
            None => {
                let (display, child) = start_xvfb(&xvfb.unwrap())?;
                (display, Some(child))
            }
        };

        // tauri-driver listens on one port and starts WebKitWebDriver on another: both free, so
        // tests can run side by side.
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(&tauri_driver);
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .arg("--native-driver")
            .arg(&webkit_driver)
            .env("DISPLAY", &display)
            // No accessibility bus under Xvfb: silences GTK's warnings about it.
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let driver = Killed::spawn(&mut command).with_context(|| format!("starting {}", tauri_driver.display()))?;
        wait_for_port(port, Duration::from_secs(20)).context("tauri-driver did not start")?;
        Ok(Some(AppDriver {
            url: format!("http://127.0.0.1:{port}"),
            application: application.to_owned(),
            _driver: driver,
            _xvfb: xvfb,
        }))
    }

    /// Starts the app in a new WebDriver session.
    pub async fn session(&self) -> Result<Session> {
        Session::new(&self.url, &self.application).await
    }
}

/// Starts `Xvfb` on the first free display from `:99` up.
fn start_xvfb(xvfb: &Path) -> Result<(String, Killed)> {
    for number in 99..130 {
        if Path::new(&format!("/tmp/.X{number}-lock")).exists()
            || Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
        {
            continue;
        }
        let display = format!(":{number}");
        let mut child = Killed::spawn(
            Command::new(xvfb)
                .args([display.as_str(), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .context("starting Xvfb")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                return Ok((display, child));
            }
            if let Ok(Some(status)) = child.0.try_wait() {
                // Another test took this display between the check and the start: try the next.
                eprintln!("Xvfb {display} exited ({status}); trying the next display");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    bail!("could not start Xvfb on any display from :99 to :129")
}

struct SessionInner {
    http: reqwest::Client,
    /// `<driver>/session/<id>`.
    base: String,
}

/// One running app, driven over WebDriver. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

/// An element of the page.
#[derive(Clone)]
pub struct Element {
    session: Session,
    id: String,
    /// The selector that found it, for messages.
    selector: String,
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({})", self.selector)
    }
}

/// A WebDriver answer's `value`, or its error.
async fn value_of(response: reqwest::Response, what: &str) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("{what}: the answer is not JSON"))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if !status.is_success() {
        let error = value.get("error").and_then(Value::as_str).unwrap_or("unknown error");
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        bail!("{what}: {status} {error}: {message}");
    }
    Ok(value)
}

impl Session {
    /// Starts `application` under the driver at `driver_url`.
    pub async fn new(driver_url: &str, application: &Path) -> Result<Session> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": application }
                }
            }
        });
        let response = http.post(format!("{driver_url}/session")).json(&capabilities).send().await?;
        let value = value_of(response, "new session").await?;
        let id = value.get("sessionId").and_then(Value::as_str).ok_or_else(|| anyhow!("no sessionId in {value}"))?;
        Ok(Session { inner: Arc::new(SessionInner { http, base: format!("{driver_url}/session/{id}") }) })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let response = self.inner.http.get(format!("{}{path}", self.inner.base)).send().await?;
        value_of(response, &format!("GET {path}")).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let response = self.inner.http.post(format!("{}{path}", self.inner.base)).json(&body).send().await?;
        value_of(response, &format!("POST {path}")).await
    }

    fn element(&self, value: &Value, selector: &str) -> Result<Element> {
        let id = value.get(ELEMENT_KEY).and_then(Value::as_str).ok_or_else(|| anyhow!("not an element: {value}"))?;
        Ok(Element { session: self.clone(), id: id.to_owned(), selector: selector.to_owned() })
    }

    /// The first element matching the CSS `selector`.
    pub async fn find(&self, selector: &str) -> Result<Element> {
        let value = self.post("/element", json!({ "using": "css selector", "value": selector })).await?;
        self.element(&value, selector)
    }

    /// Every element matching the CSS `selector` (none is not an error).
    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element>> {
        let value = self.post("/elements", json!({ "using": "css selector", "value": selector })).await?;
        value.as_array().into_iter().flatten().map(|v| self.element(v, selector)).collect()
    }

    /// Element `[data-testid="<id>"]`.
    pub async fn by_test_id(&self, id: &str) -> Result<Element> {
        self.find(&format!("[data-testid=\"{id}\"]")).await
    }

    /// Polls `probe` every 200 ms until it gives `Some`, for at most `timeout`; `what` names the
    /// condition in the error. An error from `probe` counts as "not yet" (the page may be
    /// re-rendering), and the last one is reported on timeout.
    pub async fn wait_until<T, F, Fut>(&self, timeout: Duration, what: &str, mut probe: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + timeout;
        let mut last_error = None;
        loop {
            match probe().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) => last_error = Some(e),
            }
            if Instant::now() >= deadline {
                return Err(match last_error {
                    Some(e) => e.context(format!("waited {timeout:?} for {what}")),
                    None => anyhow!("waited {timeout:?} for {what}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits for an element matching `selector` to be displayed.
    pub async fn wait_for(&self, selector: &str, timeout: Duration) -> Result<Element> {
        self.wait_until(timeout, &format!("'{selector}' to be displayed"), || async move {
            let found = self.find_all(selector).await?;
            for element in found {
                if element.displayed().await? {
                    return Ok(Some(element));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script` asynchronously: it gets a callback as its last argument and calls it with
    /// the result (a promise's outcome, say).
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// The page's title.
    pub async fn title(&self) -> Result<String> {
        Ok(self.get("/title").await?.as_str().unwrap_or_default().to_owned())
    }

    /// Saves a screenshot of the window as a PNG at `path` (folders created).
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let value = self.get("/screenshot").await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().ok_or_else(|| anyhow!("no screenshot in the answer"))?)
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (the app closes).
    pub async fn delete(self) -> Result<()> {
        let response = self.inner.http.delete(&self.inner.base).send().await?;
        value_of(response, "delete session").await.map(drop)
    }
}

impl Element {
    /// Clicks it.
    pub async fn click(&self) -> Result<()> {
        // WebDriver scrolls an element only until it is in the viewport, which on a phone-sized
        // window can leave it under the fixed bottom navigation ("click intercepted"): centre it.
        self.session
            .execute("arguments[0].scrollIntoView({ block: 'center', inline: 'center' });", vec![self.reference()])
            .await?;
        self.session.post(&format!("/element/{}/click", self.id), json!({})).await.map(drop)
    }

    /// The element as a script argument.
    fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Types `text` into it. For an `<input type=file>`, `text` is the path of the file to
    /// choose (WebKitWebDriver sets the input's files from it).
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session.post(&format!("/element/{}/value", self.id), json!({ "text": text })).await.map(drop)
    }

    /// Empties an input.
    pub async fn clear(&self) -> Result<()> {
        self.session.post(&format!("/element/{}/clear", self.id), json!({})).await.map(drop)
    }

    /// Its rendered text.
    pub async fn text(&self) -> Result<String> {
        Ok(self.session.get(&format!("/element/{}/text", self.id)).await?.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute, if present.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>> {
        Ok(self.session.get(&format!("/element/{}/attribute/{name}", self.id)).await?.as_str().map(str::to_owned))
    }

    /// A DOM property (e.g. `value`).
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session.get(&format!("/element/{}/property/{name}", self.id)).await
    }

    /// Whether it is displayed.
    pub async fn displayed(&self) -> Result<bool> {
        Ok(self.session.get(&format!("/element/{}/displayed", self.id)).await?.as_bool().unwrap_or(false))
    }

    /// Chooses the `<option>` of a `<select>` whose value is `value`.
    pub async fn select_value(&self, value: &str) -> Result<()> {
        let option = self.find(&format!("option[value=\"{value}\"]")).await?;
        option.click().await
    }

    /// The first element inside this one matching `selector`.
    pub async fn find(&self, selector: &str) -> Result<Element> {
        let value = self
            .session
            .post(&format!("/element/{}/element", self.id), json!({ "using": "css selector", "value": selector }))
            .await?;
        self.session.element(&value, selector)
    }
}
