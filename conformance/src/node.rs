//! Running the Node.js reference from Rust tests: the prerequisite check shared by every
//! Node-backed test, and a batch run of a JSON-lines helper script.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `conformance/node`, where the pinned npm packages and the helper scripts live.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// True when `node` runs and each of `packages` is installed in `conformance/node`.
/// Otherwise the test `what` is skipped with a message — or fails when the `CI` environment
/// variable is set, so that CI never passes by skipping.
pub fn ready(what: &str, packages: &[&str]) -> bool {
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let modules = dir().join("node_modules");
    let missing_package = packages
        .iter()
        .find(|p| !modules.join(p).join("package.json").is_file());
    let missing = match (node_ok, missing_package) {
        (true, None) => return true,
        (false, _) => "`node` is not on PATH".to_owned(),
        (true, Some(p)) => format!("conformance/node/node_modules/{p} is missing"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing}. Node.js is required for the {what}: install it, then run `npm ci` in \
         conformance/node"
    );
    eprintln!("SKIPPED {what}: {missing}. Install Node.js, then run `npm ci` in conformance/node");
    false
}

/// Runs `node <script> <args>` once, writes every request as a line on its standard input,
/// and returns its output lines (the helper answers one line per request).
pub fn run_batch(script: &Path, args: &[&str], requests: &[String]) -> Vec<String> {
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn node");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input: String = requests.iter().flat_map(|r| [r.as_str(), "\n"]).collect();
    // Write from another thread, so neither side blocks on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut output = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut output)
        .expect("read the helper's output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to the helper");
    let status = child.wait().expect("wait for node");
    assert!(
        status.success(),
        "{} exited with {status}",
        script.display()
    );
    output.lines().map(str::to_owned).collect()
}
