//! A fault-injecting TCP proxy between clients and the real server.
//!
//! Clients talk to the proxy's stable address; the proxy forwards bytes to the server (which may
//! be restarted on another port: [`FaultProxy::retarget`]) and, when armed, breaks things the
//! way networks and phones do: the network goes away, a connection is cut after N request
//! bytes (an upload at 30 %), a request arrives but its answer never does (a phone that crashed
//! after sending), a request byte is flipped (a corrupted chunk). It counts every byte in both
//! directions, which is what "bytes on the wire" means in the benchmarks.
//!
//! Faults are armed for the bytes that flow after the arming call, across connections (HTTP
//! clients reuse connections, so "the next request" is the next bytes, whichever socket carries
//! them), and disarm themselves once they fire.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; dropping it stops accepting and closes every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: watch::Sender<()>,
}

struct Shared {
    target: Mutex<SocketAddr>,
    faults: Mutex<Faults>,
    offline: AtomicBool,
    /// Bumped to close every open connection at once (network loss, server restart).
    generation: watch::Sender<u64>,
    up_bytes: AtomicU64,
    down_bytes: AtomicU64,
    /// Bytes of upload (PATCH) bodies forwarded.
    upload_body_bytes: AtomicU64,
}

#[derive(Default)]
struct Faults {
    /// Close the carrying connection once this many more request bytes have passed.
    cut_up_after: Option<u64>,
    /// Flip the request byte at this position (counted from arming).
    corrupt_up_at: Option<u64>,
    /// Swallow this many next responses, closing their connections.
    drop_responses: u32,
    /// Close the connection once this many bytes of the next upload PATCH's body have passed.
    cut_upload_after: Option<u64>,
    /// Flip this byte of the next upload PATCH's body.
    corrupt_upload_at: Option<u64>,
    /// How many faults have fired.
    fired: u64,
}

/// Which way bytes flow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Client → server (requests).
    Up,
    /// Server → client (responses).
    Down,
}

/// What the pump must do with a chunk it read.
enum Verdict {
    /// Forward these bytes (possibly altered), then carry on.
    Forward(Vec<u8>),
    /// Forward these bytes, then close the connection.
    ForwardThenClose(Vec<u8>),
}

impl FaultProxy {
    /// Starts a proxy on a free local port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (generation, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            faults: Mutex::default(),
            offline: AtomicBool::new(false),
            generation,
            up_bytes: AtomicU64::new(0),
            down_bytes: AtomicU64::new(0),
            upload_body_bytes: AtomicU64::new(0),
        });
        let (stop, mut stopped) = watch::channel(());
        let accept_shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        if accept_shared.offline.load(Ordering::SeqCst) {
                            drop(client);
                            continue;
                        }
                        tokio::spawn(serve(client, accept_shared.clone(), stopped.clone()));
                    }
                }
            }
        });
        FaultProxy { addr, shared, _stop: stop }
    }

    /// The address clients should use.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>` for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another server address (a restarted server) and closes open
    /// connections, as a restart would.
    pub fn retarget(&self, target: SocketAddr) {
        *self.shared.target.lock().expect("proxy lock") = target;
        self.drop_connections();
    }

    /// The network goes away (`true`: every connection is closed and new ones are refused) or
    /// comes back.
    pub fn set_offline(&self, offline: bool) {
        self.shared.offline.store(offline, Ordering::SeqCst);
        if offline {
            self.drop_connections();
        }
    }

    /// Closes every open connection now.
    pub fn drop_connections(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Cuts the connection after `n` more request bytes have been forwarded.
    pub fn cut_request_after(&self, n: u64) {
        self.shared.faults.lock().expect("proxy lock").cut_up_after = Some(n);
    }

    /// Flips the request byte `n` bytes from now (0: the very next byte).
    pub fn corrupt_request_byte(&self, n: u64) {
        self.shared.faults.lock().expect("proxy lock").corrupt_up_at = Some(n);
    }

    /// Lets the next request reach the server whole, but swallows its answer and closes the
    /// connection: the client cannot know whether the server acted.
    pub fn drop_next_response(&self) {
        self.drop_responses(1);
    }

    /// [`FaultProxy::drop_next_response`] for the next `n` answers.
    pub fn drop_responses(&self, n: u32) {
        self.shared.faults.lock().expect("proxy lock").drop_responses = n;
    }

    /// Cuts the connection once `n` more bytes of resumable-upload chunks (bodies of `PATCH
    /// /api/uploads/…`, counted across chunks) have been forwarded: an upload interrupted
    /// part-way.
    pub fn cut_upload_after(&self, n: u64) {
        self.shared.faults.lock().expect("proxy lock").cut_upload_after = Some(n);
    }

    /// Flips the upload byte `n` bytes from now (counted over upload chunk bodies only).
    pub fn corrupt_upload_byte(&self, n: u64) {
        self.shared.faults.lock().expect("proxy lock").corrupt_upload_at = Some(n);
    }

    /// Bytes of upload chunk bodies (`PATCH /api/uploads/…`) forwarded so far.
    pub fn upload_body_bytes(&self) -> u64 {
        self.shared.upload_body_bytes.load(Ordering::SeqCst)
    }

    /// How many armed faults have fired.
    pub fn faults_fired(&self) -> u64 {
        self.shared.faults.lock().expect("proxy lock").fired
    }

    /// Request bytes forwarded to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.shared.up_bytes.load(Ordering::SeqCst)
    }

    /// Response bytes forwarded to clients so far.
    pub fn bytes_down(&self) -> u64 {
        self.shared.down_bytes.load(Ordering::SeqCst)
    }
}

