//! `mkpf-card`: a software My Number Card for demos against the local platform.
//!
//! State lives in `--dir` (env `MKPF_CARD_DIR`, default `.mkpf-card`): `ca.pem`, `ca-key.pem`,
//! `crl-number`, and one `cards/<name>/` folder (cert.pem, cert.der, key.pem) per card.
//! Unlike the library, these commands read the system clock.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::{Parser, Subcommand};
use mkpf_card_kit::{
    Card, CardSpec, KitError, LinkageRow, TestCa, canonical_serial, issuer_and_serial, jst_date, linkage_feed,
};
use time::{Date, Duration, OffsetDateTime};

/// `println!` that ends the program quietly when stdout is closed (e.g. piped into `head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// `print!` with the same behaviour.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if write!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

#[derive(Parser)]
#[command(
    name = "mkpf-card",
    version,
    about = "Software My Number Card: a test JPKI CA, cards, challenge signatures, CRLs and linkage feeds"
)]
struct Cli {
    /// Where the test CA and the cards live.
    #[arg(long, global = true, env = "MKPF_CARD_DIR", default_value = ".mkpf-card")]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the test CA if absent; print the path of ca.pem (use it as MKPF_JPKI_TRUST_ANCHORS).
    Init,
    /// Issue a card (cards/<name>/cert.pem, cert.der, key.pem); print its name, serial and issuer id.
    New {
        /// Card name (default: the first free card1, card2, ...).
        #[arg(long)]
        name: Option<String>,
        /// Issue a certificate that expired yesterday.
        #[arg(long, conflicts_with = "not_yet_valid")]
        expired: bool,
        /// Issue a certificate valid only from tomorrow.
        #[arg(long)]
        not_yet_valid: bool,
    },
    /// Sign a challenge nonce with a card's key; print the signature in standard base64.
    Sign {
        #[arg(long)]
        card: String,
        /// The nonce as base64url (as the challenge returns it; padding optional).
        #[arg(long)]
        nonce: String,
    },
    /// Print a card's DER certificate in standard base64.
    Cert {
        #[arg(long)]
        card: String,
    },
    /// Print the JSON body for POST /v1/card-auth/sessions from the JSON a challenge returned.
    SessionRequest {
        #[arg(long)]
        card: String,
        /// The response of POST /v1/card-auth/challenges (`{"challenge_id":…,"nonce":…}`), or `-`
        /// to read it from standard input.
        #[arg(long)]
        challenge: String,
    },
    /// Play the card holder's device in a hand-off sign-in (docs/card-handoff.md): read the
    /// challenge of the code a browser shows, sign it with the card and complete the sign-in, so
    /// that browser receives the session. Prints what it signed in to.
    Handoff {
        #[arg(long)]
        card: String,
        /// The code the browser shows (`ABCD-EFGH`; case and hyphen do not matter).
        #[arg(long)]
        code: String,
        /// The platform's base URL.
        #[arg(long, env = "MKPF_PLATFORM", default_value = "http://127.0.0.1:8080")]
        platform: String,
    },
    /// Write a DER CRL signed by the test CA (thisUpdate now−1h, nextUpdate now+7d, next cRLNumber).
    Crl {
        /// Cards to list as revoked (repeatable).
        #[arg(long)]
        revoke: Vec<String>,
        /// Output file (default: <dir>/crl.der).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a linkage feed saying card --old was succeeded by card --new.
    Relink {
        #[arg(long)]
        old: String,
        #[arg(long)]
        new: String,
        /// The JST date of the renewal, YYYY-MM-DD (default: today in JST).
        #[arg(long)]
        on: Option<String>,
    },
}

/// The device side of a hand-off: GET the challenge by code, sign it, POST the sign-in.
fn handoff(card: &Card, code: &str, platform: &str) -> Result<(), KitError> {
    let code: String = code.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_uppercase();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(KitError::Invalid("the code is the 8 letters and digits the browser shows".into()));
    }
    let base = platform.trim_end_matches('/');
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| KitError::Invalid(format!("cannot build an HTTP client: {e}")))?;
    let refused = |what: &str, r: reqwest::blocking::Response| {
        let status = r.status();
        let body: serde_json::Value = r.json().unwrap_or_default();
        KitError::Invalid(format!(
            "{what}: {status} {} ({})",
            body["code"].as_str().unwrap_or("?"),
            body["detail"].as_str().unwrap_or("")
        ))
    };
    let url = format!("{base}/v1/card-auth/handoffs/by-code/{code}");
    let r = http.get(&url).send().map_err(|e| KitError::Invalid(format!("cannot reach {base}: {e}")))?;
    if !r.status().is_success() {
        return Err(refused("reading the hand-off", r));
    }
    let ch: serde_json::Value =
        r.json().map_err(|e| KitError::Invalid(format!("the hand-off answer is not JSON: {e}")))?;
    let nonce = decode_nonce(ch["nonce"].as_str().unwrap_or(""))?;
    eprintln!(
        "signing in to {base} for the browser showing {}-{} (valid until {})",
        &code[..code.len().min(4)],
        &code[code.len().min(4)..],
        ch["expires_at"].as_str().unwrap_or("?")
    );
    let body = serde_json::json!({
        "challenge_id": ch["challenge_id"],
        "certificate": STANDARD.encode(card.cert_der()),
        "signature": STANDARD.encode(card.sign(&nonce)),
    });
    let r = http
        .post(format!("{url}/sign-in"))
        .json(&body)
        .send()
        .map_err(|e| KitError::Invalid(format!("cannot reach {base}: {e}")))?;
    if !r.status().is_success() {
        return Err(refused("signing in", r));
    }
    say!("signed in: the browser that started this hand-off receives the session");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkpf-card: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), KitError> {
    let dir = cli.dir;
    let now = OffsetDateTime::now_utc();
    match cli.command {
        Command::Init => {
            let created = ensure_ca(&dir, now)?.1;
            if created {
                eprintln!("created the test CA in {}", dir.display());
            }
            say!("{}", absolute(&dir.join("ca.pem")).display());
        }
        Command::New { name, expired, not_yet_valid } => {
            let (ca, created) = ensure_ca(&dir, now)?;
            if created {
                eprintln!("created the test CA in {} (trust anchors: {})", dir.display(), dir.join("ca.pem").display());
            }
            let name = match name {
                Some(n) => {
                    check_name(&n)?;
                    n
                }
                None => (1..).map(|i| format!("card{i}")).find(|n| !card_dir(&dir, n).exists()).expect("a free name"),
            };
            let card_path = card_dir(&dir, &name);
            if card_path.exists() {
                return Err(KitError::Invalid(format!("card {name:?} already exists in {}", card_path.display())));
            }
            let spec = if expired {
                CardSpec::new(now - Duration::days(5 * 365), now - Duration::days(1))
            } else if not_yet_valid {
                CardSpec::new(now + Duration::days(1), now + Duration::days(5 * 365))
            } else {
                CardSpec::jpki(now)
            };
            let card = ca.issue(&spec);
            card.save(&card_path)?;
            say!("name: {name}");
            say!("serial: {}", card.serial_hex());
            say!("issuer: {}", ca.issuer_id_hex());
        }
        Command::Sign { card, nonce } => {
            let card = load_card(&dir, &card)?;
            let nonce = decode_nonce(&nonce)?;
            say!("{}", STANDARD.encode(card.sign(&nonce)));
        }
        Command::Cert { card } => {
            let card = load_card(&dir, &card)?;
            say!("{}", STANDARD.encode(card.cert_der()));
        }
        Command::SessionRequest { card, challenge } => {
            let card = load_card(&dir, &card)?;
            let text = if challenge == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| KitError::Invalid(format!("cannot read the challenge from stdin: {e}")))?;
                s
            } else {
                challenge
            };
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| KitError::Invalid(format!("the challenge is not JSON: {e}")))?;
            let field = |name: &str| {
                json.get(name)
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| KitError::Invalid(format!("the challenge JSON has no string {name:?}")))
            };
            let challenge_id = field("challenge_id")?;
            let nonce = decode_nonce(field("nonce")?)?;
            let body = serde_json::json!({
                "challenge_id": challenge_id,
                "certificate": STANDARD.encode(card.cert_der()),
                "signature": STANDARD.encode(card.sign(&nonce)),
            });
            say!("{body}");
        }
        Command::Handoff { card, code, platform } => {
            let card = load_card(&dir, &card)?;
            handoff(&card, &code, &platform)?;
        }
        Command::Crl { revoke, out } => {
            let ca = TestCa::load(&dir).map_err(|e| no_ca(&dir, e))?;
            let mut revoked = Vec::new();
            for name in &revoke {
                let card = load_card(&dir, name)?;
                revoked.push((card.serial_hex(), now - Duration::hours(1)));
            }
            let number_path = dir.join("crl-number");
            let number = match std::fs::read_to_string(&number_path) {
                Ok(s) => {
                    s.trim()
                        .parse::<u64>()
                        .map_err(|_| KitError::Invalid(format!("{}: not a number", number_path.display())))?
                        + 1
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
                Err(e) => return Err(KitError::Io { path: number_path, source: e }),
            };
            let pairs: Vec<(&str, OffsetDateTime)> = revoked.iter().map(|(s, t)| (s.as_str(), *t)).collect();
            let der = ca.crl(&pairs, now - Duration::hours(1), now + Duration::days(7), number);
            let out = out.unwrap_or_else(|| dir.join("crl.der"));
            std::fs::write(&out, &der).map_err(|e| KitError::Io { path: out.clone(), source: e })?;
            std::fs::write(&number_path, format!("{number}\n"))
                .map_err(|e| KitError::Io { path: number_path.clone(), source: e })?;
            say!("crl: {}", absolute(&out).display());
            say!("crl_number: {number:x}");
            say!("revoked: {}", revoked.len());
        }
        Command::Relink { old, new, on } => {
            let old = load_card(&dir, &old)?;
            let new = load_card(&dir, &new)?;
            let (old_issuer, old_serial) = issuer_and_serial(old.cert_der())?;
            let (new_issuer, new_serial) = issuer_and_serial(new.cert_der())?;
            let linked_on = match on {
                Some(s) => parse_date(&s)?,
                None => jst_date(now),
            };
            let row = LinkageRow {
                old_issuer,
                old_serial: canonical_serial(&old_serial)?,
                new_issuer,
                new_serial: canonical_serial(&new_serial)?,
                linked_on,
            };
            say_raw!("{}", linkage_feed(&[row]));
        }
    }
    Ok(())
}

