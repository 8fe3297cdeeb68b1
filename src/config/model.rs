//! The resolved configuration: what the rest of shipdeck reads after `release.toml` passed
//! every check.

use std::time::Duration;

/// A whole, valid `release.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub app: AppConfig,
    pub watch: WatchConfig,
    /// In topological order: a stage comes after every stage it needs; ties keep file order.
    pub stages: Vec<StageConfig>,
    /// In file order.
    pub environments: Vec<EnvironmentConfig>,
    /// In file order.
    pub secrets: Vec<SecretConfig>,
    /// `[services.NAME]`, in file order: containers that stages naming them get, fresh.
    pub services: Vec<ServiceConfig>,
    /// `[notify.NAME]`, in file order: where news of runs and releases is sent.
    pub notify: Vec<NotifyConfig>,
}

impl Config {
    pub fn stage(&self, name: &str) -> Option<&StageConfig> {
        self.stages.iter().find(|s| s.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn environment(&self, name: &str) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The stage that builds the release image (the one with `dockerfile`); at most one.
    pub fn package_stage(&self) -> Option<&StageConfig> {
        self.stages.iter().find(|s| s.package().is_some())
    }

    /// The stages that also run on saved files (`on_save = true`), in pipeline order.
    pub fn save_stages(&self) -> impl Iterator<Item = &StageConfig> {
        self.stages.iter().filter(|s| s.on_save)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// A valid Docker image repository name; also the value of the `dev.shipdeck.app` label.
    pub name: String,
    /// How many release images of the app stay on the engine (newest first), beyond those an
    /// environment runs: `keep_releases`, default 10.
    pub keep_releases: usize,
    /// The most bytes of artifact file content one run copies out: `max_artifacts`,
    /// default 1 GiB.
    pub max_artifacts: u64,
    /// The limits of a stage that sets none itself: `memory`, `cpus`, `pids` in [app], or
    /// [`StageLimits::DEFAULT`].
    pub limits: StageLimits,
    /// How many runs keep their files (logs, artifacts) under `.shipdeck/runs`, newest first:
    /// `keep_runs`, default 50. The history keeps every run.
    pub keep_runs: usize,
}

impl AppConfig {
    pub const DEFAULT_KEEP_RELEASES: usize = 10;
    pub const DEFAULT_MAX_ARTIFACTS: u64 = 1 << 30;
    pub const DEFAULT_KEEP_RUNS: usize = 50;
}

/// What a stage's container may use of the engine's host, so that a runaway or hostile stage
/// (a fork bomb, a memory hog) fails instead of hurting the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageLimits {
    /// Bytes of memory (swap included: the container gets no swap beyond it).
    pub memory: u64,
    /// Thousandths of a CPU: 1500 is `cpus = 1.5`. Capped at the engine's CPU count when the
    /// container is created.
    pub millicpus: u64,
    /// Processes and threads at once.
    pub pids: u64,
}

impl StageLimits {
    pub const DEFAULT: StageLimits = StageLimits {
        memory: 2 << 30,
        millicpus: 2000,
        pids: 1024,
    };
}

impl Default for StageLimits {
    fn default() -> Self {
        StageLimits::DEFAULT
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    pub on: WatchOn,
    pub on_busy: OnBusy,
    pub debounce_ms: u64,
    /// Glob patterns ignored on top of `.gitignore`.
    pub ignore: Vec<String>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            on: WatchOn::default(),
            on_busy: OnBusy::default(),
            debounce_ms: 300,
            ignore: Vec::new(),
        }
    }
}

/// What starts a run in watch mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchOn {
    #[default]
    Commit,
    Save,
    Both,
}

/// What a new trigger does while a run is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBusy {
    /// The newer trigger cancels the running pipeline.
    #[default]
    Supersede,
    /// The newer trigger waits for the running pipeline.
    Queue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageConfig {
    pub name: String,
    /// Names of the stages this one runs after (no duplicates, all defined).
    pub needs: Vec<String>,
    pub kind: StageKind,
    /// Environment variables, in file order.
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// Also runs in save mode, on the dirty tree.
    pub on_save: bool,
    /// Memory, CPU and process limits of the stage's container (or of its image build).
    pub limits: StageLimits,
    /// `services = ["db"]`: the `[services.NAME]` this stage gets its own instances of
    /// (defined, no duplicates; never on a package stage).
    pub services: Vec<String>,
    /// `secrets = [...]`: the names of the top-level secrets this stage gets; `None` (the key
    /// left out): all of them, as before the key existed.
    pub secrets: Option<Vec<String>>,
}

