//! `mkpf-local`: the whole platform in one process — every route, every queue consumer and the
//! job scheduler — on the backend the environment names (the embedded default needs no AWS
//! account). Stops cleanly on Ctrl-C / SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use mkpf::routes::{CONSUMERS, JOBS};
use mkpf::worker;

#[tokio::main]
async fn main() -> ExitCode {
    let booted = match mkpf_aws::bootstrap::boot_from_env(mkpf::runtime::LogTo::Stdout).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mkpf-local: {e}");
            return ExitCode::from(2);
        }
    };
    let app = booted.app.clone();
    let listener = match tokio::net::TcpListener::bind(app.config.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mkpf-local: cannot listen on {}: {e}", app.config.bind);
            return ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for spec in CONSUMERS {
        for _ in 0..spec.queue.max_concurrency.max(1) {
            workers.push(tokio::spawn(worker::run_consumer(app.clone(), spec, stop_rx.clone())));
        }
    }
    for spec in JOBS {
        workers.push(tokio::spawn(worker::run_scheduler(app.clone(), spec, stop_rx.clone())));
    }
    if let Some(store) = booted.embedded_store.clone() {
        let mut stop = stop_rx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                for t in mkpf::tables::ALL {
                    match store.sweep_expired(t).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(table = t.name, removed = n, "expired items swept"),
                        Err(e) => tracing::warn!(table = t.name, error = %e, "TTL sweep failed"),
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(600)) => {}
                    _ = stop.changed() => return,
                }
            }
        }));
    }

    tracing::info!(
        addr = %addr,
        backend = ?app.config.backend,
        data_dir = %app.config.data_dir.display(),
        consumers = CONSUMERS.len(),
        jobs = JOBS.len(),
        "listening"
    );
    let router = mkpf::http::full_router(app.clone());
    let served = axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await;
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
