//! Every setting, from flags or the environment. `livechat-server --help` lists them.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use clap::{Args, FromArgMatches, ValueEnum};

use crate::domain::queue::QueueSort;
use crate::domain::routing::RoutingMethod;
use crate::domain::settings::{FromEmail, RoutingMethodSetting, SettingDefault, SmtpHost, SmtpPort, SortingMechanism};

/// A password, key or URL with credentials from the settings. `Debug` prints `***`, so
/// printing settings never shows it; [`Secret::expose`] hands the value to its one user.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// Where the data lives: the scheme of `DATABASE_URL` picks the backend. `Debug`
/// shows the URL with its password replaced.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("sqlite") => Ok(Self::Sqlite(raw.to_owned())),
            Some("postgres" | "postgresql") => Ok(Self::Postgres(raw.to_owned())),
            _ => Err(format!(
                "DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got {})",
                redact_password(raw)
            )),
        }
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(url) | Self::Postgres(url) => redact_password(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            Self::Sqlite(_) => "Sqlite",
            Self::Postgres(_) => "Postgres",
        };
        formatter.debug_tuple(variant).field(&self.redacted()).finish()
    }
}

/// Replaces the password of a URL by `***`; text that is not a URL is cut after its scheme.
pub fn redact_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => match raw.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "(not a URL)".to_owned(),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Settings shared by every subcommand.
#[derive(Args, Clone, Debug)]
pub struct DatabaseSettings {
    /// Database to use: sqlite://PATH (created if missing) or postgres://...
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/livechat.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// Most connections the pool opens.
    #[arg(long, env = "LIVECHAT_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "LIVECHAT_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub db_acquire_timeout_secs: u64,

    /// Seconds PostgreSQL lets one statement run, or a transaction sit idle, before it
    /// cancels it and the request answers 503; 0 turns both limits off. Not used on SQLite.
    #[arg(long, env = "LIVECHAT_DB_STATEMENT_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub db_statement_timeout_secs: u64,

    /// Seconds a PostgreSQL connection may sit silent before the server probes it with
    /// TCP keepalives (every third of that, three times), and the bound on unacknowledged
    /// data (`tcp_user_timeout`); a peer cut off by a partition is then dropped and its
    /// locks released. 0 leaves the operating system's defaults. Not used on SQLite.
    #[arg(long, env = "LIVECHAT_DB_TCP_KEEPALIVE_SECS", default_value_t = 30, global = true)]
    pub db_tcp_keepalive_secs: u64,
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.db_acquire_timeout_secs)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.db_statement_timeout_secs)
    }

    pub fn tcp_keepalive(&self) -> Duration {
        Duration::from_secs(self.db_tcp_keepalive_secs)
    }
}

/// Settings of `serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeSettings {
    /// Address and port to listen on.
    #[arg(long, env = "LIVECHAT_LISTEN", default_value = "127.0.0.1:3000", global = true)]
    pub listen: SocketAddr,

    /// Address of a separate listener serving Prometheus metrics at /metrics; none when unset.
    #[arg(long, env = "LIVECHAT_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Username of the administrator created at start when no user has the role admin.
    #[arg(long, env = "LIVECHAT_ADMIN_USERNAME", global = true)]
    pub admin_username: Option<String>,

    /// Password of that administrator; when unset, a random one is generated and logged once.
    #[arg(long, env = "LIVECHAT_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub admin_password: Option<Secret>,

    /// Email of that administrator.
    #[arg(long, env = "LIVECHAT_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,

    #[command(flatten)]
    pub app: AppSettings,
}

/// Settings the HTTP application reads while serving.
#[derive(Args, Clone, Debug)]
pub struct AppSettings {
    /// Order in which agents see the queue: timestamp, priority or sla. Only the default
    /// of the setting Omnichannel_sorting_mechanism: applied at start while that setting
    /// was never changed through the API.
    #[arg(long, env = "LIVECHAT_QUEUE_SORT", value_enum, global = true)]
    pub queue_sort: Option<QueueSort>,

    /// How queued inquiries reach agents: Manual_Selection, Auto_Selection,
    /// Load_Balancing or Load_Rotation. Only the default of the setting
    /// Livechat_Routing_Method: applied at start while that setting was never changed
    /// through the API.
    #[arg(long, env = "LIVECHAT_ROUTING_METHOD", value_enum, global = true)]
    pub routing_method: Option<RoutingMethod>,