impl StageConfig {
    pub fn run_stage(&self) -> Option<&RunStage> {
        match &self.kind {
            StageKind::Run(run) => Some(run),
            StageKind::Package(_) => None,
        }
    }

    pub fn package(&self) -> Option<&PackageStage> {
        match &self.kind {
            StageKind::Package(package) => Some(package),
            StageKind::Run(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageKind {
    /// `image` + `run`: commands in a container of an existing image.
    Run(RunStage),
    /// `dockerfile` (+ `context`): builds the release image.
    Package(PackageStage),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStage {
    pub image: String,
    /// Shell commands, run one after the other; never empty.
    pub run: Vec<String>,
    pub network: Network,
    /// Absolute container paths kept in named volumes across runs.
    pub cache: Vec<String>,
    /// Workspace-relative paths (no `..`, not absolute) kept for later stages.
    pub artifacts: Vec<String>,
    /// Relative to `/workspace`, or absolute.
    pub workdir: Option<String>,
    /// `scan = { sarif = "…", fail_on = "high", ignore = [...] }`: the stage is a security
    /// scan whose report gates the release.
    pub scan: Option<ScanConfig>,
}

/// `scan = { … }` of a run stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanConfig {
    /// The report's path, relative to the workspace (no `..`, not absolute).
    pub report: String,
    pub format: crate::scan::ReportFormat,
    /// Findings at or above this severity fail the scan (default `high`).
    pub fail_on: crate::scan::Severity,
    pub ignore: Vec<ScanIgnore>,
}

/// `ignore = [{ id, reason, until }]`: a finding accepted, with why, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanIgnore {
    /// A rule ID (`B602`) or a vulnerability ID or alias (`PYSEC-…`, `CVE-…`, `GHSA-…`).
    pub id: String,
    pub reason: String,
    /// The last day the entry holds; after it the finding counts again.
    pub until: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageStage {
    /// Relative to `context`.
    pub dockerfile: String,
    /// Relative to the app directory (the one holding `release.toml`); default `"."`.
    pub context: String,
    /// `build_args = { KEY = "value" }`: `--build-arg`s, over shipdeck's own (`SHIPDECK_*`).
    pub build_args: Vec<(String, String)>,
    /// `target = "runtime"`: the stage of a multi-stage Dockerfile to build.
    pub target: Option<String>,
    /// `platform = "linux/amd64"`: the image's platform.
    pub platform: Option<String>,
}

/// A stage container's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    None,
    #[default]
    Bridge,
}

impl Network {
    /// The value Docker expects as network mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Bridge => "bridge",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentConfig {
    pub name: String,
    /// `"127.0.0.1:18080:8080"` or `"18080:8080"`; see [`crate::config::Publish`].
    pub publish: Option<String>,
    /// In file order.
    pub env: Vec<(String, String)>,
    /// `None`: the local engine.
    pub docker_host: Option<String>,
    /// Exec form, replacing the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// Exec form, replacing the image's `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<HealthcheckConfig>,
    pub promote_from: Option<String>,
    pub approval: bool,
    pub auto_rollback: bool,
    pub smoke: Vec<SmokeCheck>,
    /// Load tests run against a new release before it takes traffic (`[[environments.X.load]]`).
    pub load: Vec<LoadTest>,
    /// Run once in each new release, on the environment's network, before it takes traffic.
    pub release_command: Option<CommandSpec>,
    /// Long-lived containers beside the releases (`[environments.X.accessories.NAME]`).
    pub accessories: Vec<crate::config::AccessoryConfig>,
    /// More processes of each release (`[environments.X.processes.NAME]`).
    pub processes: Vec<crate::config::ProcessConfig>,
    /// Secrets for this environment only, on top of the top-level `[secrets]`.
    pub secrets: Vec<SecretConfig>,
    /// How a release replaces another: `strategy`, default [`Strategy::Proxy`].
    pub strategy: Strategy,
    /// The proxy's image (`proxy_image`), default [`EnvironmentConfig::DEFAULT_PROXY_IMAGE`].
    pub proxy_image: String,
    /// How long a new release may take to become ready (`ready_timeout`); `None`: derived from
    /// its HEALTHCHECK (start period, interval, timeout, retries), else 30 s.
    pub ready_timeout: Option<Duration>,
    /// How long the previous release may keep serving the requests it has (`drain`), at most.
    pub drain: Duration,
}

/// How a release replaces the one before it on an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// A proxy owns the published address; the new release starts beside the old one, is
    /// smoke-checked directly, then takes the traffic; the old one drains.
    #[default]
    Proxy,
    /// The old release stops, then the new one starts on the published port (apps that
    /// cannot run two copies at once).
    Recreate,
}

impl Strategy {
    pub const NAMES: &'static [&'static str] = &["proxy", "recreate"];

    pub fn parse(name: &str) -> Option<Strategy> {
        match name {
            "proxy" => Some(Strategy::Proxy),
            "recreate" => Some(Strategy::Recreate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Proxy => "proxy",
            Strategy::Recreate => "recreate",
        }
    }
}

impl EnvironmentConfig {
    /// Built offline by `fixtures/images/build.sh` (HAProxy and socat from Debian bookworm).
    pub const DEFAULT_PROXY_IMAGE: &'static str = "shipdeck/proxy:bookworm";
    pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

    /// The parsed `publish` value (always valid in a loaded config).
    pub fn publish_spec(&self) -> Option<crate::config::Publish> {
        self.publish
            .as_deref()
            .and_then(|p| crate::config::Publish::parse(p).ok())
    }
}

/// A container started beside something that needs it: `[services.NAME]` for a stage (and,
/// with `volumes` on top, an environment's accessory). Read by `config::services::read_service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// The table's key: a DNS label, the host name the service is reached at.
    pub name: String,
    pub image: String,
    /// Exec form, replacing the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// Exec form, replacing the image's `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// Environment variables, in file order.
    pub env: Vec<(String, String)>,
    /// Run inside the service until it exits 0; `None`: the image's HEALTHCHECK, else its
    /// exposed TCP port listening, else started.
    pub ready: Option<CommandSpec>,
    /// How long the service may take to become ready: `ready_timeout`, default 60s.
    pub ready_timeout: Duration,
}

impl ServiceConfig {
    pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
}

/// A command given either as an argv array (exec form) or as one string (run by `sh -c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandSpec {
    Exec(Vec<String>),
    Shell(String),
}

