//! Notifications (`[notify.NAME]`) against real receivers: an HTTP server in this process
//! that records what it is sent (and answers as told), and a real SMTP server process
//! (Debian's python3-aiosmtpd) with STARTTLS and AUTH. Runs and deploys are real (the
//! headless CLI on the Docker engine).

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::deploy::Deployable;
use common::envs::free_port;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const HOOK_KEY: &str = "hook-key-0123456789-abcdef";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A real HTTP/1.1 server on a loopback port: records each request, answers with the next
/// status of `answers` (the last one repeats).
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(answers: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let answers = answers.to_vec();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let status = *answers.get(n).or(answers.last()).unwrap_or(&200);
                if let Some(request) = serve(stream, status) {
                    seen.lock().unwrap().push(request);
                }
            }
        });
        Receiver { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits up to `within` for `n` requests.
    fn wait_for(&self, n: usize, within: Duration) -> Vec<Request> {
        let until = Instant::now() + within;
        while Instant::now() < until && self.requests().len() < n {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.requests()
    }
}

fn serve(mut stream: TcpStream, status: u16) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let answer = if status == 200 { "ok" } else { "receiver says no" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    Some(Request { path, headers, body })
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A port on which nothing listens (bound, then released).
fn dead_port() -> u16 {
    free_port()
}

/// A minimal app (one run stage, no environments) with `notify` appended.
fn app_with(notify: &str, stage_run: &str) -> TestApp {
    let toml = format!(
        "[app]\nname = \"{{app}}\"\n\n[stages.check]\nimage = \"debian:bookworm-slim\"\nrun = [\"{stage_run}\"]\nnetwork = \"none\"\n\n[secrets]\nHOOK_KEY = {{ env = \"NOTIFY_TEST_HOOK_KEY\" }}\nSMTP_PASSWORD = {{ env = \"NOTIFY_TEST_SMTP_PASSWORD\" }}\n\n{notify}\n"
    );
    TestApp::with_config("notify", &toml)
}

fn shipdeck_out(app: &TestApp, args: &[&str]) -> std::process::Output {
    run_within(
        app.shipdeck().args(args).env("NOTIFY_TEST_HOOK_KEY", HOOK_KEY),
        Duration::from_secs(120),
    )
}

#[test]
fn notify_test_signs_the_webhook_body_and_never_prints_the_url() {
    let receiver = Receiver::start(&[200]);
    let url = receiver.url("/hooks/T0SECRETPATH/xyz");
    let app = app_with(
        &format!("[notify.team]\nwebhook = {{ url = \"{url}\", secret = \"HOOK_KEY\" }}\non = [\"deployed\"]\n"),
        "true",
    );
    let out = shipdeck_out(&app, &["notify", "test", "team"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("notify team: webhook sent a test message (HTTP 200)"),
        "{all}"
    );
    assert!(!all.contains("T0SECRETPATH"), "the URL was printed: {all}");

    let requests = receiver.wait_for(1, Duration::from_secs(5));
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/hooks/T0SECRETPATH/xyz");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-shipdeck-event"), Some("deployed"));
    assert_eq!(
        r.header("x-shipdeck-signature"),
        Some(hmac_hex(HOOK_KEY, &r.body).as_str()),
        "the signature is HMAC-SHA256 of the exact body with HOOK_KEY's value"
    );
    let body = r.json();
    assert_eq!(body["channel"], "team");
    assert_eq!(body["event"], "deployed");
    assert_eq!(body["app"], app.name.as_str());
    assert_eq!(body["test"], true);
    assert!(body["title"].as_str().unwrap().contains("test message"), "{body}");

    // A signature made with another key does not match: the check above can fail.
    assert_ne!(
        r.header("x-shipdeck-signature"),
        Some(hmac_hex("other", &r.body).as_str())
    );
}

#[test]
fn notify_test_says_what_failed_and_exits_non_zero() {
    let refusing = Receiver::start(&[500]);
    let down = dead_port();
    let app = app_with(
        &format!(
            "[notify.refusing]\nwebhook = {{ url = \"{}\" }}\n\n[notify.down]\nslack = \"http://127.0.0.1:{down}/services/T0/B0/SLACKTOKEN\"\n",
            refusing.url("/x")
        ),
        "true",
    );
    let out = shipdeck_out(&app, &["notify", "test", "refusing"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("notify refusing: webhook failed: HTTP 500: receiver says no"),
        "{}",
        text(&out)
    );

    let out = shipdeck_out(&app, &["notify", "test", "down"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("notify down: slack failed: cannot connect"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("SLACKTOKEN"), "{}", text(&out));

    let out = shipdeck_out(&app, &["notify", "test", "dwn"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("did you mean `down`?"), "{}", text(&out));
}

#[test]
fn slack_gets_its_own_format_with_hostile_text_escaped() {
    let receiver = Receiver::start(&[200]);
    let app = app_with(
        &format!("[notify.chat]\nslack = \"{}\"\n", receiver.url("/services/T0/B0/TOKEN")),
        // A failing run whose commit subject tries to ping everyone and forge a link.
        "false",
    );
    app.write("NOTE", "x");
    app.commit_all("<!channel> look <http://evil.example|here> & \u{1b}[31mred");
    let (code, _, stderr) = app.run_json(&[]);
    assert_eq!(code, 1, "{stderr}");
    let requests = receiver.wait_for(1, Duration::from_secs(10));
    assert_eq!(requests.len(), 1, "one run_failed");
    let body = requests[0].json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["text"], "Slack's incoming-webhook body: {body}");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with('*') && text.contains("failed"), "{text}");
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    assert!(!text.contains('\u{1b}'), "escape sequences reach Slack: {text:?}");
}

#[test]
fn run_failed_then_run_fixed_reach_only_the_channels_that_listen() {
    let runs = Receiver::start(&[200]);
    let deploys = Receiver::start(&[200]);
    let app = app_with(
        &format!(
            "[notify.runs]\nwebhook = {{ url = \"{}\", secret = \"HOOK_KEY\" }}\non = [\"run_failed\", \"run_fixed\"]\nenvironments = []\n\n[notify.deploys]\nwebhook = {{ url = \"{}\" }}\non = [\"deployed\"]\n",
            runs.url("/runs"),
            deploys.url("/deploys")
        ),
        "test -f ok",
    );
    let run = || {
        let out = shipdeck_out(&app, &["run"]);
        (out.status.code(), text(&out))
    };
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("notify runs: webhook sent run_failed (HTTP 200)"), "{out}");
    // A second failure is news too; a success after it is "fixed"; one more success is not news.
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    app.write("ok", "");
    app.commit_all("fix it");
    let (code, out) = run();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("notify runs: webhook sent run_fixed"), "{out}");
    let (code, out) = run();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("notify runs"), "a second green run is no news: {out}");

    let got: Vec<String> = runs
        .wait_for(3, Duration::from_secs(5))
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["run_failed", "run_failed", "run_fixed"]);
    let fixed = &runs.requests()[2];
    assert_eq!(fixed.json()["branch"], "main");
    assert_eq!(
        fixed.header("x-shipdeck-signature"),
        Some(hmac_hex(HOOK_KEY, &fixed.body).as_str())
    );
    assert!(deploys.requests().is_empty(), "`on` filters: {:?}", deploys.requests());
}