    /// Page size of list endpoints when `count` is absent or 0.
    #[arg(long, env = "LIVECHAT_DEFAULT_COUNT", default_value_t = 50, global = true)]
    pub default_count: i64,

    /// Largest page size a list endpoint returns.
    #[arg(long, env = "LIVECHAT_MAX_COUNT", default_value_t = 100, global = true)]
    pub max_count: i64,

    /// Requests per minute allowed to one HelpCrunch API key.
    #[arg(long, env = "LIVECHAT_HC_RATE_LIMIT_PER_MINUTE", default_value_t = 120, global = true)]
    pub hc_rate_limit_per_minute: i64,

    /// Take the client address from the first X-Forwarded-For entry (only behind a
    /// trusted proxy or load balancer that sets it); otherwise the TCP peer is used.
    #[arg(long, env = "LIVECHAT_TRUST_FORWARDED_FOR", default_value_t = false, global = true)]
    pub trust_forwarded_for: bool,

    /// Most login password checks waiting or running at once; past it a login is
    /// answered 503 with Retry-After instead of queueing. A check takes one core tens of
    /// milliseconds, so the default keeps a login's wait under a second on two cores.
    #[arg(long, env = "LIVECHAT_MAX_PENDING_PASSWORD_CHECKS", default_value_t = NonZeroUsize::new(64).expect("not zero"), global = true)]
    pub max_pending_password_checks: NonZeroUsize,

    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "LIVECHAT_SHUTDOWN_GRACE_SECS", default_value_t = 10, global = true)]
    pub shutdown_grace_secs: u64,

    /// Seconds a client has to send a request's complete headers, counted from the
    /// connection's start or the first byte of a later request; then it is disconnected.
    /// 0 turns it off.
    #[arg(long, env = "LIVECHAT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub header_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may stay without a request in flight and without
    /// traffic before it is closed. 0 turns it off.
    #[arg(long, env = "LIVECHAT_IDLE_TIMEOUT_SECS", default_value_t = 60, global = true)]
    pub idle_timeout_secs: u64,

    /// Seconds a client has to send a request's whole body, counted from its headers;
    /// then it is answered 408 in the face's envelope and disconnected. 0 turns it off.
    #[arg(long, env = "LIVECHAT_BODY_READ_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub body_read_timeout_secs: u64,

    /// Seconds a request may take from its received body to its answer (database waits
    /// included); then it is answered 503 error-service-unavailable. 0 turns it off.
    #[arg(long, env = "LIVECHAT_REQUEST_TIMEOUT_SECS", default_value_t = 20, global = true)]
    pub request_timeout_secs: u64,

    /// Most client connections open at once; past it a new connection is answered 503 and
    /// closed. Lowered at start to what the open-file limit allows; 0: only that bound.
    #[arg(long, env = "LIVECHAT_MAX_CONNECTIONS", default_value_t = 10_000, global = true)]
    pub max_connections: usize,

    /// Origins (e.g. `https://www.example.com`) whose pages may call /api and /avatar
    /// from a browser, as the livechat widget does; comma-separated. None by default:
    /// no cross-origin answer carries CORS headers.
    #[arg(long, env = "LIVECHAT_CORS_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,

    /// Request body bytes that may be read at once across all requests, each body counted
    /// at its declared length (a chunked one at its route's limit); a quarter is kept for
    /// bodies of up to 16 KiB. A body finding no room within a second is answered 503 with
    /// Retry-After. Keep it several times the largest body limit (1 MiB); 0 turns it off.
    #[arg(long, env = "LIVECHAT_MAX_BODY_BYTES_IN_FLIGHT", default_value_t = 32 * 1024 * 1024, global = true)]
    pub max_body_bytes_in_flight: usize,

    /// A folder holding a build of Rocket.Chat's livechat widget (the `build` folder of
    /// the npm package `@rocket.chat/livechat`), served at `/livechat` as Rocket.Chat
    /// serves it. None by default: `/livechat` is not served.
    #[arg(long, env = "LIVECHAT_WIDGET_DIR", global = true)]
    pub widget_dir: Option<std::path::PathBuf>,

    /// Seconds a realtime (DDP) client may stay silent before the server pings it; a
    /// client silent twice this long is disconnected.
    #[arg(long, env = "LIVECHAT_REALTIME_HEARTBEAT_SECS", default_value_t = NonZeroU64::new(25).expect("not zero"), global = true)]
    pub realtime_heartbeat_secs: NonZeroU64,

    /// Frames that may wait to be written to one realtime connection; a client that lets
    /// more pile up is disconnected.
    #[arg(long, env = "LIVECHAT_REALTIME_SEND_QUEUE_FRAMES", default_value_t = NonZeroUsize::new(256).expect("not zero"), global = true)]
    pub realtime_send_queue_frames: NonZeroUsize,
    /// Host of the SMTP relay transcripts are mailed through (plain SMTP, no TLS). Only
    /// the default of the setting SMTP_Host: applied at start while that setting was
    /// never changed through the API.
    #[arg(long, env = "LIVECHAT_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,

    /// Port of that relay: the default of the setting SMTP_Port (25 when both are unset).
    #[arg(long, env = "LIVECHAT_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,

    /// Sender address of mails: the default of the setting From_Email.
    #[arg(long, env = "LIVECHAT_FROM_EMAIL", global = true)]
    pub from_email: Option<String>,

    /// Folder of uploaded files, created if missing. Default: `uploads` beside the SQLite
    /// database file, or `data/uploads` on PostgreSQL. Not used when LIVECHAT_S3_BUCKET is set.
    #[arg(long, env = "LIVECHAT_UPLOADS_DIR", global = true)]
    pub uploads_dir: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub s3: S3Settings,
}

