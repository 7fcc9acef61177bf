//! `mkpf-local`: the whole platform in one process — every route, every queue consumer and the
//! job scheduler — on the backend the environment names (the embedded default needs no AWS
//! account) — and the built web pages at `/` and `/console/` (`site`). Stops cleanly on Ctrl-C /
//! SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

mod site;

use mkpf_http::routes::{CONSUMERS, JOBS};
use mkpf_runtime::worker;

#[tokio::main]
async fn main() -> ExitCode {
    let booted = match mkpf_runtime::boot::boot_from_env(mkpf_runtime::lambda::LogTo::Stdout).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mkpf-local: {e}");
            return ExitCode::from(2);
        }
    };
    let app = booted.app.clone();
    if let Some(path) = app.config.local_demo_tokens.clone() {
        match write_demo_tokens(&app, &path).await {
            Ok(()) => tracing::info!(path = %path.display(), "local demo seed: staff tokens written (valid 12 h)"),
            Err(e) => {
                eprintln!("mkpf-local: local demo seed failed: {e}");
                return ExitCode::from(2);
            }
        }
    }
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
    let (consumers, jobs): (&[&mkpf_http::routes::ConsumerSpec], &[&mkpf_http::routes::JobSpec]) =
        if app.config.local_workers { (&CONSUMERS, &JOBS) } else { (&[], &[]) };
    for spec in consumers.iter().copied() {
        for _ in 0..spec.queue.max_concurrency.max(1) {
            workers.push(tokio::spawn(worker::run_consumer(app.clone(), spec, stop_rx.clone())));
        }
    }
    for spec in jobs.iter().copied() {
        workers.push(tokio::spawn(worker::run_scheduler(app.clone(), spec, stop_rx.clone())));
    }
    if let Some(store) = booted.embedded_store.clone() {
        let mut stop = stop_rx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                for t in mkpf_core::tables::ALL {
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
        consumers = consumers.len(),
        jobs = jobs.len(),
        "listening"
    );
    let mut router = mkpf_http::full_router(app.clone());
    if let Some(dir) = app.config.web_dir.as_deref() {
        router = site::with_site(router, dir);
        let served = dir.join("index.html").is_file();
        tracing::info!(dir = %dir.display(), served, "web pages (citizen site at /, console at /console/)");
    }
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await;
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    // The last window of refusals of unauthenticated callers (audited in aggregate).
    mkpf_core::audit::refusals::flush(&app, true).await;
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

/// The local-only demo seed (`MKPF_LOCAL_DEMO_TOKENS`): demo staff accounts and a token for
/// each role, written to `path` (owner-only) as `{"operator": "...", ...}`.
async fn write_demo_tokens(app: &mkpf_http::App, path: &std::path::Path) -> Result<(), String> {
    let tokens = mkpf_core::staff::demo::seed(app).await?;
    let text = serde_json::to_string_pretty(&tokens).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        mkpf_embedded::private_fs::create_private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
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
