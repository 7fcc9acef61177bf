//! Configuration from environment variables, validated once at start.
//!
//! Every variable is listed in [`VARS`] (name, default, meaning); the configuration
//! table is checked against it by a test. A bad value never falls back silently: start-up fails
//! with one clear line per problem.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::card_auth::anchors::TrustAnchors;
use crate::card_auth::certificate::Policy;

/// Which adapters back the ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// redb file under `MKPF_DATA_DIR`: the local default.
    Embedded,
    /// DynamoDB and SQS (endpoints from the standard `AWS_*` variables).
    Aws,
}

/// Every environment variable the platform reads: (name, default, meaning).
pub const VARS: &[(&str, &str, &str)] = &[
    ("MKPF_BACKEND", "embedded", "`embedded` (redb file + embedded queue) or `aws` (DynamoDB + SQS)"),
    ("MKPF_DATA_DIR", ".mkpf-data", "directory of the embedded store file (`mkpf.redb`); embedded backend only"),
    ("MKPF_BIND", "127.0.0.1:8080", "address the local platform listens on (`host:port`; port 0 picks a free one)"),
    ("MKPF_TABLE_PREFIX", "mkpf-", "prefix of every DynamoDB table name (`<prefix>ops`, …)"),
    ("MKPF_QUEUE_PREFIX", "mkpf-", "prefix of every SQS queue name (`<prefix>ops-tasks`, `<prefix>ops-tasks-dlq`, …)"),
    (
        "MKPF_LOCAL_DEMO_TOKENS",
        "(unset)",
        "local demo seed: path of a file that `mkpf-local` writes demo staff tokens to at start; refused with `MKPF_BACKEND=aws`",
    ),
    (
        "MKPF_WEB_DIR",
        "web/dist",
        "the built web pages `mkpf-local` serves at `/` (citizen site) and `/console/` (staff console); `off`, or a directory without `index.html`, serves none",
    ),
    (
        "MKPF_LOCAL_WORKERS",
        "on",
        "`off`: the local process serves routes only, running no queue consumer and no scheduled job (messages wait in the queues), to measure the API alone",
    ),
    (
        "MKPF_STAFF_TOKEN_KMS_KEY",
        "(unset)",
        "KMS key (ARN, id or alias) of the ES256 key signing staff tokens, on functions that sign or verify them with `MKPF_BACKEND=aws` (locally: a key file in `MKPF_DATA_DIR`)",
    ),
    (
        "MKPF_AUDIT_SEAL_KMS_KEY",
        "(unset)",
        "KMS key (ARN, id or alias) of the ES256 key signing the daily audit seals, on the seal job and audit verification with `MKPF_BACKEND=aws` (locally: a key file in `MKPF_DATA_DIR`)",
    ),
    (
        "MKPF_CITIZEN_TOKEN_KMS_KEY",
        "(unset)",
        "KMS key (ARN, id or alias) of the ES256 key signing citizen session tokens, on the card-auth session route (sign) and citizen routes (verify) with `MKPF_BACKEND=aws` (locally: a key file in `MKPF_DATA_DIR`)",
    ),
    (
        "MKPF_DATA_KMS_KEY",
        "(unset)",
        "symmetric KMS key (ARN, id or alias) sealing secrets at rest (security codes, webhook secrets) by envelope encryption, on the functions that seal or open them with `MKPF_BACKEND=aws`; unset there: sealing fails (locally: a key file in `MKPF_DATA_DIR`)",
    ),
    (
        "MKPF_STAFF_DATA_KMS_KEY",
        "(unset)",
        "symmetric KMS key (ARN, id or alias) sealing staff TOTP seeds, used under the staff-only encryption context, on the staff sign-in and TOTP enrolment functions with `MKPF_BACKEND=aws`; unset there: signing in with TOTP fails (locally: the data key file in `MKPF_DATA_DIR`)",
    ),
    (
        "MKPF_JPKI_TRUST_ANCHORS",
        "(unset)",
        "path of a PEM bundle of the JPKI user-authentication roots that card certificates must chain to (production: the J-LIS roots; locally: the `mkpf-card` test CA); unset: card authentication answers 503",
    ),
    (
        "MKPF_JPKI_AUTH_POLICY_OID",
        "1.2.392.200149.8.5.1.3.30",
        "certificate policy OID a card's authentication certificate must carry",
    ),
    (
        "MKPF_CRL_URLS",
        "(unset)",
        "space-separated `http://` URLs the hourly `crl-fetch` job downloads DER CRLs from (CRLs are signed, so plain HTTP is the norm; unset: the job has nothing to do; import by hand instead)",
    ),
    (
        "MKPF_CRL_GRACE_HOURS",
        "24",
        "hours past a CRL's nextUpdate during which it still answers revocation checks (0 ..= 168); after that card sign-in answers 503 `revocation_unavailable` until a newer CRL is imported",
    ),
    (
        "MKPF_RELINK_HOLD_DAYS",
        "7 (aws), 0 (embedded)",
        "days after a certificate's notBefore during which a person first seen with it may neither create a MyKey ID nor apply (`certificate_link_pending`), because it may be a renewal, reissue or smartphone certificate whose linkage feed row has not arrived yet (0 ..= 60); set it above the linkage feed's delivery delay",
    ),
    (
        "MKPF_CHALLENGES_PER_MINUTE",
        "60",
        "card-auth challenges one source address may ask for per minute, per process (1 ..= 1000000); on AWS the WAF rule is the binding limit",
    ),
    ("MKPF_MAX_BODY_BYTES", "65536", "largest request body accepted (1024 ..= 6291456)"),
    (
        "MKPF_NOTICE_RETENTION_DAYS",
        "365",
        "days a withdrawn or expired notice is kept before the retention job purges it (1 ..= 3650)",
    ),
    ("MKPF_LOG", "info", "log filter (tracing `EnvFilter` syntax)"),
    ("AWS_REGION", "(SDK default)", "AWS region; aws backend only"),
    ("AWS_ENDPOINT_URL", "(unset)", "endpoint override for every AWS service (e.g. a moto server); aws backend only"),
    ("AWS_ENDPOINT_URL_DYNAMODB", "(unset)", "endpoint override for DynamoDB only"),
    ("AWS_ENDPOINT_URL_SQS", "(unset)", "endpoint override for SQS only"),
];

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub table_prefix: String,
    pub queue_prefix: String,
    /// Where the local demo seed writes its tokens (embedded backend only).
    pub local_demo_tokens: Option<PathBuf>,
    /// Whether the local process runs the queue consumers and scheduled jobs (`MKPF_LOCAL_WORKERS`).
    pub local_workers: bool,
    /// The built web pages the local process serves (`MKPF_WEB_DIR`), if any.
    pub web_dir: Option<PathBuf>,
    /// The KMS key signing staff tokens (aws backend).
    pub staff_token_kms_key: Option<String>,
    /// The KMS key signing audit seals (aws backend).
    pub audit_seal_kms_key: Option<String>,
    /// The KMS key signing citizen session tokens (aws backend).
    pub citizen_token_kms_key: Option<String>,
    /// The symmetric KMS key sealing secrets at rest (aws backend).
    pub data_kms_key: Option<String>,
    /// The symmetric KMS key sealing staff TOTP seeds under the staff-only context (aws backend).
    pub staff_data_kms_key: Option<String>,
    /// The JPKI roots card certificates must chain to (parsed at start); `None`: card
    /// authentication is unavailable.
    pub trust_anchors: Option<Arc<TrustAnchors>>,
    /// Certificate checks beyond the fixed JPKI profile (the auth policy OID).
    pub card_policy: Policy,
    /// Where the `crl-fetch` job downloads CRLs from.
    pub crl_urls: Vec<String>,
    /// How long past nextUpdate a CRL still counts, in seconds.
    pub crl_grace_secs: i64,
    /// How long after its notBefore a certificate first seen by a sign-in keeps its new person
    /// waiting for a renewal linkage, in seconds (`mykey::person::link_pending_until`).
    pub relink_hold_secs: i64,
    /// Per-source challenge budget per minute.
    pub challenges_per_minute: u32,
    pub max_body_bytes: usize,
    pub notice_retention_days: u32,
    pub log_filter: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("backend", &self.backend)
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("table_prefix", &self.table_prefix)
            .field("queue_prefix", &self.queue_prefix)
            .field("local_demo_tokens", &self.local_demo_tokens)
            .field("web_dir", &self.web_dir)
            .field("local_workers", &self.local_workers)
            .field("staff_token_kms_key", &self.staff_token_kms_key)
            .field("audit_seal_kms_key", &self.audit_seal_kms_key)
            .field("citizen_token_kms_key", &self.citizen_token_kms_key)
            .field("data_kms_key", &self.data_kms_key)
            .field("staff_data_kms_key", &self.staff_data_kms_key)
            .field(
                "trust_anchors",
                &self.trust_anchors.as_ref().map(|a| a.iter().map(|x| x.id.as_str().to_owned()).collect::<Vec<_>>()),
            )
            .field("card_policy", &self.card_policy)
            .field("crl_urls", &self.crl_urls)
            .field("crl_grace_secs", &self.crl_grace_secs)
            .field("relink_hold_secs", &self.relink_hold_secs)
            .field("challenges_per_minute", &self.challenges_per_minute)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("notice_retention_days", &self.notice_retention_days)
            .finish()
    }
}