#[test]
fn a_failing_or_dead_receiver_is_retried_shown_and_recorded_and_the_deploy_succeeds() {
    require_docker(&["python:3.11-slim"]);
    let _one = one_at_a_time();
    let flaky = Receiver::start(&[500, 500, 200]);
    let staging_only = Receiver::start(&[200]);
    let production_only = Receiver::start(&[200]);
    let down = dead_port();
    let d = Deployable::new("");
    let toml = std::fs::read_to_string(d.app.path().join("release.toml")).unwrap();
    let secret_url = format!("http://127.0.0.1:{down}/hooks/DEADSECRET");
    let notify = format!(
        "\n[secrets]\nHOOK_KEY = {{ env = \"NOTIFY_TEST_HOOK_KEY\" }}\n\n\
         [notify.flaky]\nwebhook = {{ url = \"{}\" }}\non = [\"deployed\"]\n\n\
         [notify.down]\nwebhook = {{ url = \"{secret_url}\", secret = \"HOOK_KEY\" }}\non = [\"deployed\"]\n\n\
         [notify.staging]\nwebhook = {{ url = \"{}\" }}\non = [\"deployed\", \"deploy_failed\"]\nenvironments = [\"staging\"]\n\n\
         [notify.production]\nwebhook = {{ url = \"{}\" }}\nenvironments = [\"production\"]\n",
        flaky.url("/flaky"),
        staging_only.url("/staging"),
        production_only.url("/production"),
    );
    d.app.write("release.toml", &format!("{toml}{notify}"));
    d.app.commit_all("notifications");
    d.build();

    let started = Instant::now();
    let out = d.shipdeck_with(&["deploy", "staging"], &[("NOTIFY_TEST_HOOK_KEY", HOOK_KEY)]);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the release succeeds whatever the channels do: {all}"
    );
    let (status, _) = d.health();
    assert_eq!(status, 200);

    // Shown: each failure with its retry, then the outcome.
    assert!(
        all.contains("notify flaky: webhook failed: HTTP 500: receiver says no (retrying in 2s)"),
        "{all}"
    );
    assert!(
        all.contains("notify flaky: webhook failed: HTTP 500: receiver says no (retrying in 4s)"),
        "{all}"
    );
    assert!(all.contains("notify flaky: webhook sent deployed (HTTP 200)"), "{all}");
    assert!(all.contains("notify down: webhook failed: cannot connect"), "{all}");
    assert!(all.contains("(gave up after 3 attempts)"), "{all}");
    assert!(all.contains("notify staging: webhook sent deployed"), "{all}");
    assert!(!all.contains("notify production"), "environments filter: {all}");
    // The release did not wait for the channels: its outcome is printed before they give up.
    let finished = all.find("staging ✓").expect("the deploy's outcome line");
    let gave_up = all.find("gave up after").unwrap();
    assert!(finished < gave_up, "{all}");
    assert!(started.elapsed() < Duration::from_secs(170));

    // Secrets masked: the URL and the signing key never appear, in any output or the history.
    for secret in ["DEADSECRET", HOOK_KEY, secret_url.as_str()] {
        assert!(!all.contains(secret), "{secret} printed: {all}");
    }
    let flaky_requests = flaky.wait_for(3, Duration::from_secs(5));
    assert_eq!(flaky_requests.len(), 3, "two failures, one success");
    assert!(flaky_requests.iter().all(|r| r.json()["event"] == "deployed"));
    assert_eq!(staging_only.requests().len(), 1);
    assert_eq!(staging_only.requests()[0].json()["environment"], "staging");
    assert!(production_only.requests().is_empty());

    // Recorded: every attempt's outcome is in the history.
    let store = shipdeck::store::Store::open(&d.app.path().join(".shipdeck")).unwrap();
    let recorded = store.notifications(100).unwrap();
    let of = |channel: &str| -> Vec<String> {
        recorded
            .iter()
            .rev()
            .filter(|n| n.channel == channel)
            .map(|n| n.status.clone())
            .collect()
    };
    assert_eq!(of("flaky"), ["retrying", "retrying", "sent"]);
    assert_eq!(of("down"), ["retrying", "retrying", "failed"]);
    assert_eq!(of("staging"), ["sent"]);
    for n in &recorded {
        assert!(!n.message.contains("DEADSECRET"), "{n:?}");
    }
}

