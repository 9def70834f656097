//! Hostile bodies: clients that keep sending 1 MiB bodies built to cost the server as much
//! as they can, over raw TCP so that every byte is the one a hostile client sends.
//!
//! Each client sends one shape to one route, over and over on fresh connections: to
//! `POST /api/v1/login` (an 8 KiB route) and to `POST /api/v1/livechat/visitor` (a 1 MiB
//! route, open without login), the shapes `[0],[0],...`, one long string, many keys,
//! deep nesting, the arrays again chunked without a `Content-Length`, and the arrays sent
//! slowly (64 KiB every 50 ms).
//!
//! The clients run in a child process of their own at the lowest CPU priority
//! (`nice -n 19`): an attacker's own work happens on its machine, not the server's, so
//! on a shared machine it must not take the cores from the server or from the ordinary
//! load whose latency is measured. They still use every cycle left idle.

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
const PIECE: usize = 64 * 1024;
const SLOW_PAUSE: Duration = Duration::from_millis(50);
/// Longest a hostile request may take before it counts as unanswered.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

const TARGETS: [&str; 2] = ["/api/v1/login", "/api/v1/livechat/visitor"];

#[derive(Clone, Copy, Debug)]
enum Shape {
    Arrays,
    LongString,
    ManyKeys,
    Deep,
    Chunked,
    Slow,
}

const SHAPES: [Shape; 6] =
    [Shape::Arrays, Shape::LongString, Shape::ManyKeys, Shape::Deep, Shape::Chunked, Shape::Slow];

/// The body of a shape: 1 MiB, give or take a few bytes.
fn body(shape: Shape) -> Vec<u8> {
    match shape {
        Shape::Arrays | Shape::Chunked | Shape::Slow => {
            let mut body = br#"{"visitor":["#.to_vec();
            body.extend("[0],".repeat((MIB - 32) / 4).bytes());
            body.extend_from_slice(b"[0]]}");
            body
        }
        Shape::LongString => format!(r#"{{"user":"{}","password":"x"}}"#, "a".repeat(MIB - 32)).into_bytes(),
        Shape::ManyKeys => {
            let mut body = b"{".to_vec();
            let mut key = 0;
            while body.len() < MIB - 32 {
                body.extend(format!(r#""k{key}":0,"#).bytes());
                key += 1;
            }
            body.extend_from_slice(br#""z":0}"#);
            body
        }
        Shape::Deep => {
            let mut body = "[".repeat(MIB / 2).into_bytes();
            body.extend("]".repeat(MIB / 2).bytes());
            body
        }
    }
}

/// How the hostile requests were answered: by status code, or how they failed.
#[derive(Default)]
pub struct HostileTally {
    pub answers: BTreeMap<String, u64>,
}

impl HostileTally {
    pub fn total(&self) -> u64 {
        self.answers.values().sum()
    }

    /// `413: 120, 400: 80, ...`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self.answers.iter().map(|(answer, count)| format!("{answer}: {count}")).collect();
        parts.join(", ")
    }
}

/// The first argument that makes this program the hostile clients' process.
pub const FLOOD_COMMAND: &str = "hostile-flood";

/// Runs `clients` hostile clients for `duration` in a child process at the lowest CPU
/// priority, and collects how they were answered.
pub async fn flood_in_child(base_url: &str, clients: usize, duration: Duration) -> anyhow::Result<HostileTally> {
    let program = std::env::current_exe().context("locating this program")?;
    let mut command = Command::new("nice");
    command.args(["-n", "19"]).arg(program).arg(FLOOD_COMMAND).arg(base_url);
    command.arg(clients.to_string()).arg(duration.as_millis().to_string());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .context("waiting for the hostile clients")?
        .context("starting the hostile clients (nice -n 19)")?;
    if !output.status.success() {
        bail!("the hostile clients failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let answers = serde_json::from_slice(&output.stdout).context("reading the hostile clients' tally")?;
    Ok(HostileTally { answers })
}

/// The child process: `hostile-flood BASE_URL CLIENTS MILLISECONDS`; prints the tally
/// as a JSON object of answer counts.
pub fn flood_command(arguments: &[String]) -> ExitCode {
    let [base_url, clients, millis] = arguments else {
        eprintln!("usage: livechat-bench {FLOOD_COMMAND} BASE_URL CLIENTS MILLISECONDS");
        return ExitCode::FAILURE;
    };
    let (Ok(clients), Ok(millis)) = (clients.parse::<usize>(), millis.parse::<u64>()) else {
        eprintln!("CLIENTS and MILLISECONDS are whole numbers");
        return ExitCode::FAILURE;
    };
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    let tally = runtime.block_on(flood(base_url, clients, Instant::now() + Duration::from_millis(millis)));
    println!("{}", serde_json::json!(tally.answers));
    ExitCode::SUCCESS
}

/// Runs `clients` hostile clients until `deadline`.
async fn flood(base_url: &str, clients: usize, deadline: Instant) -> HostileTally {
    let address = base_url.trim_start_matches("http://").to_owned();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(SHAPES.iter().map(|&shape| body(shape)).collect());
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (address, bodies) = (address.clone(), Arc::clone(&bodies));
            let shape = client % SHAPES.len();
            let target = TARGETS[(client / SHAPES.len()) % TARGETS.len()];
            tokio::spawn(async move {
                let mut answers: BTreeMap<String, u64> = BTreeMap::new();
                // At least one body each, even when this low-priority process got no
                // time before the deadline on a busy machine.
                loop {
                    let answer =
                        tokio::time::timeout(ANSWER_TIMEOUT, send(&address, target, SHAPES[shape], &bodies[shape]))
                            .await
                            .unwrap_or_else(|_| "unanswered".to_owned());
                    *answers.entry(answer).or_default() += 1;
                    if Instant::now() >= deadline {
                        break answers;
                    }
                }
            })
        })
        .collect();
    let mut tally = HostileTally::default();
    for task in tasks {
        for (answer, count) in task.await.expect("a hostile client panicked") {
            *tally.answers.entry(answer).or_default() += count;
        }
    }
    tally
}

/// Sends one body on a fresh connection; the answer's status code, or what went wrong.
async fn send(address: &str, path: &str, shape: Shape, body: &[u8]) -> String {
    let Ok(mut stream) = TcpStream::connect(address).await else {
        return "connect failed".to_owned();
    };
    let framing = match shape {
        Shape::Chunked => "Transfer-Encoding: chunked".to_owned(),
        _ => format!("Content-Length: {}", body.len()),
    };
    let head = format!("POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{framing}\r\n\r\n");
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        match shape {
            Shape::Chunked => {
                for piece in body.chunks(PIECE) {
                    stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await?;
                    stream.write_all(piece).await?;
                    stream.write_all(b"\r\n").await?;
                }
                stream.write_all(b"0\r\n\r\n").await
            }
            Shape::Slow => {
                for piece in body.chunks(PIECE) {
                    stream.write_all(piece).await?;
                    tokio::time::sleep(SLOW_PAUSE).await;
                }
                Ok(())
            }
            _ => stream.write_all(body).await,
        }
    };
    // A server refusing early may close before the body is sent: its answer still counts.
    let _ = sent.await;
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(2).any(|window| window == b"\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return if head.is_empty() { "closed".to_owned() } else { "cut".to_owned() },
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ').nth(1).unwrap_or("garbled").to_owned()
}
