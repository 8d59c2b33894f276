//! Digests the steps' source code into `DEPLOYER_STEPS_DIGEST`: the runner puts it into every step's
//! fingerprint, so a deployer whose steps want something new re-checks steps that were already done.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    // FNV-1a: no dependency needed, and a collision only costs a skipped re-check.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let content = std::fs::read(file).unwrap_or_default();
        for byte in file.to_string_lossy().bytes().chain(content) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=DEPLOYER_STEPS_DIGEST={hash:016x}");
}
