//! Embeds every file under `assets/` into the binary: writes a table of `(path, bytes, content
//! type, etag)` into `OUT_DIR/assets.rs`, the bytes by `include_bytes!` so the compiler reads
//! them, and the etag from the contents so a browser revalidates only what changed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("assets");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("assets.rs");
    // A directory makes cargo rebuild when anything under it changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files)?;
    files.sort();
    let mut table = String::from("&[\n");
    for file in &files {
        let rel = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        let content_type = content_type(&rel)
            .ok_or_else(|| format!("assets/{rel}: no content type known for this extension"))?;
        let etag = fnv1a(&std::fs::read(file)?);
        writeln!(
            table,
            "    Embedded {{ path: {:?}, body: include_bytes!({:?}), content_type: {:?}, etag: \"\\\"{etag:016x}\\\"\" }},",
            format!("/{rel}"),
            file.display().to_string(),
            content_type,
        )?;
    }
    table.push(']');
    std::fs::write(out, table)?;
    Ok(())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The content type of an asset, by its extension.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// FNV-1a, 64 bits: stable across builds and toolchains, which is all an etag needs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
