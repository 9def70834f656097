//! A TCP proxy that a test can cut and restore, to take a real database away.

use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    port: u16,
    up: Arc<watch::Sender<bool>>,
}

impl TcpProxy {
    pub async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, _) = watch::channel(true);
        let up = Arc::new(up);
        let shared = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if !*shared.borrow() {
                    continue; // dropped: the connection is refused while down
                }
                let mut down = shared.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}
