//! The server under test: the release `livechat-server` binary started as a child
//! process (so that its memory is its own), or a server already running.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub struct Server {
    pub base_url: String,
    /// The process whose peak RSS is reported, when known.
    pub pid: Option<u32>,
    child: Option<Child>,
}

/// Settings the child server is started with.
pub struct Launch<'a> {
    pub database_url: &'a str,
    pub db_max_connections: u32,
    /// The server's connection limit (`LIVECHAT_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Server {
    /// Starts `livechat-server` from the folder of this executable on a free port.
    pub async fn launch(launch: Launch<'_>) -> anyhow::Result<Self> {
        let binary = server_binary()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&binary)
            .env("DATABASE_URL", launch.database_url)
            .env("LIVECHAT_LISTEN", format!("127.0.0.1:{port}"))
            .env("LIVECHAT_DB_MAX_CONNECTIONS", launch.db_max_connections.to_string())
            .env("LIVECHAT_MAX_CONNECTIONS", launch.max_connections.to_string())
            // The HelpCrunch rate limit would turn a load test into a 429 test.
            .env("LIVECHAT_HC_RATE_LIMIT_PER_MINUTE", "1000000000")
            // The login scenario sends each connection's logins from an address of its own.
            .env("LIVECHAT_TRUST_FORWARDED_FOR", "true")
            // Per-request log lines would measure the terminal, not the server.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Self { base_url: format!("http://127.0.0.1:{port}"), pid: Some(child.id()), child: Some(child) };
        server.wait_until_live().await?;
        Ok(server)
    }

    /// A server started by someone else; its RSS is known only through `pid`.
    pub async fn attach(base_url: &str, pid: Option<u32>) -> anyhow::Result<Self> {
        let server = Self { base_url: base_url.trim_end_matches('/').to_owned(), pid, child: None };
        server.wait_until_live().await?;
        Ok(server)
    }

    async fn wait_until_live(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/health/live", self.base_url);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => bail!("{url} answered {}", response.status()),
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(error) => bail!("the server did not come up at {url}: {error}"),
            }
        }
    }

    /// Restarts the peak-RSS count (Linux `clear_refs` 5), so that the next reading
    /// is the peak of what runs from now on. Without it, the peak covers the process.
    pub fn reset_peak_rss(&self) {
        if let Some(pid) = self.pid {
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
    }

    /// VmHWM in bytes, if the process can be read.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        self.status_bytes("VmHWM:")
    }

    /// VmRSS in bytes, if the process can be read.
    pub fn rss_bytes(&self) -> Option<u64> {
        self.status_bytes("VmRSS:")
    }

    fn status_bytes(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        let kilobytes: u64 = line.trim_start_matches(field).trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kilobytes * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn server_binary() -> anyhow::Result<PathBuf> {
    let bench = std::env::current_exe().context("locating the bench executable")?;
    let binary = bench.with_file_name(format!("livechat-server{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        bail!("{} is missing: build both binaries (cargo build --release --bins)", binary.display());
    }
    Ok(binary)
}
