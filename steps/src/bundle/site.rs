//! The built frontend on disk: its files with their S3 keys and MD5s, the headers each is served with,
//! and the generated `config.js` that points the site at the real API endpoints.

use anyhow::{Context as _, Result};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

use crate::package::hex;

/// One object the site should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// The S3 key: the path below `dist/`, '/'-separated.
    pub key: String,
    pub body: Body,
    /// Hex MD5 of the content: S3's ETag for a single-part upload.
    pub md5: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    File(PathBuf),
    Generated(Vec<u8>),
}

impl SiteFile {
    pub fn generated(key: &str, content: Vec<u8>) -> Self {
        SiteFile { key: key.to_string(), md5: hex(&Md5::digest(&content)), body: Body::Generated(content) }
    }

    pub fn bytes(&self) -> Result<Vec<u8>> {
        match &self.body {
            Body::File(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display())),
            Body::Generated(content) => Ok(content.clone()),
        }
    }
}

/// Every file below `dist`, sorted by key.
pub fn scan(dist: &Path) -> Result<Vec<SiteFile>> {
    let mut files = Vec::new();
    for (key, path) in crate::walk::files_below(dist, |name| name != ".DS_Store")? {
        let content = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push(SiteFile { key, md5: hex(&Md5::digest(&content)), body: Body::File(path) });
    }
    Ok(files)
}

/// The `Content-Type` S3 serves `key` with: the registered type of its extension (`mime_guess`), with
/// `charset=utf-8` on text, which browsers otherwise guess; `application/octet-stream` when unknown.
pub fn content_type(key: &str) -> String {
    // Source maps are JSON; the registry lists no type for `.map`.
    if key.to_ascii_lowercase().ends_with(".map") {
        return "application/json".to_string();
    }
    let guessed = mime_guess::from_path(key).first_or_octet_stream();
    let essence = guessed.essence_str();
    let text = guessed.type_() == mime_guess::mime::TEXT || essence == "application/javascript";
    match essence {
        // RFC 9239: JavaScript is text/javascript.
        "application/javascript" => "text/javascript; charset=utf-8".to_string(),
        _ if text => format!("{essence}; charset=utf-8"),
        _ => essence.to_string(),
    }
}

/// A bundler's content hash in the file name (`app.8b2e4d.js`, `index-B3x9Kq2a.js`): such a file never
/// changes under its name, so browsers may keep it for a year.
pub fn is_fingerprinted(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    stem.split(['.', '-', '_']).any(|part| {
        part.len() >= 6
            && part.chars().all(|c| c.is_ascii_alphanumeric())
            && part.chars().any(|c| c.is_ascii_digit())
            && part.chars().any(|c| c.is_ascii_alphabetic())
    })
}

pub fn cache_control(key: &str) -> &'static str {
    if key.ends_with(".html") || key == CONFIG_KEY {
        "no-cache"
    } else if is_fingerprinted(key) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    }
}

/// The generated file the site reads its endpoints from, at the site root.
pub const CONFIG_KEY: &str = "config.js";

/// Where deployer keeps its own records in the site's bucket, out of the site: CloudFront may not read
/// them (the bucket policy), and the sync neither deletes nor lists them.
pub const PRIVATE_PREFIX: &str = ".deployer/";

/// The releases' record (see the binary's `releases`), so that another machine, or a lost state file,
/// still knows them.
pub const RELEASES_KEY: &str = ".deployer/releases.json";

pub fn config_js(api_url: &str, ws_url: &str) -> String {
    format!("window.APP_CONFIG = {{\n  API_BASE_URL: \"{api_url}\",\n  WS_URL: \"{ws_url}\"\n}};\n")
}

/// `source` with the quoted values of `API_BASE_URL` and `WS_URL` replaced (`KEY: "…"` or `KEY = '…'`).
pub fn rewrite_config_source(source: &str, api_url: &str, ws_url: &str) -> String {
    let mut text = source.to_string();
    for (key, value) in [("API_BASE_URL", api_url), ("WS_URL", ws_url)] {
        text = replace_value(&text, key, value);
    }
    text
}

fn replace_value(text: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (before, after_key) = rest.split_at(at + key.len());
        out.push_str(before);
        let trimmed = after_key.trim_start_matches([' ', '\t', '"', '\'']).trim_start();
        let Some(after_sep) = trimmed.strip_prefix([':', '=']) else {
            rest = after_key;
            continue;
        };
        let after_sep = after_sep.trim_start();
        let Some(quote) = after_sep.chars().next().filter(|c| ['"', '\'', '`'].contains(c)) else {
            rest = after_key;
            continue;
        };
        let Some(close) = after_sep[1..].find(quote) else {
            rest = after_key;
            continue;
        };
        let prefix_len = after_key.len() - after_sep.len();
        out.push_str(&after_key[..prefix_len]);
        out.push(quote);
        out.push_str(value);
        out.push(quote);
        rest = &after_sep[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_cache_headers_follow_the_file() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/app.8b2e4d.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("logo.svg"), "image/svg+xml");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
        for (key, wanted) in [
            ("media/intro.mp4", "video/mp4"),
            ("media/intro.webm", "video/webm"),
            ("audio/ding.mp3", "audio/mpeg"),
            ("data/export.csv", "text/csv; charset=utf-8"),
            ("docs/README.md", "text/markdown; charset=utf-8"),
            ("assets/app.js.map", "application/json"),
            ("app.mjs", "text/javascript; charset=utf-8"),
            ("data.json", "application/json"),
            ("site.webmanifest", "application/manifest+json"),
            ("module.wasm", "application/wasm"),
        ] {
            assert_eq!(content_type(key), wanted, "{key}");
        }
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("config.js"), "no-cache");
        assert_eq!(cache_control("assets/app.8b2e4d.js"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("assets/index-B3x9Kq2a.css"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("vendor/jquery-3.6.0.min.js"), "public, max-age=3600");
        assert_eq!(cache_control("robots.txt"), "public, max-age=3600");
    }

    #[test]
    fn scan_lists_every_file_with_its_md5() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("index.html"), "hello").unwrap();
        std::fs::write(dir.path().join("assets/a.js"), "").unwrap();
        let files = scan(dir.path()).unwrap();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["assets/a.js", "index.html"]);
        assert_eq!(files[1].md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(files[0].md5, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn source_config_gets_the_real_endpoints_and_keeps_everything_else() {
        let source = "export const config = {\n  API_BASE_URL: \"https://old.example/api\",\n  WS_URL: 'ws://localhost:3001',\n  TITLE: \"x\"\n};\nconst API_BASE_URL2 = 1;\n";
        let rewritten =
            rewrite_config_source(source, "https://id.execute-api.eu-west-1.amazonaws.com/prod", "wss://w/prod");
        assert!(rewritten.contains("API_BASE_URL: \"https://id.execute-api.eu-west-1.amazonaws.com/prod\""));
        assert!(rewritten.contains("WS_URL: 'wss://w/prod'"));
        assert!(rewritten.contains("TITLE: \"x\"") && rewritten.contains("const API_BASE_URL2 = 1;"));
        assert_eq!(
            rewrite_config_source(&rewritten, "https://id.execute-api.eu-west-1.amazonaws.com/prod", "wss://w/prod"),
            rewritten
        );
    }

    #[test]
    fn generated_config_names_both_endpoints() {
        let js = config_js("https://a/prod", "wss://b/prod");
        assert!(js.starts_with("window.APP_CONFIG = {"));
        assert!(js.contains("API_BASE_URL: \"https://a/prod\"") && js.contains("WS_URL: \"wss://b/prod\""));
    }
}