impl CommandSpec {
    /// The argv to execute: exec form as is, shell form as `sh -c "<string>"`.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandSpec::Exec(argv) => argv.clone(),
            CommandSpec::Shell(line) => vec!["sh".into(), "-c".into(), line.clone()],
        }
    }

    /// Docker's healthcheck `Test` form: `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub fn docker_test(&self) -> Vec<String> {
        match self {
            CommandSpec::Exec(argv) => std::iter::once("CMD".to_string()).chain(argv.iter().cloned()).collect(),
            CommandSpec::Shell(line) => vec!["CMD-SHELL".into(), line.clone()],
        }
    }

    /// A one-line rendering for display.
    pub fn display(&self) -> String {
        match self {
            CommandSpec::Exec(argv) => argv.join(" "),
            CommandSpec::Shell(line) => line.clone(),
        }
    }
}

/// The container healthcheck of an environment's deployment:
/// `healthcheck = { cmd = "curl -fsS localhost:8080/health", interval = "5s", timeout = "3s", retries = 3 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    pub cmd: CommandSpec,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

/// One smoke check: an HTTP request against the published port, or a command run in the
/// deployed container (exit code 0 passes).
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeCheck {
    /// `"GET /health"` (method, space, path starting with `/`); normalised to upper-case method.
    pub http: Option<String>,
    pub command: Option<CommandSpec>,
    pub expect_status: Option<u16>,
    /// The body must contain this text, after placeholders are filled in.
    pub expect_body: Option<String>,
    /// The body must match this regular expression (checked when the check runs).
    pub expect_body_regex: Option<String>,
    /// Each JSON pointer must resolve to the given value.
    pub expect_json: Option<Vec<JsonExpectation>>,
    /// Retry until the check passes or this long has passed; `None`: one attempt.
    pub within: Option<Duration>,
}

/// One load test: `http` sent open-loop at `rate` per second for `duration`, judged by its
/// thresholds and by its p99 against the last release that passed it on the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadTest {
    /// `"GET /health"`, normalised like a smoke check's.
    pub http: String,
    /// Requests per second, scheduled from the start whatever the answers.
    pub rate: u32,
    pub duration: Duration,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    /// Failed requests (no answer, a 5xx or 4xx, over the in-flight cap) as a fraction.
    pub max_error_rate: Option<f64>,
    /// How much higher the p99 may be than the last release that passed here: 0.10 = 10%.
    pub regression: Option<f64>,
}

impl LoadTest {
    /// The method and path: `("GET", "/health")`.
    pub fn http_request(&self) -> Option<(&str, &str)> {
        self.http.split_once(' ')
    }
}

