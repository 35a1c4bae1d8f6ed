//! Headless Chromium (Debian's `chromium`) driven over WebDriver by `chromedriver`, for the
//! web page's tests. The test command installs both; without them these tests fail.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where Debian puts the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser session.
pub struct Browser {
    driver: Child,
    session: String,
    base: String,
    http: reqwest::Client,
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close the browser it started; then the driver
        // goes. Any browser process left (a driver that died first) is found by its profile
        // directory, which no other browser uses.
        if !self.session.is_empty() {
            end_session(&self.base, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &self.profile.path().display().to_string()])
            .status();
    }
}

/// `DELETE /session/{id}` without a runtime (drop may run outside one, or in a panicking one).
fn end_session(base: &str, session: &str) {
    use std::io::{Read as _, Write as _};
    let Some(addr) = base.strip_prefix("http://") else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

impl Browser {
    /// Starts a browser with a `width` x `height` window and a fresh profile.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start {CHROMEDRIVER} ({e}): install chromium and chromium-driver (./scripts/test.sh does)")
        });
        let profile = tempfile::tempdir().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let mut browser = Browser {
            driver,
            session: String::new(),
            base,
            http,
            profile,
        };
        let created = browser.command("POST", "/session", capabilities).await;
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert!(
            status.is_success(),
            "webdriver {method} {path}: {status} {value}"
        );
        value["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Loads `url` and waits for its load event.
    pub async fn goto(&self, url: &str) {
        self.command("POST", &self.at("/url"), json!({"url": url}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            &self.at("/execute/sync"),
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Evaluates `script` every 20 ms until it returns something other than `null`, `false`
    /// or `undefined`, and returns that; fails naming `what` after `limit`.
    pub async fn wait_for(&self, what: &str, limit: Duration, script: &str) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.eval(script, json!([])).await;
            if !(value.is_null() || value == Value::Bool(false)) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            &self.at("/window/rect"),
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// A PNG of the viewport, written to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let data = self
            .command("GET", &self.at("/screenshot"), Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// Messages the page logged at warning level or above (console errors included).
    pub async fn severe_logs(&self) -> Vec<String> {
        let logs = self
            .command("POST", &self.at("/se/log"), json!({"type": "browser"}))
            .await;
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Where the tests leave their screenshots: `test-artifacts/web` in the build directory.
pub fn artifacts() -> std::path::PathBuf {
    // The test binary is `<target>/<profile>/deps/<name>`.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_owned();
    target.join("test-artifacts").join("web")
}

/// One gRPC-Web call over HTTP/1.1, as a browser (or a Gateway forwarding one) makes it: the
/// answer, or the `grpc-status` and message that refused it.
pub async fn grpc_web<Req: prost::Message, Resp: prost::Message + Default>(
    addr: &str,
    path: &str,
    request: &Req,
) -> Result<Resp, String> {
    let message = request.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&message);
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let response = client
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut trailers = response
        .headers()
        .get("grpc-status")
        .map(|v| format!("grpc-status:{}", v.to_str().unwrap_or_default()))
        .unwrap_or_default();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    let (mut answer, mut rest) = (None, &bytes[..]);
    while rest.len() >= 5 {
        let len = usize::try_from(u32::from_be_bytes(rest[1..5].try_into().unwrap())).unwrap();
        let frame = &rest[5..5 + len];
        if rest[0] & 0x80 == 0 {
            answer = Some(Resp::decode(frame).map_err(|e| e.to_string())?);
        } else {
            trailers.push_str(&String::from_utf8_lossy(frame));
        }
        rest = &rest[5 + len..];
    }
    match answer {
        Some(answer) if trailers.contains("grpc-status:0") => Ok(answer),
        _ => Err(trailers),
    }
}
