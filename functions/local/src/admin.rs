//! `mkpf-admin`: the operator CLI. Bootstraps the first operator and manages staff accounts,
//! verifies and exports the audit trail, generates the infra manifest and the OpenAPI document,
//! provisions tables and queues on an AWS endpoint (e.g. moto), inspects and redrives
//! dead-letter queues, runs a job once, and seeds the Mynapoint measures (and a local demo
//! provider). Uses the same environment as the platform
//! (`MKPF_BACKEND=embedded|aws`, …); every change it makes is audited as actor `cli:<user>`.
//! On the embedded backend, stop `mkpf-local` first: the store file has one owner at a time.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mkpf-admin", about = "MyKey Platform operator CLI")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the infra manifest generated from the route table (or write / check the file).
    Manifest {
        /// Write it to the file instead of printing it.
        #[arg(long, conflicts_with = "check")]
        write: bool,
        /// Fail if the file differs from what the route table generates.
        #[arg(long)]
        check: bool,
        #[arg(long, default_value = "infra/manifest.json")]
        path: PathBuf,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
    /// Print the route table (or write / check its Markdown copy in docs/api.md).
    Routes {
        /// Replace the generated table in the file (between its marker lines).
        #[arg(long, conflicts_with = "check")]
        write: bool,
        /// Fail if the file's table differs from the route table.
        #[arg(long)]
        check: bool,
        #[arg(long, default_value = "docs/api.md")]
        path: PathBuf,
    },
    /// Create every table and queue (with its dead-letter queue) on the AWS endpoint. Idempotent.
    Provision,
    /// Dead-letter queues: look at or redrive the dead letters of a queue.
    Dlq {
        #[command(subcommand)]
        cmd: DlqCmd,
    },
    /// Run a scheduled job once now.
    RunJob { name: String },
    /// Staff accounts: bootstrap the first operator, create accounts, reset MFA or password.
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// The audit trail: verify its hash chains, export it as JSON Lines.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Card authentication: import CRLs and renewal linkage feeds, show CRL state.
    Card {
        #[command(subcommand)]
        cmd: CardCmd,
    },
    /// National Mynapoint: seed the phase-2 measures (and, locally, a demo provider), import
    /// eligibility feeds, write and read reconciliation reports.
    Mynapoint {
        #[command(subcommand)]
        cmd: MynapointCmd,
    },
    /// Print the current code of a base32 TOTP secret, like an authenticator app (for the
    /// README walk-through and tests).
    TotpCode {
        secret: String,
        /// The code of a later 30-second step (0: the current one).
        #[arg(long, default_value_t = 0)]
        steps_ahead: u32,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Create the first operator; prints a one-time password. Works once per deployment.
    Bootstrap {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Create a staff account; prints a one-time password.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// operator, municipal_staff, auditor or patch_approver (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Municipality code (municipal_staff only).
        #[arg(long)]
        municipality: Option<String>,
    },
    /// Remove a member's TOTP authenticator; the next sign-in enrols a new one.
    ResetMfa { id: String },
    /// Set a new one-time password and lift a lock; prints the password.
    ResetPassword { id: String },
}

#[derive(Subcommand)]
enum CardCmd {
    /// Verify a DER CRL against the trust anchors (MKPF_JPKI_TRUST_ANCHORS) and import it.
    ImportCrl { file: PathBuf },
    /// The current CRL of every trust anchor.
    CrlStatus,
    /// Import a renewal linkage feed (CSV) and re-link its rows now, in this process (the API
    /// route queues them instead). Importing the same feed again only finishes what is left.
    ImportLinkage { file: PathBuf },
}

#[derive(Subcommand)]
enum MynapointCmd {
    /// Configure the three phase-2 measures that are not configured yet (idempotent; prints
    /// `{"seeded":[…],"present":[…]}`).
    ///
    /// With --demo-endpoint (local demo only, refused with MKPF_BACKEND=aws): also moves the
    /// period of each closed measure to cover today, and makes sure provider `demo` and its
    /// service `DEMO_PAY` (measures 1–3, one 4-digit PIN) exist, pointing at that endpoint; then
    /// prints one JSON line `{"provider_id","service_code","webhook_secret","callback_secret"}`.
    /// Run again, it rotates nothing and prints the same secrets by opening the stored ones —
    /// something only this local demo command does (everywhere else a secret is shown once).
    Seed {
        /// The provider simulator's webhook URL (https://…, or http:// to a loopback host).
        #[arg(long)]
        demo_endpoint: Option<String>,
    },
    /// Import an eligibility feed (CSV; kind health_insurance, public_funds_account or
    /// phase1_points) and match its rows now, in this process (the API route queues them
    /// instead). Importing the same file again only finishes what is left.
    ImportEligibility { kind: String, file: PathBuf },
    /// Write (or rewrite) reconciliation reports now: the daily reports of --date, or the monthly
    /// summaries of --month, for every provider or one.
    Reconcile {
        /// An Asia/Tokyo day, YYYY-MM-DD.
        #[arg(long, conflicts_with = "month", required_unless_present = "month")]
        date: Option<String>,
        /// A month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        provider: Option<String>,
    },
    /// Write a stored reconciliation report's CSV (kind daily with period YYYY-MM-DD, or monthly
    /// with YYYY-MM) to a file or standard output (audited as a download).
    Report {
        provider: String,
        kind: String,
        period: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check every chain of a date range (Asia/Tokyo); exits 1 and names each problem if any
    /// record was altered, removed or reordered.
    Verify {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Write the records of a date range as JSON Lines.
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn date(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn cli_context() -> mkpf_core::audit::Context {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let mut ctx = mkpf_core::audit::Context::new(mkpf_core::audit::Actor::cli(&user));
    ctx.request_id = Some(format!("cli-{}", uuid::Uuid::new_v4()));
    ctx
}

async fn boot() -> Result<mkpf_runtime::boot::Booted, String> {
    mkpf_runtime::boot::boot_from_env(mkpf_runtime::lambda::LogTo::Stderr).await.map_err(|e| {
        let e = e.to_string();
        if e.contains("already open") || e.contains("lock") {
            format!("{e} — is mkpf-local running on this data directory? Stop it first.")
        } else {
            e
        }
    })
}

fn print_account(acc: &mkpf_core::staff::StaffAccount, otp: Option<&str>) {
    let roles: Vec<&str> = acc.roles.iter().map(|r| r.as_str()).collect();
    let mut v = serde_json::json!({
        "staff_id": acc.id.as_str(),
        "roles": roles,
        "municipality": acc.municipality.as_ref().map(|m| m.as_str()),
    });
    if let Some(p) = otp {
        v["one_time_password"] = p.into();
    }
    println!("{v}");
    if otp.is_some() {
        eprintln!("The one-time password is shown once. Sign in with it, change it, and enrol a TOTP authenticator.");
    }
}

async fn staff(cmd: StaffCmd) -> Result<(), String> {
    use mkpf_core::domain::staff::{DisplayName, MunicipalityCode, Role, StaffId};
    use mkpf_core::staff::admin;
    let booted = boot().await?;
    let app = &booted.app;
    let ctx = cli_context();
    match cmd {
        StaffCmd::Bootstrap { id, name } => {
            let (acc, otp) = admin::bootstrap(app, &ctx, StaffId::parse(&id)?, DisplayName::parse(&name)?)
                .await
                .map_err(|e| e.to_string())?;
            print_account(&acc, Some(otp.expose()));
        }
        StaffCmd::Create { id, name, roles, municipality } => {
            let roles = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
            let s = admin::NewStaff::new(
                StaffId::parse(&id)?,
                DisplayName::parse(&name)?,
                roles,
                municipality.as_deref().map(MunicipalityCode::parse).transpose()?,
            )
            .map_err(|e| e.to_string())?;
            let (acc, otp) = admin::create(app, &ctx, s).await.map_err(|e| e.to_string())?;
            print_account(&acc, Some(otp.expose()));
        }
        StaffCmd::ResetMfa { id } => {
            let acc = admin::reset_mfa(app, &ctx, &StaffId::parse(&id)?).await.map_err(|e| e.to_string())?;
            print_account(&acc, None);
            eprintln!("TOTP removed and sessions ended; {id} enrols a new authenticator at the next sign-in.");
        }
        StaffCmd::ResetPassword { id } => {
            let sid = StaffId::parse(&id)?;
            let otp = admin::reset_password(app, &ctx, &sid).await.map_err(|e| e.to_string())?;
            let acc = mkpf_core::staff::account::load(app.store.as_ref(), &sid)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the account vanished")?;
            print_account(&acc, Some(otp.expose()));
        }
    }
    Ok(())
}

async fn card(cmd: CardCmd) -> Result<(), String> {
    use mkpf_core::card_auth::revocation;
    use mkpf_core::feeds;
    use mkpf_core::mykey::relink;
    let booted = boot().await?;
    let app = &booted.app;
    let ctx = cli_context();
    match cmd {
        CardCmd::ImportCrl { file } => {
            let der = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let progress = |done: usize, total: usize| {
                eprint!("\rrevoked serials stored {done}/{total}");
                if done == total {
                    eprintln!();
                }
            };
            let imp = revocation::import_crl(app, &ctx, &der, &progress).await.map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&imp).map_err(|e| e.to_string())?);
        }
        CardCmd::CrlStatus => {
            for s in revocation::states(app).await.map_err(|e| e.to_string())? {
                println!("{}", serde_json::to_string(&s).map_err(|e| e.to_string())?);
            }
        }
        CardCmd::ImportLinkage { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let feed = relink::parse_feed(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            feeds::record_import(app, &ctx, &feed).await.map_err(|e| e.to_string())?;
            let pending = feeds::pending_batches(app, &feed).await.map_err(|e| e.to_string())?;
            let total: usize = pending.iter().map(|b| b.rows.len()).sum();
            let mut done = 0;
            for b in &pending {
                relink::process_batch(app, &ctx, b).await.map_err(|e| e.to_string())?;
                done += b.rows.len();
                eprint!("\rrows re-linked {done}/{total}");
            }
            if total > 0 {
                eprintln!();
            }
            let view = relink::view(app, &feed.id).await.map_err(|e| e.to_string())?.ok_or("the import vanished")?;
            println!("{}", serde_json::to_string(&view).map_err(|e| e.to_string())?);
            if view.unknown > 0 || view.conflict > 0 {
                eprintln!("{} row(s) unknown, {} conflict(s): see `reported`", view.unknown, view.conflict);
            }
        }
    }
    Ok(())
}

async fn mynapoint(cmd: MynapointCmd) -> Result<(), String> {
    use mkpf_core::mynapoint::{measures, services};
    let booted = boot().await?;
    let app = &booted.app;
    let ctx = cli_context();
    match cmd {
        MynapointCmd::Seed { demo_endpoint: None } => {
            let report = measures::seed(app, &ctx).await.map_err(|e| e.to_string())?;
            let names = |created: bool| -> Vec<&str> {
                report.iter().filter(|s| s.created == created).map(|s| s.measure.as_str()).collect()
            };
            println!("{}", serde_json::json!({ "seeded": names(true), "present": names(false) }));
        }
        MynapointCmd::Seed { demo_endpoint: Some(endpoint) } => {
            let demo = services::seed_demo(app, &ctx, &endpoint).await.map_err(|e| e.to_string())?;
            for m in &demo.opened {
                eprintln!("measure {m}: period moved to cover today (local demo)");
            }
            println!(
                "{}",
                serde_json::json!({
                    "provider_id": demo.provider_id.as_str(),
                    "service_code": demo.service_code.as_str(),
                    "webhook_secret": demo.webhook_secret.expose(),
                    "callback_secret": demo.callback_secret.expose(),
                })
            );
            eprintln!("These are webhook signing secrets: keep them out of logs and shared places.");
        }
        MynapointCmd::ImportEligibility { kind, file } => {
            use mkpf_core::feeds;
            use mkpf_core::mynapoint::eligibility;
            let kind = mkpf_core::mynapoint::eligibility_check::FactKind::parse(&kind)
                .ok_or("the kind is health_insurance, public_funds_account or phase1_points")?;
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let feed = eligibility::parse_feed(kind, &text).map_err(|e| format!("{}: {e}", file.display()))?;
            feeds::record_import(app, &ctx, &feed).await.map_err(|e| e.to_string())?;
            let pending = feeds::pending_batches(app, &feed).await.map_err(|e| e.to_string())?;
            let total: usize = pending.iter().map(|b| b.rows.len()).sum();
            let mut done = 0;
            for b in &pending {
                eligibility::process_batch(app, &ctx, b).await.map_err(|e| e.to_string())?;
                done += b.rows.len();
                eprint!("\rrows matched {done}/{total}");
            }
            if total > 0 {
                eprintln!();
            }
            let view = eligibility::view(app, kind, &feed.id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the import vanished")?;
            println!("{}", serde_json::to_string(&view).map_err(|e| e.to_string())?);
            if view.unmatched > 0 {
                eprintln!("{} row(s) match nobody: see `unmatched_rows`", view.unmatched);
            }
        }
        MynapointCmd::Reconcile { date, month, provider } => {
            use mkpf_core::mynapoint::reconciliation::{self, Period, ReportKind};
            let period = match (date, month) {
                (Some(d), _) => Period::parse(ReportKind::Daily, &d),
                (None, Some(m)) => Period::parse(ReportKind::Monthly, &m),
                (None, None) => Err("give --date or --month".into()),
            }?;
            let provider = provider
                .map(|p| mkpf_core::domain::mynapoint::ProviderId::parse(&p).map_err(|e| e.to_string()))
                .transpose()?;
            let reports =
                reconciliation::reconcile(app, &ctx, period, provider.as_ref()).await.map_err(|e| e.to_string())?;
            for r in &reports {
                println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
            }
            eprintln!("{} report(s) of {period} written", reports.len());
        }
        MynapointCmd::Report { provider, kind, period, out } => {
            use mkpf_core::mynapoint::reconciliation::{self, Period, ReportKind};
            let provider = mkpf_core::domain::mynapoint::ProviderId::parse(&provider).map_err(|e| e.to_string())?;
            let kind = ReportKind::parse(&kind).ok_or("the kind is daily or monthly")?;
            let period = Period::parse(kind, &period)?;
            let (info, csv) = reconciliation::content(app, &provider, period, None).await.map_err(|e| e.to_string())?;
            let event = mkpf_core::audit::Event::success(
                "mynapoint.report_download",
                vec![format!("report:{provider}:{}:{period}", kind.as_str())],
            )
            .with_detail(serde_json::json!({"part": null, "bytes": csv.len(), "rows": info.rows}));
            mkpf_core::audit::commit_event(app, &ctx, event).await.map_err(|e| e.to_string())?;
            match out {
                Some(p) => std::fs::write(&p, csv).map_err(|e| format!("cannot write {}: {e}", p.display()))?,
                None => print!("{csv}"),
            }
        }
    }
    Ok(())
}

async fn audit(cmd: AuditCmd) -> Result<(), String> {
    use std::io::Write;
    let booted = boot().await?;
    let app = &booted.app;
    let ctx = cli_context();
    match cmd {
        AuditCmd::Verify { from, to } => {
            let (from, to) = (date(&from)?, date(&to)?);
            if to < from {
                return Err("--to is before --from".into());
            }
            let cfg = &app.config;
            let seal_keys = if cfg.backend == mkpf_core::config::Backend::Aws && cfg.audit_seal_kms_key.is_none() {
                eprintln!("MKPF_AUDIT_SEAL_KMS_KEY is not set: seals are not checked");
                None
            } else {
                Some(app.seal_keys.as_ref())
            };
            let report = mkpf_core::audit::verify(app.store.as_ref(), seal_keys, from, to, |done, total| {
                eprint!("\rverifying chains {done}/{total}");
                if done == total {
                    eprintln!();
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            let ev = mkpf_core::audit::Event::success("audit.verify", vec![format!("range:{from}..{to}")])
                .with_detail(serde_json::json!({"records": report.records, "findings": report.findings.len()}));
            mkpf_core::audit::commit_event(app, &ctx, ev).await.map_err(|e| e.to_string())?;
            for f in &report.findings {
                println!("{}", serde_json::to_string(f).unwrap_or_default());
            }
            if !report.unsealed_days.is_empty() {
                let days: Vec<String> = report.unsealed_days.iter().map(ToString::to_string).collect();
                eprintln!("not (yet) sealed, so checked without a seal: {}", days.join(", "));
            }
            eprintln!(
                "{} records in {} chains, {} sealed days: {}",
                report.records,
                report.chains,
                report.sealed_days.len(),
                if report.ok() { "intact".to_owned() } else { format!("{} problems", report.findings.len()) }
            );
            if !report.ok() {
                return Err("the audit trail failed verification".into());
            }
        }
        AuditCmd::Export { from, to, out } => {
            let (from, to) = (date(&from)?, date(&to)?);
            let mut sink: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut cursor = None;
            let mut n = 0u64;
            loop {
                let (records, next) = mkpf_core::audit::export_page(app.store.as_ref(), from, to, cursor, 1000)
                    .await
                    .map_err(|e| e.to_string())?;
                for r in &records {
                    writeln!(sink, "{}", r.to_json()).map_err(|e| e.to_string())?;
                }
                n += records.len() as u64;
                eprint!("\rexported {n} records");
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            eprintln!();
            sink.flush().map_err(|e| e.to_string())?;
            let ev = mkpf_core::audit::Event::success("audit.export", vec![format!("range:{from}..{to}")])
                .with_detail(serde_json::json!({"records": n}));
            mkpf_core::audit::commit_event(app, &ctx, ev).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum DlqCmd {
    /// Show queue depths, dead letters included.
    Depth { queue: String },
    /// Print up to `max` dead letters (they stay where they are).
    Peek {
        queue: String,
        #[arg(long, default_value_t = 10)]
        max: u32,
    },
    /// Move up to `max` dead letters back to their queue.
    Redrive {
        queue: String,
        #[arg(long, default_value_t = 100)]
        max: u32,
    },
}

fn queue(name: &str) -> Result<&'static mkpf_core::ports::QueueDef, String> {
    mkpf_core::queues::ALL.iter().copied().find(|q| q.name == name).ok_or_else(|| {
        format!(
            "no queue named {name:?} (known: {})",
            mkpf_core::queues::ALL.iter().map(|q| q.name).collect::<Vec<_>>().join(", ")
        )
    })
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Manifest { write, check, path } => {
            let text = mkpf_http::manifest::manifest_json();
            if write {
                std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                eprintln!("wrote {}", path.display());
            } else if check {
                let current =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if current != text {
                    return Err(format!("{} is stale: run `mkpf-admin manifest --write`", path.display()));
                }
                eprintln!("{} is up to date", path.display());
            } else {
                print!("{text}");
            }
            Ok(())
        }
        Cmd::Openapi => {
            println!("{}", mkpf_http::openapi::document_json());
            Ok(())
        }
        Cmd::Routes { write, check, path } if write || check => {
            let current = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let fresh = mkpf_http::manifest::with_route_table(&current)
                .ok_or_else(|| format!("{} has no generated route table (marker lines)", path.display()))?;
            if write {
                std::fs::write(&path, &fresh).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                eprintln!("wrote the route table into {}", path.display());
            } else if current != fresh {
                return Err(format!("{}'s route table is stale: run `mkpf-admin routes --write`", path.display()));
            } else {
                eprintln!("{}'s route table is up to date", path.display());
            }
            Ok(())
        }
        Cmd::Routes { .. } => {
            for r in mkpf_http::routes::ROUTES.iter() {
                let access: Vec<String> = r.access.iter().map(|a| a.label()).collect();
                println!("{:<7} {:<32} {:<22} {}", r.verb.as_str(), r.path, r.name, access.join(","));
            }
            for c in mkpf_http::routes::CONSUMERS.iter() {
                println!("{:<7} {:<32} {:<22} consumer", "QUEUE", c.queue.name, c.name);
            }
            for j in mkpf_http::routes::JOBS.iter() {
                println!("{:<7} {:<32} {:<22} job (Asia/Tokyo)", "CRON", j.schedule.expression(), j.name);
            }
            Ok(())
        }
        Cmd::Provision => {
            let booted = mkpf_runtime::boot::boot_from_env(mkpf_runtime::lambda::LogTo::Stderr)
                .await
                .map_err(|e| e.to_string())?;
            let Some(aws) = booted.aws else {
                return Err("provision needs MKPF_BACKEND=aws (the embedded backend needs no provisioning)".into());
            };
            let cfg = &booted.app.config;
            mkpf_aws::create_tables(&aws.dynamodb, &cfg.table_prefix, mkpf_core::tables::ALL)
                .await
                .map_err(|e| e.to_string())?;
            mkpf_aws::create_queues(&aws.sqs, &cfg.queue_prefix, mkpf_core::queues::ALL)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "provisioned {} tables (prefix {:?}) and {} queues with dead-letter queues (prefix {:?})",
                mkpf_core::tables::ALL.len(),
                cfg.table_prefix,
                mkpf_core::queues::ALL.len(),
                cfg.queue_prefix
            );
            Ok(())
        }
        Cmd::Dlq { cmd } => {
            let booted = mkpf_runtime::boot::boot_from_env(mkpf_runtime::lambda::LogTo::Stderr)
                .await
                .map_err(|e| e.to_string())?;
            let q = booted.app.queue.clone();
            match cmd {
                DlqCmd::Depth { queue: name } => {
                    let d = q.depth(queue(&name)?).await.map_err(|e| e.to_string())?;
                    println!(
                        "{}",
                        serde_json::json!({"queue": name, "visible": d.visible, "in_flight": d.in_flight, "dead_letters": d.dead_letters})
                    );
                }
                DlqCmd::Peek { queue: name, max } => {
                    for m in q.peek_dead_letters(queue(&name)?, max).await.map_err(|e| e.to_string())? {
                        println!(
                            "{}",
                            serde_json::json!({"id": m.id, "receive_count": m.receive_count, "body": m.body})
                        );
                    }
                }
                DlqCmd::Redrive { queue: name, max } => {
                    let n = q.redrive(queue(&name)?, max).await.map_err(|e| e.to_string())?;
                    eprintln!("moved {n} dead letters back to {name}");
                }
            }
            Ok(())
        }
        Cmd::Staff { cmd } => staff(cmd).await,
        Cmd::Audit { cmd } => audit(cmd).await,
        Cmd::Card { cmd } => card(cmd).await,
        Cmd::Mynapoint { cmd } => mynapoint(cmd).await,
        Cmd::TotpCode { secret, steps_ahead } => {
            let bytes = mkpf_core::staff::secrets::secret_from_base32(&secret)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs() as i64
                + 30 * i64::from(steps_ahead);
            let id = mkpf_core::domain::staff::StaffId::parse("any").map_err(|e| e.to_string())?;
            println!("{}", mkpf_core::staff::secrets::totp_code_at(&bytes, &id, now));
            Ok(())
        }
        Cmd::RunJob { name } => {
            let spec = mkpf_http::routes::job(&name).ok_or_else(|| format!("no job named {name:?}"))?;
            let booted = mkpf_runtime::boot::boot_from_env(mkpf_runtime::lambda::LogTo::Stderr)
                .await
                .map_err(|e| e.to_string())?;
            let report = mkpf_runtime::worker::run_job(&booted.app, spec).await?;
            println!("{report}");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkpf-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