/// An S3-compatible bucket for uploaded files, used instead of the uploads folder when
/// a bucket is named.
#[derive(Args, Clone, Debug)]
pub struct S3Settings {
    /// Bucket of uploaded files; setting it stores files there instead of the uploads folder.
    #[arg(long = "s3-bucket", env = "LIVECHAT_S3_BUCKET", global = true)]
    pub bucket: Option<String>,

    /// Endpoint of an S3-compatible service (e.g. `http://127.0.0.1:9000`), addressed
    /// path-style; AWS's own endpoint for the region when unset. `http://` is allowed.
    #[arg(long = "s3-endpoint", env = "LIVECHAT_S3_ENDPOINT", global = true)]
    pub endpoint: Option<String>,

    /// Region of the bucket.
    #[arg(long = "s3-region", env = "LIVECHAT_S3_REGION", default_value = "us-east-1", global = true)]
    pub region: String,

    /// Access key id; with the secret key. Unset: AWS's usual sources (instance role, ...).
    #[arg(long = "s3-access-key-id", env = "LIVECHAT_S3_ACCESS_KEY_ID", global = true)]
    pub access_key_id: Option<String>,

    /// Secret access key.
    #[arg(long = "s3-secret-access-key", env = "LIVECHAT_S3_SECRET_ACCESS_KEY", hide_env_values = true, global = true)]
    pub secret_access_key: Option<Secret>,

    /// Prefix of every key in the bucket (e.g. `livechat/`); none by default.
    #[arg(long = "s3-prefix", env = "LIVECHAT_S3_PREFIX", global = true)]
    pub prefix: Option<String>,
}

impl AppSettings {
    /// The folder of uploaded files: the configured one, or `data/uploads`.
    pub fn uploads_dir(&self) -> std::path::PathBuf {
        self.uploads_dir.clone().unwrap_or_else(|| std::path::PathBuf::from("data/uploads"))
    }

    /// Fills in the default uploads folder of a server on `database`: `uploads` beside
    /// the SQLite database file, `data/uploads` otherwise.
    pub fn default_uploads_dir_for(&mut self, database: &DatabaseUrl) {
        if self.uploads_dir.is_some() {
            return;
        }
        if let DatabaseUrl::Sqlite(url) = database {
            let file = url.trim_start_matches("sqlite://").split('?').next().unwrap_or("");
            let folder = std::path::Path::new(file).parent().filter(|folder| !folder.as_os_str().is_empty());
            self.uploads_dir = Some(folder.unwrap_or(std::path::Path::new(".")).join("uploads"));
        }
    }