impl SmokeCheck {
    /// The method and path of an HTTP check: `("GET", "/health")`.
    pub fn http_request(&self) -> Option<(&str, &str)> {
        self.http.as_deref().and_then(|h| h.split_once(' '))
    }
}

/// `expect_json = { "/status" = "ok", "/build/commit" = "{commit}" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonExpectation {
    /// An RFC 6901 JSON pointer: `""` or starting with `/`.
    pub pointer: String,
    pub value: JsonScalar,
}

/// The expected value at a JSON pointer. Strings may hold placeholders.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonScalar {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for JsonScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonScalar::String(s) => write!(f, "{s:?}"),
            JsonScalar::Integer(i) => write!(f, "{i}"),
            JsonScalar::Float(x) => write!(f, "{x}"),
            JsonScalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// `[secrets] API_TOKEN = { env = "HELLO_API_TOKEN" }`: the value is read from the host
/// variable `env` and passed in as `name`. Values never live in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretConfig {
    pub name: String,
    pub env: String,
}

/// `[notify.NAME]`: one channel that hears about some events (`on`), optionally only those
/// of some environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub name: String,
    pub channel: NotifyChannel,
    /// The events sent; every event when `on` is not given.
    pub on: Vec<NotifyEvent>,
    /// Only events on these environments; `None`: every environment. Run events (a run
    /// failed or was fixed) belong to no environment and are not filtered by it.
    pub environments: Option<Vec<String>>,
}

impl NotifyConfig {
    /// Whether this channel wants `event` (on environment `env`, for events on one).
    pub fn wants(&self, event: NotifyEvent, env: Option<&str>) -> bool {
        let env_ok = match (&self.environments, env) {
            (Some(envs), Some(env)) => envs.iter().any(|e| e == env),
            _ => true,
        };
        self.on.contains(&event) && env_ok
    }
}

/// How a channel sends. URLs and credentials are secrets: masked wherever shipdeck shows text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyChannel {
    /// A JSON POST; with `secret` (the name of a `[secrets]` entry), signed with HMAC-SHA256
    /// of the body in the `X-Shipdeck-Signature: sha256=HEX` header.
    Webhook {
        url: String,
        secret: Option<String>,
    },
    /// A Slack-compatible incoming webhook: `{"text": …}`.
    Slack {
        url: String,
    },
    Email(EmailConfig),
}

impl NotifyChannel {
    /// "webhook", "slack", "email": what the lines about it call it.
    pub fn kind(&self) -> &'static str {
        match self {
            NotifyChannel::Webhook { .. } => "webhook",
            NotifyChannel::Slack { .. } => "slack",
            NotifyChannel::Email(_) => "email",
        }
    }
}

/// `email = { smtp = "smtp://host:587", from, to = [...], user, password = "SECRET" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// `smtp://host[:port]` (STARTTLS when the server offers it; port 587 by default) or
    /// `smtps://host[:port]` (TLS from the start; port 465 by default).
    pub smtp: String,
    pub from: String,
    pub to: Vec<String>,
    pub user: Option<String>,
    /// The name of the `[secrets]` entry holding the password.
    pub password: Option<String>,
}

/// What a channel can hear about (`on = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// A pipeline run failed.
    RunFailed,
    /// A run succeeded after the previous finished run of its branch failed.
    RunFixed,
    /// A deploy or promotion succeeded.
    Deployed,
    /// A deploy, promotion or rollback failed (also when the previous release was put back).
    DeployFailed,
    /// A deploy, promotion, rollback or smoke check was refused (gate, approval, lock).
    Refused,
    /// A rollback asked for by someone succeeded.
    RolledBack,
    /// shipdeck put the previous release back itself after a failed smoke check.
    AutoRollback,
    /// A promotion waits for someone to approve it in the console.
    ApprovalWaiting,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 8] = [
        NotifyEvent::RunFailed,
        NotifyEvent::RunFixed,
        NotifyEvent::Deployed,
        NotifyEvent::DeployFailed,
        NotifyEvent::Refused,
        NotifyEvent::RolledBack,
        NotifyEvent::AutoRollback,
        NotifyEvent::ApprovalWaiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::RunFailed => "run_failed",
            NotifyEvent::RunFixed => "run_fixed",
            NotifyEvent::Deployed => "deployed",
            NotifyEvent::DeployFailed => "deploy_failed",
            NotifyEvent::Refused => "refused",
            NotifyEvent::RolledBack => "rolled_back",
            NotifyEvent::AutoRollback => "auto_rollback",
            NotifyEvent::ApprovalWaiting => "approval_waiting",
        }
    }

    pub fn parse(s: &str) -> Option<NotifyEvent> {
        NotifyEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}
