//! `requirements.txt` read as pip reads it, for Lambda rather than for this machine: each line a PEP 508
//! requirement (`pep508_rs`), an unnamed URL, VCS or path requirement, or a pip option. Environment markers
//! are evaluated for Lambda's Linux, CPython version and processor (`pywin32; sys_platform == "win32"` is
//! left out, whatever machine deploys), and the installer is given the lines without them: pip would
//! otherwise judge them by the machine it runs on.

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree, Requirement, UnnamedRequirement};
use std::path::Path;

use crate::error::InputError;

/// One line of `requirements.txt`, as it is installed for Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A requirement from the index or a wheel's URL: fetched for Lambda's platform. `name` is its
    /// distribution's (PEP 503), checked to have arrived with something to import.
    Platform { spec: String, name: Option<String> },
    /// A VCS URL, a source archive or a local folder: built here (pure Python only) without its
    /// dependencies, which requirements.txt must list.
    Built { spec: String, name: Option<String>, local: Option<std::path::PathBuf> },
    /// A pip option (`--index-url`, `--extra-index-url`, `-r`/`-c` with the path made absolute).
    Option(String),
}

impl Line {
    pub fn name(&self) -> Option<&str> {
        match self {
            Line::Platform { name, .. } | Line::Built { name, .. } => name.as_deref(),
            Line::Option(_) => None,
        }
    }
}

/// Lambda's marker environment for CPython `python_version` ("3.12") on `architecture`.
fn lambda_environment(python_version: &str, architecture: &str) -> Result<MarkerEnvironment, InputError> {
    let full_version = format!("{python_version}.0");
    let machine = if architecture == "arm64" { "aarch64" } else { "x86_64" };
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full_version,
        os_name: "posix",
        platform_machine: machine,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full_version,
        python_version,
        sys_platform: "linux",
    })
    .map_err(|e| InputError(format!("runtime python{python_version} is no Python version: {e}")))
}

/// The text of a line before its comment: pip's comments start at a `#` that begins the line or follows
/// white space (a URL's `#egg=` fragment is no comment).
fn without_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (i, c) in line.char_indices() {
        if c == '#' && previous_blank {
            return line[..i].trim();
        }
        previous_blank = c.is_whitespace();
    }
    line.trim()
}

/// The lines of `text` (a `requirements.txt` in `backend`) that Lambda's CPython `python_version` on
/// `architecture` installs.
pub fn for_lambda(
    text: &str,
    backend: &Path,
    python_version: &str,
    architecture: &str,
) -> Result<Vec<Line>, InputError> {
    let environment = lambda_environment(python_version, architecture)?;
    // Relative paths in requirements.txt are relative to it, and the parser needs an absolute base.
    let backend = &std::path::absolute(backend)
        .map_err(|e| InputError(format!("{}: cannot make it an absolute path: {e}", backend.display())))?;
    let mut lines = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = without_comment(raw);
        if line.is_empty() {
            continue;
        }
        let refused = |why: String| {
            InputError(format!(
                "{}/requirements.txt line {}: '{line}' {why}: write it as pip reads it (name==version, name @ URL, a \
                 URL or path, or an option), then run again",
                backend.display(),
                number + 1
            ))
        };
        if let Some(option) = line.strip_prefix('-') {
            lines.extend(option_line(option, backend, &environment).map_err(refused)?);
            continue;
        }
        lines.extend(requirement_line(line, backend, &environment).map_err(refused)?);
    }
    Ok(lines)
}

/// A pip option: `-e`/`--editable` installs its target as any other (a bundle has no editable installs);
/// `-r`/`-c` name files relative to requirements.txt, made absolute for the installer.
fn option_line(option: &str, backend: &Path, environment: &MarkerEnvironment) -> Result<Option<Line>, String> {
    let (flag, value) = option.split_once([' ', '=']).map_or((option, ""), |(f, v)| (f, v.trim()));
    match flag {
        "e" | "-editable" => requirement_line(value, backend, environment),
        "r" | "-requirement" | "c" | "-constraint" => {
            let short = if flag.contains('r') { "-r" } else { "-c" };
            Ok(Some(Line::Option(format!("{short} {}", backend.join(value).display()))))
        }
        _ => Ok(Some(Line::Option(format!("-{option}")))),
    }
}

