//! The embedded table against the files on disk, and the development directory's guards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

#[test]
fn the_root_is_the_index_and_every_embedded_file_matches_its_source() {
    let page = Page::embedded();
    let index = page.get("/").expect("an index page");
    assert_eq!(index.content_type, "text/html; charset=utf-8");
    assert_eq!(index, page.get("/index.html").unwrap());
    let mut count = 0;
    for path in Page::embedded_paths() {
        let served = page.get(path).unwrap();
        let on_disk = std::fs::read(assets_dir().join(&path[1..])).unwrap();
        assert_eq!(served.body, on_disk, "{path}");
        assert_eq!(
            served.etag,
            etag(&on_disk),
            "{path}: build.rs and etag() disagree"
        );
        count += 1;
    }
    assert!(count >= 3, "only {count} files embedded");
}

#[test]
fn the_descriptors_are_the_protos_the_server_serves() {
    let served = Page::embedded().get(DESCRIPTORS_PATH).unwrap();
    assert_eq!(served.body, tickmesh_proto::FILE_DESCRIPTOR_SET);
    let text = String::from_utf8_lossy(&served.body);
    for name in [
        "tickmesh.stream.v1",
        "TickStreamService",
        "HistoryService",
        "SubscriptionService",
        "IngestionService",
        "google/protobuf/timestamp.proto",
    ] {
        assert!(text.contains(name), "{name} is not in the descriptor set");
    }
}

#[test]
fn unknown_paths_are_not_served() {
    let page = Page::embedded();
    assert_eq!(page.get("/nope.js"), None);
    assert_eq!(
        page.get("/tickmesh.stream.v1.TickStreamService/StreamTicks"),
        None
    );
}

#[test]
fn every_file_the_page_references_is_embedded() {
    let paths: Vec<&str> = Page::embedded_paths().collect();
    for path in &paths {
        let text = match std::str::from_utf8(Page::embedded().get(path).unwrap().body.as_ref()) {
            Ok(text) if path.ends_with(".html") || path.ends_with(".js") => text.to_owned(),
            _ => continue,
        };
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for reference in references(&text) {
            let resolved = resolve(dir, &reference);
            assert!(
                resolved == DESCRIPTORS_PATH || paths.contains(&resolved.as_str()),
                "{path} refers to {reference} ({resolved}), which is not embedded"
            );
        }
    }
}

/// `src="..."`, `href="..."` and `from './x.js'` / `import('./x.js')` references to local files.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in [
        "src=\"",
        "href=\"",
        "from '",
        "from \"",
        "import('",
        "import(\"",
    ] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let Some(end) = rest.find(['"', '\'']) else {
                continue;
            };
            let target = &rest[..end];
            let local =
                target.starts_with("./") || target.starts_with("../") || target.starts_with('/');
            if local && !target.starts_with("//") && !target.starts_with("/#") && target != "/" {
                out.push(target.to_owned());
            }
        }
    }
    out
}

fn resolve(dir: &str, reference: &str) -> String {
    if reference.starts_with('/') {
        return reference.to_owned();
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[test]
fn the_development_directory_serves_files_under_it_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>dev</p>").unwrap();
    std::fs::write(dir.path().join("secret.key"), "no").unwrap();
    let page = Page::from_dir(dir.path());
    let index = page.get("/").unwrap();
    assert_eq!(index.body, "<p>dev</p>");
    assert_eq!(index.etag, etag(b"<p>dev</p>"));
    assert_eq!(page.get("/secret.key"), None, "no content type, not served");
    assert_eq!(page.get("/../index.html"), None);
    assert_eq!(page.get("/./index.html"), None);
    assert_eq!(page.get("//etc/passwd"), None);
}