/// Loads the CA from `dir`, creating it (valid from yesterday for 10 years) when absent.
fn ensure_ca(dir: &Path, now: OffsetDateTime) -> Result<(TestCa, bool), KitError> {
    if dir.join("ca.pem").exists() || dir.join("ca-key.pem").exists() {
        return Ok((TestCa::load(dir)?, false));
    }
    let ca = TestCa::generate("MKPF Test CA", now - Duration::days(1), now + Duration::days(10 * 365));
    ca.save(dir)?;
    Ok((ca, true))
}

fn no_ca(dir: &Path, e: KitError) -> KitError {
    KitError::Invalid(format!("no test CA in {} (run `mkpf-card init`): {e}", dir.display()))
}

fn card_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("cards").join(name)
}

fn check_name(name: &str) -> Result<(), KitError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(KitError::Invalid(format!("card name {name:?}: use 1-64 of A-Z a-z 0-9 - _ . (not starting with .)")))
    }
}

fn load_card(dir: &Path, name: &str) -> Result<Card, KitError> {
    check_name(name)?;
    let path = card_dir(dir, name);
    if !path.exists() {
        return Err(KitError::Invalid(format!(
            "no card {name:?} in {} (run `mkpf-card new --name {name}`)",
            dir.display()
        )));
    }
    Card::load(&path)
}

/// base64url (padding optional); standard base64 is accepted too.
fn decode_nonce(s: &str) -> Result<Vec<u8>, KitError> {
    let s = s.trim();
    let unpadded = s.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded))
        .map_err(|_| KitError::Invalid("the nonce is not base64url".into()))
}

fn parse_date(s: &str) -> Result<Date, KitError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format).map_err(|_| KitError::Invalid(format!("--on {s:?}: expected YYYY-MM-DD")))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
