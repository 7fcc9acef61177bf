//! `mkpf-admin`: the operator CLI. Generates the infra manifest and the OpenAPI document,
//! provisions tables and queues on an AWS endpoint (e.g. moto), inspects and redrives
//! dead-letter queues, and runs a job once. Uses the same environment as the platform
//! (`MKPF_BACKEND=embedded|aws`, …).

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
    /// Print the route table.
    Routes,
    /// Create every table and queue (with its dead-letter queue) on the AWS endpoint. Idempotent.
    Provision,
    /// Dead-letter queues: look at or redrive the dead letters of a queue.
    Dlq {
        #[command(subcommand)]
        cmd: DlqCmd,
    },
    /// Run a scheduled job once now.
    RunJob { name: String },
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

fn queue(name: &str) -> Result<&'static mkpf::ports::QueueDef, String> {
    mkpf::queues::ALL.iter().copied().find(|q| q.name == name).ok_or_else(|| {
        format!(
            "no queue named {name:?} (known: {})",
            mkpf::queues::ALL.iter().map(|q| q.name).collect::<Vec<_>>().join(", ")
        )
    })
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Manifest { write, check, path } => {
            let text = mkpf::manifest::manifest_json();
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
            println!("{}", mkpf::http::openapi::document_json());
            Ok(())
        }
        Cmd::Routes => {
            for r in mkpf::routes::ROUTES {
                let access: Vec<String> = r.access.iter().map(|a| a.label()).collect();
                println!("{:<7} {:<32} {:<22} {}", r.verb.as_str(), r.path, r.name, access.join(","));
            }
            for c in mkpf::routes::CONSUMERS {
                println!("{:<7} {:<32} {:<22} consumer", "QUEUE", c.queue.name, c.name);
            }
            for j in mkpf::routes::JOBS {
                println!("{:<7} {:<32} {:<22} job (Asia/Tokyo)", "CRON", j.schedule.expression(), j.name);
            }
            Ok(())
        }
        Cmd::Provision => {
            let booted =
                mkpf_aws::bootstrap::boot_from_env(mkpf::runtime::LogTo::Stderr).await.map_err(|e| e.to_string())?;
            let Some(aws) = booted.aws else {
                return Err("provision needs MKPF_BACKEND=aws (the embedded backend needs no provisioning)".into());
            };
            let cfg = &booted.app.config;
            mkpf_aws::create_tables(&aws.dynamodb, &cfg.table_prefix, mkpf::tables::ALL)
                .await
                .map_err(|e| e.to_string())?;
            mkpf_aws::create_queues(&aws.sqs, &cfg.queue_prefix, mkpf::queues::ALL).await.map_err(|e| e.to_string())?;
            eprintln!(
                "provisioned {} tables (prefix {:?}) and {} queues with dead-letter queues (prefix {:?})",
                mkpf::tables::ALL.len(),
                cfg.table_prefix,
                mkpf::queues::ALL.len(),
                cfg.queue_prefix
            );
            Ok(())
        }
        Cmd::Dlq { cmd } => {
            let booted =
                mkpf_aws::bootstrap::boot_from_env(mkpf::runtime::LogTo::Stderr).await.map_err(|e| e.to_string())?;
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
        Cmd::RunJob { name } => {
            let spec = mkpf::routes::job(&name).ok_or_else(|| format!("no job named {name:?}"))?;
            let booted =
                mkpf_aws::bootstrap::boot_from_env(mkpf::runtime::LogTo::Stderr).await.map_err(|e| e.to_string())?;
            let report = mkpf::worker::run_job(&booted.app, spec).await?;
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