async fn serve(client: TcpStream, shared: Arc<Shared>, stopped: watch::Receiver<()>) {
    let target = *shared.target.lock().expect("proxy lock");
    let Ok(server) = TcpStream::connect(target).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut generation_changed = shared.generation.subscribe();
    let (kill, mut killed) = watch::channel(false);
    let up = pump(client_read, server_write, Dir::Up, shared.clone(), kill.clone());
    let down = pump(server_read, client_write, Dir::Down, shared.clone(), kill);
    let mut stopped = stopped;
    // Whichever happens first ends the connection: both halves done, a fault closing this
    // connection, the network dropped, or the proxy stopped. Dropping the halves closes both
    // sockets.
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = killed.changed() => {}
        _ = generation_changed.changed() => {}
        _ = stopped.changed() => {}
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dir: Dir,
    shared: Arc<Shared>,
    kill: watch::Sender<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut requests = RequestTracker::default();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let verdict = match dir {
            Dir::Up => shared.inspect_request_bytes(&buf[..n], &mut requests),
            Dir::Down => shared.inspect(dir, &buf[..n]),
        };
        let (bytes, close) = match verdict {
            Verdict::Forward(b) => (b, false),
            Verdict::ForwardThenClose(b) => (b, true),
        };
        if !bytes.is_empty() {
            if to.write_all(&bytes).await.is_err() {
                break;
            }
            let counter = if dir == Dir::Up { &shared.up_bytes } else { &shared.down_bytes };
            counter.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        }
        if close {
            let _ = kill.send(true);
            return;
        }
    }
    let _ = to.shutdown().await;
}

impl Shared {
    /// Applies armed faults to request bytes: upload-body faults first (they need to know where
    /// each request's body is), then the byte-count faults.
    fn inspect_request_bytes(&self, chunk: &[u8], requests: &mut RequestTracker) -> Verdict {
        let mut bytes = chunk.to_vec();
        let mut cut_at = None;
        {
            let mut faults = self.faults.lock().expect("proxy lock");
            for segment in requests.feed(chunk) {
                if !segment.upload_body {
                    continue;
                }
                let len = (segment.end - segment.start) as u64;
                // Upload faults count body bytes of every upload chunk from the moment they were
                // armed, so "30 % into the file" works across several PATCHes.
                if let Some(at) = faults.corrupt_upload_at {
                    if at < len {
                        bytes[segment.start + at as usize] ^= 0xff;
                        faults.corrupt_upload_at = None;
                        faults.fired += 1;
                    } else {
                        faults.corrupt_upload_at = Some(at - len);
                    }
                }
                let mut forwarded = len;
                if let Some(at) = faults.cut_upload_after {
                    if at < len {
                        cut_at = Some(segment.start + at as usize);
                        forwarded = at;
                        faults.cut_upload_after = None;
                        faults.fired += 1;
                    } else {
                        faults.cut_upload_after = Some(at - len);
                    }
                }
                self.upload_body_bytes.fetch_add(forwarded, Ordering::SeqCst);
                if cut_at.is_some() {
                    break;
                }
            }
        }
        if let Some(cut) = cut_at {
            bytes.truncate(cut);
            return Verdict::ForwardThenClose(bytes);
        }
        self.inspect(Dir::Up, &bytes)
    }