fn requirement_line(line: &str, backend: &Path, environment: &MarkerEnvironment) -> Result<Option<Line>, String> {
    match Requirement::<pep508_rs::VerbatimUrl>::parse(line, backend) {
        Ok(mut requirement) => {
            if !requirement.marker.evaluate(environment, &[]) {
                return Ok(None);
            }
            requirement.marker = MarkerTree::TRUE;
            let name = Some(requirement.name.to_string());
            let spec = requirement.to_string();
            Ok(Some(match &requirement.version_or_url {
                Some(pep508_rs::VersionOrUrl::Url(url)) => direct(spec, name, url),
                _ => Line::Platform { spec, name },
            }))
        }
        // As pip, a line that is no requirement is a URL or a path only when it looks like one.
        Err(named_error) if !(line.contains("://") || line.starts_with(['.', '/', '~']) || line.contains('/')) => {
            Err(format!("is no requirement ({named_error})"))
        }
        Err(named_error) => {
            let mut reporter = pep508_rs::TracingReporter;
            let unnamed = UnnamedRequirement::<pep508_rs::VerbatimUrl>::parse(line, backend, &mut reporter)
                .map_err(|_| format!("is no requirement ({named_error})"))?;
            if !unnamed.marker.evaluate(environment, &[]) {
                return Ok(None);
            }
            let spec = unnamed.url.given().unwrap_or(line).to_string();
            let name = egg_name(&spec);
            Ok(Some(direct(spec, name, &unnamed.url)))
        }
    }
}

/// A direct reference: a wheel's URL is fetched for Lambda's platform like an index requirement; anything
/// else is built here.
fn direct(spec: String, name: Option<String>, url: &pep508_rs::VerbatimUrl) -> Line {
    let raw = url.raw();
    if raw.path().ends_with(".whl") {
        return Line::Platform { spec, name };
    }
    let local = (raw.scheme() == "file").then(|| url.as_path().ok()).flatten();
    Line::Built { spec, name, local }
}

/// `#egg=NAME` of a VCS URL, the only name such a line gives.
fn egg_name(spec: &str) -> Option<String> {
    let fragment = spec.split_once('#')?.1;
    fragment.split('&').find_map(|p| p.strip_prefix("egg=")).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, python: &str) -> Vec<Line> {
        for_lambda(text, Path::new("/srv/backend"), python, "x86_64").unwrap()
    }

    #[test]
    fn markers_are_judged_for_lambda_and_dropped_from_what_the_installer_sees() {
        let text = "pywin32>=300; sys_platform == \"win32\"\nuvloop; sys_platform == 'linux'\n\
                    tomli; python_version < \"3.11\"\nnumpy==2.1.0 ; platform_machine == 'x86_64'  # fast\n";
        let lines = read(text, "3.12");
        let specs: Vec<String> = lines
            .iter()
            .map(|l| match l {
                Line::Platform { spec, .. } => spec.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(specs, ["uvloop", "numpy==2.1.0"]);
        assert_eq!(read("tomli; python_version < \"3.11\"", "3.9").len(), 1, "python3.9 needs it");
        let on_arm = for_lambda("numpy; platform_machine == 'x86_64'", Path::new("."), "3.12", "arm64").unwrap();
        assert!(on_arm.is_empty(), "Graviton is aarch64");
    }

    #[test]
    fn urls_vcs_paths_and_options_are_told_apart() {
        let text = "mylib @ https://files.example.invalid/mylib-1.0-py3-none-any.whl\n\
                    git+https://github.com/example/tool.git@v1#egg=tool\n\
                    ./vendored/helper\n-e ./vendored/editable\n-r base.txt\n--extra-index-url https://pypi.example.invalid/simple\n";
        let lines = read(text, "3.12");
        assert_eq!(
            lines[0],
            Line::Platform {
                spec: "mylib @ https://files.example.invalid/mylib-1.0-py3-none-any.whl".into(),
                name: Some("mylib".into())
            }
        );
        assert!(matches!(&lines[1], Line::Built { name: Some(n), local: None, .. } if n == "tool"), "{:?}", lines[1]);
        assert!(
            matches!(&lines[2], Line::Built { local: Some(p), .. } if p.ends_with("vendored/helper")),
            "{:?}",
            lines[2]
        );
        assert!(
            matches!(&lines[3], Line::Built { local: Some(p), .. } if p.ends_with("vendored/editable")),
            "{:?}",
            lines[3]
        );
        assert_eq!(lines[4], Line::Option("-r /srv/backend/base.txt".into()));
        assert_eq!(lines[5], Line::Option("--extra-index-url https://pypi.example.invalid/simple".into()));
    }

    #[test]
    fn a_line_pip_cannot_read_is_refused_naming_it() {
        let refused = for_lambda("requests===", Path::new("b"), "3.12", "x86_64").unwrap_err().0;
        assert!(refused.contains("line 1: 'requests==='"), "{refused}");
    }
}