    /// The settings' defaults given by flags or environment variables, to apply at start.
    pub fn setting_defaults(&self) -> Vec<SettingDefault> {
        let sort = self.queue_sort.map(|sort| SettingDefault::of::<SortingMechanism>(sort.setting_value()));
        let routing =
            self.routing_method.map(|method| SettingDefault::of::<RoutingMethodSetting>(method.setting_value()));
        let smtp_host = self.smtp_host.clone().map(SettingDefault::of::<SmtpHost>);
        let smtp_port = self.smtp_port.map(|port| SettingDefault::of::<SmtpPort>(port.to_string()));
        let from_email = self.from_email.clone().map(SettingDefault::of::<FromEmail>);
        sort.into_iter().chain(routing).chain(smtp_host).chain(smtp_port).chain(from_email).collect()
    }
}

/// The defaults of the flags, written once in their `#[arg]`s; the environment aside.
impl Default for AppSettings {
    fn default() -> Self {
        defaults_of()
    }
}

/// Settings as parsed from no flags and no environment variables: their defaults.
fn defaults_of<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults")).mut_args(|arg| arg.env(None));
    let matches = command.try_get_matches_from(["defaults"]).expect("every setting has a default");
    T::from_arg_matches(&matches).expect("the defaults are valid settings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_picks_backend_from_scheme() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/x.db"), Ok(DatabaseUrl::Sqlite("sqlite://data/x.db".into())));
        assert_eq!(DatabaseUrl::parse("postgresql://u@h/db"), Ok(DatabaseUrl::Postgres("postgresql://u@h/db".into())));
        assert_eq!(
            DatabaseUrl::parse("mysql://root:secret@h/db"),
            Err("DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got mysql://root:***@h/db)"
                .into())
        );
    }

    #[test]
    fn app_settings_default_to_the_flag_defaults() {
        let settings = AppSettings::default();
        assert_eq!(settings.queue_sort, None);
        assert_eq!(settings.routing_method, None);
        assert_eq!(settings.setting_defaults(), []);
        assert_eq!(settings.default_count, 50);
        assert_eq!(settings.max_count, 100);
        assert_eq!(settings.hc_rate_limit_per_minute, 120);
        assert!(!settings.trust_forwarded_for);
        assert_eq!(settings.max_pending_password_checks.get(), 64);
        assert_eq!(settings.shutdown_grace_secs, 10);
    }

    #[test]
    fn a_queue_sort_flag_is_the_default_of_the_sorting_setting() {
        let settings = AppSettings { queue_sort: Some(QueueSort::Sla), ..AppSettings::default() };
        assert_eq!(
            settings.setting_defaults(),
            [SettingDefault { id: "Omnichannel_sorting_mechanism", value: "SLAs".into() }]
        );
    }

    #[test]
    fn a_routing_method_flag_is_the_default_of_the_routing_setting() {
        let settings = AppSettings { routing_method: Some(RoutingMethod::LoadRotation), ..AppSettings::default() };
        assert_eq!(
            settings.setting_defaults(),
            [SettingDefault { id: "Livechat_Routing_Method", value: "Load_Rotation".into() }]
        );
    }

    #[test]
    fn debug_of_the_settings_shows_no_secret() {
        #[derive(clap::Parser, Debug)]
        struct Settings {
            #[command(flatten)]
            database: DatabaseSettings,
            #[command(flatten)]
            serve: ServeSettings,
        }
        let settings = <Settings as clap::Parser>::try_parse_from([
            "livechat-server",
            "--database-url",
            "postgres://app:hunter2@db:5432/livechat",
            "--admin-password",
            "correct-horse",
        ])
        .expect("the flags parse");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("correct-horse"), "{printed}");
        assert_eq!(settings.database.database_url.expose(), "postgres://app:hunter2@db:5432/livechat");
        assert_eq!(settings.serve.admin_password.as_ref().map(Secret::expose), Some("correct-horse"));

        let url = DatabaseUrl::parse("postgres://app:hunter2@db:5432/livechat").unwrap();
        assert_eq!(format!("{url:?}"), r#"Postgres("postgres://app:***@db:5432/livechat")"#);
    }

    #[test]
    fn redaction_hides_passwords() {
        assert_eq!(redact_password("postgres://app:hunter2@db:5432/livechat"), "postgres://app:***@db:5432/livechat");
        assert_eq!(redact_password("sqlite://data/livechat.db"), "sqlite://data/livechat.db");
    }
}
