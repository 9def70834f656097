//! The command line: serve (the default), migrate, user and API key administration.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use futures::FutureExt;
use livechat_server::accounts::{self, BootstrapAdmin, UserRequest};
use livechat_server::config::{DatabaseSettings, DatabaseUrl, LogFormat, Secret, ServeSettings};
use livechat_server::domain::time::{iso, now_millis};
use livechat_server::store::{ApiKey, Store, StoreError, StoreOptions};
use livechat_server::{AppState, init_tracing, serve, serve_metrics, shutdown_signal};

/// mimalloc rather than the system allocator: password hashing allocates a 19 MiB block
/// per login, and glibc's arenas fragment around such blocks until the process holds
/// hundreds of megabytes; mimalloc reuses and returns them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Rocket.Chat-compatible livechat server with a HelpCrunch-compatible chats API")]
struct Cli {
    #[command(flatten)]
    database: DatabaseSettings,

    /// Log format: pretty or json. RUST_LOG filters what is logged.
    #[arg(long, env = "LIVECHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    log_format: LogFormat,

    #[command(flatten)]
    serve: ServeSettings,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the API keys of the HelpCrunch API (/v1).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints its _id on the last line.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// A role to give (repeatable): admin, user, livechat-agent, livechat-manager, livechat-monitor.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key; prints it, once, alone on the last line.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List every key: name, prefix, created, last used, revoked.
    List,
    /// Revoke a key; it is refused from its next request on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let url = match DatabaseUrl::parse(cli.database.database_url.expose()) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    init_tracing(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    match runtime.block_on(run(cli, url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, url: DatabaseUrl) -> anyhow::Result<()> {
    let options = StoreOptions {
        url: url.clone(),
        max_connections: cli.database.db_max_connections,
        acquire_timeout: cli.database.acquire_timeout(),
        statement_timeout: cli.database.statement_timeout(),
        tcp_keepalive: cli.database.tcp_keepalive(),
    };
    let store = Store::open(&options).await.with_context(|| format!("opening the database {}", url.redacted()))?;
    store.migrate().await.context("applying migrations")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => run_server(store, cli.serve, &url).await,
        Command::Migrate => {
            println!("migrations applied to {}", url.redacted());
            Ok(())
        }
        Command::User(UserCommand::Create { username, password, email, name, roles }) => {
            let request = UserRequest {
                name: name.unwrap_or_else(|| username.clone()),
                username,
                password,
                email,
                roles: if roles.is_empty() { vec!["user".to_owned()] } else { roles },
                active: true,
            };
            let user = accounts::create_user(&store, request, now_millis()).await?;
            println!("created user {}", user.username);
            println!("{}", user.id);
            Ok(())
        }
        Command::ApiKey(command) => run_api_key_command(&store, command).await,
    }
}

async fn run_api_key_command(store: &Store, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create { name } => {
            let issued = accounts::issue_api_key(store, &name, now_millis()).await?;
            println!(
                "created API key {} (prefix {}); it is shown only now:",
                issued.api_key.name, issued.api_key.prefix
            );
            println!("{}", issued.key);
        }
        ApiKeyCommand::List => print!("{}", api_key_table(&store.api_keys().await?)),
        ApiKeyCommand::Revoke { name } => match store.revoke_api_key(&name, now_millis()).await {
            Ok(_) => println!("revoked API key {name}"),
            Err(StoreError::NotFound) => anyhow::bail!("no API key is named {name:?}"),
            Err(error) => return Err(error.into()),
        },
    }
    Ok(())
}

/// Columns padded to their widest cell; instants in ISO 8601, `-` for never.
fn api_key_table(api_keys: &[ApiKey]) -> String {
    let instant = |millis: Option<i64>| millis.map_or_else(|| "-".to_owned(), iso);
    let mut rows = vec![["NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"].map(str::to_owned)];
    rows.extend(api_keys.iter().map(|api_key| {
        [
            api_key.name.clone(),
            api_key.prefix.clone(),
            iso(api_key.created_at),
            instant(api_key.last_used_at),
            instant(api_key.revoked_at),
        ]
    }));
    let widths: Vec<usize> =
        (0..5).map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}

async fn run_server(store: Store, settings: ServeSettings, url: &DatabaseUrl) -> anyhow::Result<()> {
    accounts::ensure_admin(
        &store,
        BootstrapAdmin {
            username: settings.admin_username,
            password: settings.admin_password.map(Secret::into_exposed),
            email: settings.admin_email,
        },
    )
    .await?;
    store.apply_setting_defaults(&settings.app.setting_defaults(), now_millis()).await?;
    match livechat_server::server::raise_open_file_limit() {
        Ok((soft, hard)) => tracing::info!(soft, hard, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
    let shutdown = shutdown_signal().shared();
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %url.redacted(),
        backend = store.backend_name(),
        "livechat-server listening"
    );
    let grace = std::time::Duration::from_secs(settings.app.shutdown_grace_secs);
    let mut app_settings = settings.app;
    app_settings.default_uploads_dir_for(url);
    let files = livechat_server::files::FileStorage::from_settings(&app_settings)?;
    tracing::info!(storage = ?files.kind(), "file storage");
    let state = AppState::with_files(store.clone(), app_settings, files);
    let metrics = match settings.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listening for metrics on {address}"))?;
            tracing::info!(address = %listener.local_addr()?, "metrics listening");
            Some(tokio::spawn(serve_metrics(listener, state.clone(), shutdown.clone())))
        }
        None => None,
    };
    serve(listener, state, shutdown, grace).await?;
    if let Some(metrics) = metrics {
        metrics.await.context("metrics listener")??;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