    /// Applies armed faults to a chunk about to be forwarded.
    fn inspect(&self, dir: Dir, chunk: &[u8]) -> Verdict {
        let mut faults = self.faults.lock().expect("proxy lock");
        let mut bytes = chunk.to_vec();
        match dir {
            Dir::Up => {
                if let Some(at) = faults.corrupt_up_at {
                    if (at as usize) < bytes.len() {
                        bytes[at as usize] ^= 0xff;
                        faults.corrupt_up_at = None;
                        faults.fired += 1;
                    } else {
                        faults.corrupt_up_at = Some(at - bytes.len() as u64);
                    }
                }
                if let Some(left) = faults.cut_up_after {
                    if (left as usize) <= bytes.len() {
                        bytes.truncate(left as usize);
                        faults.cut_up_after = None;
                        faults.fired += 1;
                        return Verdict::ForwardThenClose(bytes);
                    }
                    faults.cut_up_after = Some(left - bytes.len() as u64);
                }
                Verdict::Forward(bytes)
            }
            Dir::Down => {
                if faults.drop_responses > 0 {
                    faults.drop_responses -= 1;
                    faults.fired += 1;
                    return Verdict::ForwardThenClose(Vec::new());
                }
                Verdict::Forward(bytes)
            }
        }
    }
}

/// Follows HTTP/1.1 requests through one connection's byte stream, so faults can aim at an
/// upload chunk's body. Knows what our clients send: headers, then a `Content-Length` body.
#[derive(Default)]
struct RequestTracker {
    /// Header bytes of the request being read.
    head: Vec<u8>,
    /// Body bytes still to come of the current request.
    body_left: u64,
    /// Body bytes of the current request already seen.
    body_seen: u64,
    /// The current request is an upload chunk.
    upload: bool,
}

/// A run of body bytes within a chunk.
struct Segment {
    start: usize,
    end: usize,
    /// Position of `start` within the request's body (the tracker's own tests check it).
    #[cfg_attr(not(test), allow(dead_code))]
    body_offset: u64,
    upload_body: bool,
}

