//! The layers' dependency rule, read from `Cargo.lock`: the core crate — with everything it
//! builds against, dev-dependencies included — reaches no HTTP framework, OpenAPI generator,
//! Lambda runtime or AWS SDK, and none of the platform's outer crates. (`aws-lc-rs` is a
//! cryptography library, not an AWS service client: signatures are verified with it.) The
//! compiler holds the rest: a core module cannot name a crate the core does not depend on. And
//! use cases take the capabilities they name (`caps`), never the whole `Deps`.

use std::collections::{BTreeMap, BTreeSet};

/// Crate names (or prefixes ending in `-`/`_`) the core must never reach.
const FORBIDDEN: &[&str] = &[
    "axum",
    "tower-http",
    "utoipa",
    "lambda_http",
    "lambda_runtime",
    "aws_lambda_events",
    "aws-config",
    "aws-sdk-",
    "aws-smithy-",
    "aws-types",
    "aws-runtime",
    "aws-sigv4",
    "aws-credential-types",
    "hyper",
    "reqwest",
    "redb",
    "mkpf-http",
    "mkpf-runtime",
    "mkpf-embedded",
    "mkpf-aws",
];

/// Package name → the names of its dependencies, from the lock file.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    let text = std::fs::read_to_string(path).expect("Cargo.lock at the workspace root");
    let mut graph = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("a package has a name")
            .to_owned();
        let mut deps = Vec::new();
        if let Some(start) = block.find("dependencies = [") {
            let list = &block[start + "dependencies = [".len()..];
            let list = &list[..list.find(']').expect("a closed list")];
            for entry in list.split(',') {
                let entry = entry.trim().trim_matches('"');
                if let Some(dep) = entry.split(' ').next().filter(|d| !d.is_empty()) {
                    deps.push(dep.to_owned());
                }
            }
        }
        graph.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

fn reachable(graph: &BTreeMap<String, Vec<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(p) = todo.pop() {
        if seen.insert(p.clone()) {
            todo.extend(graph.get(&p).into_iter().flatten().cloned());
        }
    }
    seen
}

fn forbidden(name: &str) -> bool {
    FORBIDDEN.iter().any(|f| if f.ends_with('-') { name.starts_with(f) } else { name == *f })
}

#[test]
fn the_core_reaches_no_http_framework_lambda_runtime_aws_sdk_or_outer_crate() {
    let graph = lock_graph();
    let reached = reachable(&graph, "mkpf-core");
    assert!(reached.len() > 20, "the lock file was read: {} crates", reached.len());
    let bad: Vec<&String> = reached.iter().filter(|n| forbidden(n)).collect();
    assert!(bad.is_empty(), "mkpf-core reaches {bad:?}");
}

/// The check itself can fail: the outer crates do reach what the core must not.
#[test]
fn the_outer_crates_do_reach_them() {
    let graph = lock_graph();
    let http = reachable(&graph, "mkpf-http");
    assert!(http.contains("axum") && http.contains("utoipa") && http.contains("mkpf-core"));
    assert!(
        !http.contains("mkpf-runtime") && !http.iter().any(|n| n.starts_with("aws-sdk-")),
        "HTTP stays off the SDK"
    );
    let runtime = reachable(&graph, "mkpf-runtime");
    assert!(runtime.iter().any(|n| forbidden(n) && n.starts_with("aws-sdk-")));
}

/// Whether a line of source hands a use case the whole `Deps` (by reference, with or without a
/// lifetime) rather than the capabilities it needs.
fn takes_whole_deps(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    ["&Deps", "&'_ Deps", "&'a Deps", "&mkpf_core::Deps", "&crate::Deps"].iter().any(|p| code.contains(p))
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Use cases name the ports they use (`app: &(impl Audits + Queues)`, see `caps`); only the
/// composition holder itself (`deps.rs`, `caps.rs`) mentions `Deps` by reference.
#[test]
fn use_cases_take_the_ports_they_name_not_the_whole_deps() {
    assert!(takes_whole_deps("pub async fn get(app: &Deps, id: &Id) {"));
    assert!(takes_whole_deps("    app: &'a Deps,"));
    assert!(!takes_whole_deps("pub async fn get(app: &impl Stores, id: &Id) {"));
    assert!(!takes_whole_deps("/// as `&Deps` did"));

    let src = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(src, &mut files);
    assert!(files.len() > 50, "the sources were found: {}", files.len());
    let mut offenders = Vec::new();
    for f in &files {
        let name = f.strip_prefix(src).unwrap().to_string_lossy().into_owned();
        if name == "deps.rs" || name == "caps.rs" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            if takes_whole_deps(line) {
                offenders.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "use cases taking the whole Deps:\n{}", offenders.join("\n"));
}