/// Every problem found in the environment, one per line.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn valid_prefix(p: &str) -> bool {
    // DynamoDB table names: [A-Za-z0-9_.-]; SQS queue names: [A-Za-z0-9_-]. Use the intersection.
    p.len() <= 40 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_range<T: std::str::FromStr + PartialOrd + fmt::Display + Copy>(
    name: &str,
    raw: Option<String>,
    default: T,
    lo: T,
    hi: T,
    problems: &mut Vec<String>,
) -> T {
    match raw {
        None => default,
        Some(s) => match s.trim().parse::<T>() {
            Ok(v) if v >= lo && v <= hi => v,
            _ => {
                problems.push(format!("{name}={s:?}: expected a whole number from {lo} to {hi}"));
                default
            }
        },
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let get = |k: &str| get(k).filter(|v| !v.is_empty());

        let backend = match get("MKPF_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws,
            Some(other) => {
                problems.push(format!("MKPF_BACKEND={other:?}: expected `embedded` or `aws`"));
                Backend::Embedded
            }
        };
        let data_dir = PathBuf::from(get("MKPF_DATA_DIR").unwrap_or_else(|| ".mkpf-data".into()));
        let bind = match get("MKPF_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(s) => match s.parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => {
                    problems.push(format!("MKPF_BIND={s:?}: expected host:port, e.g. 127.0.0.1:8080"));
                    SocketAddr::from(([127, 0, 0, 1], 8080))
                }
            },
        };
        let mut prefix = |name: &str| {
            let p = get(name).unwrap_or_else(|| "mkpf-".into());
            if !valid_prefix(&p) {
                problems.push(format!("{name}={p:?}: use at most 40 characters of A-Z a-z 0-9 - _"));
            }
            p
        };
        let table_prefix = prefix("MKPF_TABLE_PREFIX");
        let queue_prefix = prefix("MKPF_QUEUE_PREFIX");
        let local_demo_tokens = get("MKPF_LOCAL_DEMO_TOKENS").map(PathBuf::from);
        if local_demo_tokens.is_some() && backend == Backend::Aws {
            problems
                .push("MKPF_LOCAL_DEMO_TOKENS is a local-only demo seed and is refused with MKPF_BACKEND=aws".into());
        }
        let web_dir = match get("MKPF_WEB_DIR").as_deref() {
            Some("off") => None,
            Some(d) => Some(PathBuf::from(d)),
            None => Some(PathBuf::from("web/dist")),
        };
        let local_workers = match get("MKPF_LOCAL_WORKERS").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                problems.push(format!("MKPF_LOCAL_WORKERS={other:?}: use on or off"));
                true
            }
        };
        let staff_token_kms_key = get("MKPF_STAFF_TOKEN_KMS_KEY");
        let audit_seal_kms_key = get("MKPF_AUDIT_SEAL_KMS_KEY");
        let citizen_token_kms_key = get("MKPF_CITIZEN_TOKEN_KMS_KEY");
        let data_kms_key = get("MKPF_DATA_KMS_KEY");
        let staff_data_kms_key = get("MKPF_STAFF_DATA_KMS_KEY");
        let trust_anchors =
            get("MKPF_JPKI_TRUST_ANCHORS").and_then(|p| match TrustAnchors::load(std::path::Path::new(&p)) {
                Ok(a) => Some(Arc::new(a)),
                Err(e) => {
                    problems.push(format!("MKPF_JPKI_TRUST_ANCHORS={p:?}: {e}"));
                    None
                }
            });
        let mut card_policy = Policy::default();
        if let Some(oid) = get("MKPF_JPKI_AUTH_POLICY_OID") {
            let ok = oid.split('.').count() >= 2
                && oid.split('.').all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
            if ok {
                card_policy.auth_policy_oid = oid;
            } else {
                problems.push(format!(
                    "MKPF_JPKI_AUTH_POLICY_OID={oid:?}: expected a dotted OID such as 1.2.392.200149.8.5.1.3.30"
                ));
            }
        }
        let crl_urls: Vec<String> =
            get("MKPF_CRL_URLS").map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default();
        for u in &crl_urls {
            if !u.starts_with("http://") {
                problems.push(format!("MKPF_CRL_URLS: {u:?} is not an http:// URL"));
            }
        }
        let crl_grace_secs =
            parse_range("MKPF_CRL_GRACE_HOURS", get("MKPF_CRL_GRACE_HOURS"), 24i64, 0, 168, &mut problems) * 3600;
        let relink_hold_default = if backend == Backend::Aws { 7i64 } else { 0 };
        let relink_hold_secs = parse_range(
            "MKPF_RELINK_HOLD_DAYS",
            get("MKPF_RELINK_HOLD_DAYS"),
            relink_hold_default,
            0,
            60,
            &mut problems,
        ) * 86_400;
        let challenges_per_minute = parse_range(
            "MKPF_CHALLENGES_PER_MINUTE",
            get("MKPF_CHALLENGES_PER_MINUTE"),
            60u32,
            1,
            1_000_000,
            &mut problems,
        );
        let max_body_bytes = parse_range(
            "MKPF_MAX_BODY_BYTES",
            get("MKPF_MAX_BODY_BYTES"),
            65_536usize,
            1024,
            6 * 1024 * 1024,
            &mut problems,
        );
        let notice_retention_days = parse_range(
            "MKPF_NOTICE_RETENTION_DAYS",
            get("MKPF_NOTICE_RETENTION_DAYS"),
            365u32,
            1,
            3650,
            &mut problems,
        );
        let log_filter = get("MKPF_LOG").unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            problems.push(format!("MKPF_LOG={log_filter:?}: not a valid log filter (e.g. `info` or `mkpf=debug`)"));
        }

        if problems.is_empty() {
            Ok(Config {
                backend,
                data_dir,
                bind,
                table_prefix,
                queue_prefix,
                local_demo_tokens,
                web_dir,
                local_workers,
                staff_token_kms_key,
                audit_seal_kms_key,
                citizen_token_kms_key,
                data_kms_key,
                staff_data_kms_key,
                trust_anchors,
                card_policy,
                crl_urls,
                crl_grace_secs,
                relink_hold_secs,
                challenges_per_minute,
                max_body_bytes,
                notice_retention_days,
                log_filter,
            })
        } else {
            Err(ConfigError(problems))
        }
    }

    /// A configuration for tests: embedded backend in `dir`.
    pub fn for_tests(dir: PathBuf) -> Config {
        let dir_s = dir.to_string_lossy().into_owned();
        Self::from_lookup(move |k| match k {
            "MKPF_DATA_DIR" => Some(dir_s.clone()),
            "MKPF_BIND" => Some("127.0.0.1:0".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("test configuration: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Config::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_local_platform() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.backend, Backend::Embedded);
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.max_body_bytes, 65_536);
        assert!(c.local_demo_tokens.is_none());
        assert_eq!(c.relink_hold_secs, 0, "the local demo's cards are issued the day before");
        let c = cfg(&[("MKPF_RELINK_HOLD_DAYS", "10")]).unwrap();
        assert_eq!(c.relink_hold_secs, 10 * 86_400);
        assert!(cfg(&[("MKPF_RELINK_HOLD_DAYS", "61")]).is_err());
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let e = cfg(&[
            ("MKPF_BACKEND", "postgres"),
            ("MKPF_BIND", "localhost"),
            ("MKPF_MAX_BODY_BYTES", "12"),
            ("MKPF_TABLE_PREFIX", "bad prefix!"),
            ("MKPF_NOTICE_RETENTION_DAYS", "-1"),
        ])
        .unwrap_err();
        assert_eq!(e.0.len(), 5, "{e}");
        let text = e.to_string();
        for name in
            ["MKPF_BACKEND", "MKPF_BIND", "MKPF_MAX_BODY_BYTES", "MKPF_TABLE_PREFIX", "MKPF_NOTICE_RETENTION_DAYS"]
        {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
    }

    #[test]
    fn the_demo_seed_is_refused_on_aws() {
        let e = cfg(&[("MKPF_BACKEND", "aws"), ("MKPF_LOCAL_DEMO_TOKENS", "/tmp/t.json")]).unwrap_err();
        assert!(e.to_string().contains("refused with MKPF_BACKEND=aws"), "{e}");
        let c = cfg(&[("MKPF_BACKEND", "aws"), ("MKPF_STAFF_TOKEN_KMS_KEY", "alias/mkpf-staff-tokens")]).unwrap();
        assert_eq!(c.staff_token_kms_key.as_deref(), Some("alias/mkpf-staff-tokens"));
        let c = cfg(&[("MKPF_BACKEND", "aws"), ("MKPF_DATA_KMS_KEY", "alias/mkpf-staging-secrets")]).unwrap();
        assert_eq!(c.data_kms_key.as_deref(), Some("alias/mkpf-staging-secrets"));
        assert!(cfg(&[]).unwrap().data_kms_key.is_none());
        assert!(cfg(&[("MKPF_LOCAL_DEMO_TOKENS", "/tmp/t.json")]).unwrap().local_demo_tokens.is_some());
    }
}