/// A CA and a certificate for `localhost` signed by it, made with openssl in `dir`:
/// (ca.pem, cert.pem, key.pem).
fn make_certs(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = run(Command::new("openssl").args(args).current_dir(dir));
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=shipdeck test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// The python3 that has aiosmtpd (Debian's python3-aiosmtpd, or PyPI's): a missing one fails
/// the test with what to install.
fn python_with_aiosmtpd() -> String {
    for python in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return python.to_string();
        }
    }
    panic!("the SMTP tests need aiosmtpd: apt-get install python3-aiosmtpd (or pip install aiosmtpd)");
}

#[test]
fn email_goes_through_a_real_smtp_server_with_starttls_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let port = free_port();
    let mailbox = dir.path().join("mail.jsonl");
    let password = "smtp-password-4242";
    let mut child = Command::new(python_with_aiosmtpd())
        .arg(repo_root().join("fixtures/notify/smtp_receiver.py"))
        .args([&port.to_string(), "cert.pem", "key.pem", "shipdeck", password])
        .arg(&mailbox)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let _server = Process(child);
    assert_eq!(ready.trim(), "ready");

    let app = app_with(
        &format!(
            "[notify.mail]\nemail = {{ smtp = \"smtp://localhost:{port}\", from = \"shipdeck@example.com\", to = [\"team@example.com\", \"oncall@example.com\"], user = \"shipdeck\", password = \"SMTP_PASSWORD\" }}\n"
        ),
        "true",
    );

    let send = |password: &str| {
        run_within(
            app.shipdeck()
                .args(["notify", "test", "mail"])
                .env("NOTIFY_TEST_SMTP_PASSWORD", password)
                .env("SSL_CERT_FILE", dir.path().join("ca.pem")),
            Duration::from_secs(60),
        )
    };
    let out = send(password);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("notify mail: email sent a test message (SMTP 250)"),
        "{}",
        text(&out)
    );
    let mail = std::fs::read_to_string(&mailbox).unwrap();
    let received: Value = serde_json::from_str(mail.lines().next().unwrap()).unwrap();
    assert_eq!(received["tls"], true, "STARTTLS before anything else");
    assert_eq!(received["login"], "shipdeck");
    assert_eq!(received["mail_from"], "shipdeck@example.com");
    assert_eq!(
        received["rcpt_tos"],
        serde_json::json!(["team@example.com", "oncall@example.com"])
    );
    let data = received["data"].as_str().unwrap();
    assert!(data.contains("Subject: [shipdeck]"), "{data}");
    assert!(data.contains("test message from shipdeck"), "{data}");

    // A wrong password: refused by the server, said so, non-zero, the password never printed.
    let out = send("wrong-password-1234");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("notify mail: email failed"), "{}", text(&out));
    assert!(!text(&out).contains("wrong-password-1234"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&mailbox).unwrap().lines().count(), 1);
}