impl RequestTracker {
    fn feed(&mut self, chunk: &[u8]) -> Vec<Segment> {
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chunk.len() {
            if self.body_left > 0 {
                let take = (self.body_left as usize).min(chunk.len() - i);
                segments.push(Segment {
                    start: i,
                    end: i + take,
                    body_offset: self.body_seen,
                    upload_body: self.upload,
                });
                self.body_left -= take as u64;
                self.body_seen += take as u64;
                i += take;
                continue;
            }
            self.head.push(chunk[i]);
            i += 1;
            if self.head.ends_with(b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.head).to_ascii_lowercase();
                self.upload = head.starts_with("patch /api/uploads/");
                self.body_left = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                self.body_seen = 0;
                self.head.clear();
            }
        }
        segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every read with the same bytes.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(proxy: &FaultProxy, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(proxy.addr()).await?;
        s.write_all(msg).await?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got).await?;
        Ok(got)
    }

    #[tokio::test]
    async fn forwards_and_counts_bytes_both_ways() {
        let proxy = FaultProxy::start(echo_server().await).await;
        assert_eq!(round_trip(&proxy, b"hello").await.unwrap(), b"hello");
        assert_eq!((proxy.bytes_up(), proxy.bytes_down()), (5, 5));
        assert_eq!(proxy.faults_fired(), 0);
    }

    #[tokio::test]
    async fn cuts_a_request_after_n_bytes() {
        let proxy = FaultProxy::start(echo_server().await).await;
        proxy.cut_request_after(3);
        assert!(round_trip(&proxy, b"abcdef").await.is_err(), "the cut connection must fail");
        assert_eq!(proxy.bytes_up(), 3);
        assert_eq!(proxy.faults_fired(), 1);
        // Disarmed: the next connection works.
        assert_eq!(round_trip(&proxy, b"again").await.unwrap(), b"again");
    }

    #[tokio::test]
    async fn swallows_an_answer_after_the_request_arrived() {
        let proxy = FaultProxy::start(echo_server().await).await;
        proxy.drop_next_response();
        assert!(round_trip(&proxy, b"ping").await.is_err());
        assert_eq!(proxy.bytes_up(), 4, "the request reached the server");
        assert_eq!(proxy.bytes_down(), 0, "no answer reached the client");
        assert_eq!(round_trip(&proxy, b"pong").await.unwrap(), b"pong");
    }

    #[tokio::test]
    async fn flips_one_request_byte() {
        let proxy = FaultProxy::start(echo_server().await).await;
        proxy.corrupt_request_byte(2);
        let got = round_trip(&proxy, b"abcd").await.unwrap();
        assert_eq!(got, [b'a', b'b', b'c' ^ 0xff, b'd']);
        assert_eq!(round_trip(&proxy, b"abcd").await.unwrap(), b"abcd");
    }

    #[tokio::test]
    async fn cuts_and_corrupts_upload_bodies_only() {
        let proxy = FaultProxy::start(echo_server().await).await;
        let head = b"PATCH /api/uploads/1 HTTP/1.1\r\ncontent-length: 10\r\n\r\n";
        let request = [&head[..], b"0123456789"].concat();
        proxy.corrupt_upload_byte(1);
        let echoed = round_trip(&proxy, &request).await.unwrap();
        assert_eq!(&echoed[head.len()..], [b'0', b'1' ^ 0xff, b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9']);
        proxy.cut_upload_after(3);
        assert!(round_trip(&proxy, &request).await.is_err());
        assert_eq!(proxy.upload_body_bytes(), 10 + 3);
        assert_eq!(proxy.bytes_up(), (request.len() + head.len() + 3) as u64);
        assert_eq!(proxy.faults_fired(), 2);
    }

    #[test]
    fn finds_upload_bodies_across_chunks() {
        let mut t = RequestTracker::default();
        let a =
            b"GET /api/x HTTP/1.1\r\nhost: h\r\n\r\nPATCH /api/uploads/1 HTTP/1.1\r\ncontent-length: 10\r\n\r\n0123";
        let segs = t.feed(a);
        assert_eq!(segs.len(), 1);
        assert!(segs[0].upload_body);
        assert_eq!(&a[segs[0].start..segs[0].end], b"0123");
        let segs = t.feed(b"456789POST /api/sync/push HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}");
        assert_eq!((segs[0].body_offset, segs[0].end - segs[0].start, segs[0].upload_body), (4, 6, true));
        assert_eq!((segs[1].body_offset, segs[1].end - segs[1].start, segs[1].upload_body), (0, 2, false));
    }

    #[tokio::test]
    async fn offline_refuses_and_online_recovers_and_retarget_moves() {
        let proxy = FaultProxy::start(echo_server().await).await;
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).await.unwrap();
        proxy.set_offline(true);
        let mut rest = Vec::new();
        assert_eq!(open.read_to_end(&mut rest).await.unwrap_or(0), 0, "open connections are closed");
        assert!(round_trip(&proxy, b"y").await.is_err());
        proxy.set_offline(false);
        assert_eq!(round_trip(&proxy, b"z").await.unwrap(), b"z");
        proxy.retarget(echo_server().await);
        assert_eq!(round_trip(&proxy, b"moved").await.unwrap(), b"moved");
    }
}
