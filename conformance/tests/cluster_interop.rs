//! Several nodes on one Redis, on the wire: `node/cluster/scenarios.js` (the scenario list of
//! the official adapters' own suites, with official `socket.io-client` 4.8.4 clients over
//! WebSocket and long-polling) against clusters of three nodes, where a node is ours
//! (`sio-cluster-node`, the Redis adapter of `socketio-server`) or Node's (`socket.io` 4.8.4
//! with `@socket.io/redis-adapter` 8.3.0, `node/cluster/node-server.js`).
//!
//! With the streams adapter (`@socket.io/redis-streams-adapter` 0.3.1 on the Node side),
//! `node/cluster/recovery-across.js` also checks connection state recovery from one node
//! to another, ours and Node's, in both directions.
//!
//! Every scenario runs once from each node with clients on every node, so a mixed cluster
//! checks both directions; the silent-node (SIGSTOP) and killed-node (SIGKILL) scenarios
//! run last. The runs are serialized: their timeouts assume a quiet machine.
//!
//! Needs Node.js with `npm ci` in `conformance/node`, and Redis at `REDIS_URL`; without
//! them the tests are skipped with a message, unless `CI` is set, where they fail.
//!
//! By hand: `RUST_CLUSTER_SERVER=target/debug/sio-cluster-node
//! conformance/node/cluster/run-node-cluster.sh --impls rust,rust,node --matrix`.

use std::process::Command;
use std::sync::Mutex;

use conformance::{node, redis};

/// One cluster run at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn run_cluster(what: &str, args: &[&str]) {
    run_cluster_expecting(what, args, 60);
}

/// Runs `run-node-cluster.sh` with `args`; at least `min_passed` cases must pass.
fn run_cluster_expecting(what: &str, args: &[&str], min_passed: usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !node::ready(
        what,
        &[
            "socket.io",
            "socket.io-client",
            "@socket.io/redis-adapter",
            "@socket.io/redis-emitter",
            "@socket.io/redis-streams-adapter",
            "socket.io-msgpack-parser",
            "redis",
        ],
    ) || !redis::ready(what)
    {
        return;
    }
    let output = Command::new("bash")
        .arg(node::dir().join("cluster/run-node-cluster.sh"))
        .args(args)
        .args(["--redis", &redis::url()])
        .env(
            "RUST_CLUSTER_SERVER",
            env!("CARGO_BIN_EXE_sio-cluster-node"),
        )
        .output()
        .expect("run run-node-cluster.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what}: the cluster scenarios failed\n{stdout}\n{stderr}"
    );
    // Proof that the scenarios ran (a run that skipped everything must not pass).
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.split(" passed,").next()?.trim().parse::<usize>().ok())
        .sum();
    assert!(
        passed >= min_passed,
        "{what}: only {passed} scenarios passed\n{stdout}"
    );
    eprintln!("{what}: {passed} scenarios passed");
}

#[test]
fn three_rust_nodes_with_the_classic_adapter_pass_every_scenario() {
    run_cluster("3 Rust nodes, classic", &["--impls", "rust,rust,rust"]);
}

#[test]
fn three_rust_nodes_with_the_sharded_adapter_pass_every_scenario() {
    run_cluster(
        "3 Rust nodes, sharded dynamic",
        &[
            "--impls",
            "rust,rust,rust",
            "--adapter",
            "sharded",
            "--mode",
            "dynamic",
        ],
    );
}

#[test]
fn two_rust_nodes_and_a_node_node_serve_the_same_rooms_with_every_adapter_and_the_emitter() {
    // Classic with the official emitter, sharded dynamic, static and dynamic-private.
    run_cluster(
        "2 Rust nodes + 1 Node node, every adapter",
        &["--impls", "rust,rust,node", "--matrix"],
    );
}

#[test]
fn a_rust_node_among_node_nodes_answers_them_as_one_of_theirs() {
    run_cluster(
        "1 Rust node between 2 Node nodes, classic with the emitter",
        &["--impls", "node,rust,node", "--emitter"],
    );
}

#[test]
fn a_rust_node_among_node_nodes_with_the_streams_adapter_passes_every_scenario() {
    run_cluster(
        "1 Rust node between 2 Node nodes, streams",
        &["--impls", "node,rust,node", "--adapter", "streams"],
    );
}

#[test]
fn a_client_cut_on_one_node_recovers_on_another_ours_or_nodes_in_both_directions() {
    // rust-0 -> rust-1, rust-1 -> node-2, node-2 -> rust-0; WebSocket and polling each.
    run_cluster_expecting(
        "connection state recovery across nodes, streams",
        &[
            "--impls",
            "rust,rust,node",
            "--adapter",
            "streams",
            "--recovery-across",
        ],
        6,
    );
}

#[test]
fn a_client_cut_on_one_node_recovers_on_another_with_the_msgpack_parser_too() {
    run_cluster_expecting(
        "connection state recovery across nodes, streams, msgpack parser",
        &[
            "--impls",
            "rust,rust,node",
            "--adapter",
            "streams",
            "--recovery-across",
            "--msgpack",
        ],
        6,
    );
}