/// A receiver that accepts connections and never answers.
fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn a_receiver_that_never_answers_holds_nothing_up_and_exit_waits_a_bounded_time() {
    let port = black_hole();
    let app = app_with(
        &format!(
            "[notify.hole]\nwebhook = {{ url = \"http://127.0.0.1:{port}/SECRETHOLE\" }}\non = [\"run_failed\"]\n"
        ),
        "false",
    );
    let started = Instant::now();
    let out = shipdeck_out(&app, &["run"]);
    let elapsed = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "the run's own outcome: {all}");
    // Each attempt is cut after 10 s; on exit, deliveries get 20 s in all, then are cut.
    assert!(
        all.contains("notify hole: webhook failed: no answer within 10s (retrying in 2s)"),
        "{all}"
    );
    assert!(
        all.contains("notify hole: webhook failed: shipdeck exited before it was delivered"),
        "{all}"
    );
    assert!(elapsed < Duration::from_secs(45), "exit took {elapsed:?}: {all}");
    assert!(!all.contains("SECRETHOLE"), "{all}");
}

#[test]
fn check_lists_channels_without_their_urls() {
    let app = app_with(
        "[notify.chat]\nslack = \"https://hooks.slack.com/services/T0/B0/CHECKTOKEN\"\non = [\"deployed\"]\n\n[notify.team]\nwebhook = { url = \"https://hooks.example.com/CHECKHOOK\", secret = \"HOOK_KEY\" }\n",
        "true",
    );
    let out = shipdeck_out(&app, &["check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("notify (2, URLs masked)"), "{all}");
    assert!(all.contains("chat  slack"), "{all}");
    assert!(all.contains("team  webhook, signed with secret HOOK_KEY"), "{all}");
    assert!(!all.contains("CHECKTOKEN") && !all.contains("CHECKHOOK"), "{all}");
}

/// A process killed when the test ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_webhooks_check_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let port = free_port();
    let received = dir.path().join("received");
    let mut child = Command::new("python3")
        .arg(repo_root().join("fixtures/notify/https_receiver.py"))
        .args([&port.to_string(), "cert.pem", "key.pem"])
        .arg(&received)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let _server = Process(child);
    assert_eq!(ready.trim(), "ready");
    let app = app_with(
        &format!("[notify.tls]\nwebhook = {{ url = \"https://localhost:{port}/tls-hook\" }}\n"),
        "true",
    );
    let send = |ca: Option<&Path>| {
        let mut cmd = app.shipdeck();
        cmd.args(["notify", "test", "tls"]);
        match ca {
            Some(ca) => cmd.env("SSL_CERT_FILE", ca),
            // The system's roots only: the test CA is not among them.
            None => cmd.env_remove("SSL_CERT_FILE"),
        };
        run_within(&mut cmd, Duration::from_secs(60))
    };
    // A certificate no trusted root signed is refused: nothing is sent.
    let out = send(None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("notify tls: webhook failed: TLS:"),
        "{}",
        text(&out)
    );
    assert!(!received.exists(), "sent over an unverified connection");
    // Trusted (SSL_CERT_FILE names the CA): delivered over TLS.
    let out = send(Some(&dir.path().join("ca.pem")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = std::fs::read_to_string(&received).unwrap();
    assert!(got.starts_with("/tls-hook {"), "{got}");
    assert!(got.contains("\"test\":true"), "{got}");
}
