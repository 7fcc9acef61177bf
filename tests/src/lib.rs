//! End-to-end test support: start the local platform (`mkpf-local`) and the operator CLI
//! (`mkpf-admin`) as processes on loopback, in a data directory of their own.
//!
//! The binaries come from the same target directory as the test (`scripts/test` builds the
//! whole workspace first).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The directory holding the workspace's binaries (target/<profile>).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash>
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`, as scripts/test does)",
        p.display()
    );
    p
}

/// A fresh data directory under the target directory.
pub fn data_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let d = bin_dir().join("e2e-data").join(format!("{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).expect("data dir");
    d
}

/// A running local platform.
pub struct Platform {
    child: Option<Child>,
    /// Every line the process wrote to stdout (its JSON log), collected by a reader thread.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    pub base: String,
    /// Role → staff token, from the local demo seed (`MKPF_LOCAL_DEMO_TOKENS`).
    pub tokens: serde_json::Value,
}

impl Platform {
    /// Starts `mkpf-local` on 127.0.0.1 with a free port and the local demo seed, and waits for
    /// its "listening" line.
    pub fn start(data: &Path, extra_env: &[(&str, &str)]) -> Platform {
        let token_file = data.join("demo-tokens.json");
        let mut cmd = Command::new(bin("mkpf-local"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("MKPF_DATA_DIR", data)
            .env("MKPF_BIND", "127.0.0.1:0")
            .env("MKPF_LOCAL_DEMO_TOKENS", &token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start mkpf-local");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the JSON log lines for the whole life of the process (so it never blocks on a
        // full pipe) and reports the address from the "listening" line.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "listening"
                {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("mkpf-local did not report its address within 30 s");
        let tokens = std::fs::read_to_string(&token_file).expect("the demo seed's token file");
        Platform {
            child: Some(child),
            log,
            reader: Some(reader),
            base: format!("http://{addr}"),
            tokens: serde_json::from_str(&tokens).expect("JSON"),
        }
    }

    /// A staff token of the demo seed: `operator`, `auditor`, `patch_approver`, `municipal_staff`.
    pub fn token(&self, role: &str) -> String {
        self.tokens[role].as_str().unwrap_or_else(|| panic!("no demo token for {role}")).to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the process and returns its exit status and every line it logged on stdout.
    pub fn stop_with_log(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let reader = self.reader.take();
        let log = self.log.clone();
        let status = self.stop();
        if let Some(r) = reader {
            let _ = r.join(); // stdout closed with the process: the reader has read everything
        }
        let lines = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        (status, lines)
    }

    /// Stops the process with SIGTERM and returns its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(status) => status.expect("wait for mkpf-local"),
            Err(_) => {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                panic!("mkpf-local did not stop within 30 s of SIGTERM");
            }
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `mkpf-admin` with the platform's environment.
pub fn admin(data: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin("mkpf-admin"));
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("MKPF_DATA_DIR", data).args(args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run mkpf-admin")
}

/// Runs `mkpf-card` (the software card CLI) on the card-kit directory `dir`.
fn run_card(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("mkpf-card"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run mkpf-card")
}

/// Runs `mkpf-card` on the card-kit directory `dir`; panics with its stderr unless it succeeds,
/// and returns its stdout.
pub fn card(dir: &Path, args: &[&str]) -> String {
    let out = run_card(dir, args);
    assert!(out.status.success(), "mkpf-card {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `mkpf-card` expecting it to fail; returns its stderr.
pub fn card_fails(dir: &Path, args: &[&str]) -> String {
    let out = run_card(dir, args);
    assert!(!out.status.success(), "mkpf-card {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An HTTP client for the platform on loopback (bounded time).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client")
}

/// Issues a CRL of the `mkpf-card` kit's CA in `kit` (revoking the named cards' certificates)
/// and imports it as the operator; answers the import's report.
pub async fn import_crl(p: &Platform, kit: &Path, revoke: &[&str]) -> serde_json::Value {
    let out = kit.join("crl.der");
    let mut args = vec!["crl", "--out", out.to_str().expect("UTF-8 path")];
    for r in revoke {
        args.extend(["--revoke", r]);
    }
    card(kit, &args);
    let r = client()
        .post(p.url("/v1/ops/card-auth/crls"))
        .bearer_auth(p.token("operator"))
        .header("content-type", "application/pkix-crl")
        .body(std::fs::read(&out).expect("the CRL just written"))
        .send()
        .await
        .expect("the platform answers");
    assert_eq!(r.status(), 200);
    r.json().await.expect("a JSON report")
}
