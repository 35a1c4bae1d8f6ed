//! The browser page of tickmesh: a live board of the three exchanges, a market view with
//! candles, trades, the order book and the spread, feed health and subscription management.
//!
//! The page is a client of the public gRPC API over gRPC-Web and nothing else. Its files (plain
//! ES modules, no build step, nothing fetched from the internet) are embedded into the binary
//! at build time from `assets/`; the page decodes protobuf with the descriptor set served at
//! [`DESCRIPTORS_PATH`], so it can never disagree with the server about a field.
//!
//! [`Page::from_dir`] serves the files from a directory instead, read on every request, so the
//! page can be edited and reloaded without rebuilding.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

/// Where the page fetches the encoded `FileDescriptorSet` of every tickmesh package.
pub const DESCRIPTORS_PATH: &str = "/descriptors.pb";

/// One file as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The file's bytes.
    pub body: Bytes,
    /// Its `content-type`.
    pub content_type: &'static str,
    /// A strong etag of the contents, quoted.
    pub etag: String,
}

/// An embedded file (the table `build.rs` writes).
struct Embedded {
    path: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    etag: &'static str,
}

static ASSETS: &[Embedded] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The page's files: embedded, or read from a directory while developing the page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    dir: Option<PathBuf>,
}

impl Page {
    /// The files embedded at build time.
    pub fn embedded() -> Page {
        Page { dir: None }
    }

    /// The files under `dir`, read on every request (for working on the page).
    pub fn from_dir(dir: impl Into<PathBuf>) -> Page {
        Page {
            dir: Some(dir.into()),
        }
    }

    /// The paths of the embedded files, such as `/index.html`.
    pub fn embedded_paths() -> impl Iterator<Item = &'static str> {
        ASSETS.iter().map(|a| a.path)
    }

    /// The file served at the URL path `path` (`/` is `/index.html`), if there is one.
    pub fn get(&self, path: &str) -> Option<Served> {
        let path = if path == "/" { "/index.html" } else { path };
        if path == DESCRIPTORS_PATH {
            return Some(Served {
                body: Bytes::from_static(tickmesh_proto::FILE_DESCRIPTOR_SET),
                content_type: "application/x-protobuf",
                etag: etag(tickmesh_proto::FILE_DESCRIPTOR_SET),
            });
        }
        match &self.dir {
            None => ASSETS.iter().find(|a| a.path == path).map(|a| Served {
                body: Bytes::from_static(a.body),
                content_type: a.content_type,
                etag: a.etag.to_owned(),
            }),
            Some(dir) => read_from(dir, path),
        }
    }
}

/// Reads `path` under `dir`, refusing anything that would leave it or has no known type.
fn read_from(dir: &Path, path: &str) -> Option<Served> {
    let relative = Path::new(path.strip_prefix('/')?);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let content_type = content_type(path)?;
    // Small files, read only while someone works on the page: a blocking read is fine here.
    let body = std::fs::read(dir.join(relative)).ok()?;
    Some(Served {
        etag: etag(&body),
        body: Bytes::from(body),
        content_type,
    })
}

/// The content type of a file, by extension, as `build.rs` assigns it.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    ASSETS
        .iter()
        .find(|a| a.path.rsplit_once('.').is_some_and(|(_, e)| e == ext))
        .map(|a| a.content_type)
        .or(match ext {
            "html" => Some("text/html; charset=utf-8"),
            "css" => Some("text/css; charset=utf-8"),
            "js" | "mjs" => Some("text/javascript; charset=utf-8"),
            _ => None,
        })
}

/// The etag `build.rs` gives the same bytes (FNV-1a, 64 bits, quoted).
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests;
