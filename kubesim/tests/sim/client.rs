//! A small blocking HTTPS/1.1 client for the tests (keep-alive, chunked
//! bodies, watch streams), verifying the instance's own CA.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connection settings for one instance.
#[derive(Clone)]
pub struct Client {
    port: u16,
    token: Option<String>,
    config: Arc<ClientConfig>,
}

/// A keep-alive connection.
pub struct Conn {
    client: Client,
    stream: BufReader<Tls>,
}

impl Client {
    pub fn new(inst: &kubesim::Instance) -> Client {
        Client::from_parts(inst.port, &inst.token, &inst.ca_pem)
    }

    /// A client for a port, token and CA (PEM).
    pub fn from_parts(port: u16, token: &str, ca_pem: &str) -> Client {
        let mut roots = RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM");
        roots.add(ca).expect("CA is a certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            port,
            token: Some(token.to_string()),
            config: Arc::new(config),
        }
    }

    /// The same client with another token (`None`: no Authorization).
    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            token: token.map(str::to_string),
            ..self.clone()
        }
    }

    pub fn connect(&self) -> Conn {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        tcp.set_nodelay(true).ok();
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let conn = ClientConnection::new(self.config.clone(), name).expect("TLS client");
        Conn {
            client: self.clone(),
            stream: BufReader::new(StreamOwned::new(conn, tcp)),
        }
    }

    /// One request on a fresh connection.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Response {
        self.connect().send(method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        let b = body.to_string();
        self.send("POST", path, &[], Some(("application/json", b.as_bytes())))
    }

    pub fn put_json(&self, path: &str, body: &Value) -> Response {
        let b = body.to_string();
        self.send("PUT", path, &[], Some(("application/json", b.as_bytes())))
    }

    pub fn patch(&self, path: &str, content_type: &str, body: &Value) -> Response {
        let b = body.to_string();
        self.send("PATCH", path, &[], Some((content_type, b.as_bytes())))
    }

    pub fn delete(&self, path: &str) -> Response {
        self.send("DELETE", path, &[], None)
    }

    /// Starts a watch; events (parsed lines) arrive on the receiver until
    /// the server ends the stream.
    pub fn watch(&self, path: &str) -> (Response, mpsc::Receiver<Value>) {
        let mut conn = self.connect();
        conn.write_request("GET", path, &[], None);
        let (status, headers) = conn.read_head();
        let resp = Response {
            status,
            headers: headers.clone(),
            body: Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            loop {
                let data = if chunked {
                    match conn.read_chunk() {
                        Some(d) if !d.is_empty() => d,
                        _ => break,
                    }
                } else {
                    let mut d = Vec::new();
                    let _ = conn.stream.read_to_end(&mut d);
                    if d.is_empty() {
                        break;
                    }
                    d
                };
                pending.extend_from_slice(&data);
                while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=i).collect();
                    if let Ok(v) = serde_json::from_slice::<Value>(&line)
                        && tx.send(v).is_err()
                    {
                        return;
                    }
                }
                if !chunked {
                    break;
                }
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&pending) {
                let _ = tx.send(v);
            }
        });
        (resp, rx)
    }
}

/// Collects events until `n` arrived or `wait` passed without one.
pub fn take_events(rx: &mpsc::Receiver<Value>, n: usize, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        match rx.recv_timeout(wait) {
            Ok(v) => out.push(v),
            Err(_) => break,
        }
    }
    out
}

impl Conn {
    fn write_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: python-requests/2.32.3\r\n"
        );
        let has_auth = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if let (Some(t), false) = (&self.client.token, has_auth) {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let has_accept = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("accept"));
        if !has_accept {
            req.push_str("Accept: application/json\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or(("", b""));
        if !body.0.is_empty() {
            req.push_str(&format!("Content-Type: {}\r\n", body.0));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.1.len()));
        let s = self.stream.get_mut();
        s.write_all(req.as_bytes()).expect("write request");
        s.write_all(body.1).expect("write body");
        s.flush().expect("flush");
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("read line");
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let status_line = self.read_line();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let l = self.read_line();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        (status, headers)
    }

    fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let mut line = String::new();
        if self.stream.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let size = usize::from_str_radix(line.trim(), 16).ok()?;
        let mut data = vec![0; size];
        self.stream.read_exact(&mut data).ok()?;
        let mut crlf = [0u8; 2];
        self.stream.read_exact(&mut crlf).ok()?;
        Some(data)
    }

    /// Sends one request and reads the whole response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Response {
        self.write_request(method, path, headers, body);
        let (status, headers) = self.read_head();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let body = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut out = Vec::new();
            while let Some(c) = self.read_chunk() {
                if c.is_empty() {
                    break;
                }
                out.extend_from_slice(&c);
            }
            out
        } else {
            let n: usize = get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut out = vec![0; n];
            self.stream.read_exact(&mut out).expect("read body");
            out
        };
        Response {
            status,
            headers,
            body,
        }
    }
}

/// Sleeps briefly while polling `f` until it returns true (or panics).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting for {what}");
}
