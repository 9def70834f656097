//! A small SMTP server on a loopback socket that keeps what it is sent: enough SMTP
//! (RFC 5321 without extensions) for a client to deliver plain mail, so tests can read
//! the recipient, the headers and the body of what the server mailed.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

/// A mail as the sink received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope's sender (`MAIL FROM`).
    pub from: String,
    /// The envelope's recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, with `\n` line ends.
    pub data: String,
}

impl ReceivedMail {
    /// The value of header `name` (case ignored), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = self.data.split_once("\n\n")?;
        let mut found: Option<String> = None;
        let mut current: Option<String> = None;
        for line in headers.lines() {
            if line.starts_with([' ', '\t']) {
                // Unfolding removes the line break and keeps the whitespace.
                if let Some(value) = current.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if let Some(value) = current.take() {
                found = Some(value);
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                current = Some(value.trim().to_owned());
            }
        }
        current.or(found)
    }

    /// The body after the headers, without the final line end.
    pub fn body(&self) -> String {
        self.data.split_once("\n\n").map(|(_, body)| body.trim_end_matches('\n').to_owned()).unwrap_or_default()
    }
}

/// How the sink answers a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Refuses every message after its data, as a relay refusing delivery does.
    Refuse,
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("the sink's address").port();
        let mails: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let task = tokio::spawn({
            let (mails, arrived) = (mails.clone(), arrived.clone());
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (mails, arrived) = (mails.clone(), arrived.clone());
                    tokio::spawn(async move {
                        let _ = converse(stream, behaviour, &mails, &arrived).await;
                    });
                }
            }
        });
        Self { port, mails, arrived, task }
    }

    /// What arrived so far.
    pub async fn received(&self) -> Vec<ReceivedMail> {
        self.mails.lock().await.clone()
    }

    /// Waits (up to 10 s) until `count` mails arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.arrived.notified();
                let mails = self.received().await;
                if mails.len() >= count {
                    return mails;
                }
                notified.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("{count} mail(s) did not arrive at the SMTP sink within 10 s"))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port nothing listens on: a relay that is down.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    listener.local_addr().expect("its address").port()
}

/// One SMTP session.
async fn converse(
    stream: TcpStream,
    behaviour: Behaviour,
    mails: &Mutex<Vec<ReceivedMail>>,
    arrived: &Notify,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    writer.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = address_of(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address_of(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    let text = line.trim_end_matches(['\r', '\n']);
                    if text == "." {
                        break;
                    }
                    data.push_str(text.strip_prefix('.').filter(|_| text.starts_with("..")).unwrap_or(text));
                    data.push('\n');
                }
                if behaviour == Behaviour::Refuse {
                    b"554 Transaction failed\r\n"
                } else {
                    mails.lock().await.push(ReceivedMail { from: from.clone(), to: to.clone(), data });
                    arrived.notify_waiters();
                    b"250 OK queued\r\n"
                }
            }
            "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// The address inside `<...>` of a `MAIL FROM:` or `RCPT TO:` command.
fn address_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |at| at + 1);
    let end = command[start..].find('>').map_or(command.len(), |at| start + at);
    command[start..end].to_owned()
}
