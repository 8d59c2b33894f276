//! The tool that installs `requirements.txt` for Lambda: `uv pip install` when uv is on PATH (it resolves
//! and installs in a fraction of pip's time), else `python3 -m pip install`. `DEPLOYER_INSTALLER=pip|uv`
//! chooses one. Both fetch only wheels for Lambda's Linux on the functions' architecture.

use anyhow::{bail, Context as _, Result};
use std::path::Path;
use std::process::{Command, Output};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installer {
    Uv,
    Pip,
}

impl Installer {
    /// `DEPLOYER_INSTALLER` when set (uv must then run), else uv when it runs, else pip.
    pub fn chosen() -> Result<Installer> {
        match std::env::var("DEPLOYER_INSTALLER").ok().as_deref() {
            Some("uv") if uv_runs() => Ok(Installer::Uv),
            Some("uv") => Err(crate::InputError(
                "DEPLOYER_INSTALLER=uv, but `uv --version` does not run here: install uv (`python3 -m pip install \
                 uv`), or unset DEPLOYER_INSTALLER to install with pip"
                    .to_string(),
            )
            .into()),
            Some("pip") => Ok(Installer::Pip),
            Some(other) => bail!("DEPLOYER_INSTALLER={other} is not an installer: use pip or uv, or unset it"),
            None if uv_runs() => Ok(Installer::Uv),
            None => Ok(Installer::Pip),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Installer::Uv => "uv",
            Installer::Pip => "pip",
        }
    }

    /// Installs `requirements` into `target` for CPython `python_version` on `architecture` (Lambda's).
    pub fn install(
        self,
        requirements: &Path,
        target: &Path,
        python_version: &str,
        architecture: &str,
    ) -> Result<Output> {
        let mut command = match self {
            Installer::Uv => {
                let mut c = Command::new("uv");
                c.args(["pip", "install", "--quiet", "--target"]).arg(target);
                c.args(["--python-platform", &uv_platform(architecture, python_version), "--only-binary", ":all:"]);
                c
            }
            Installer::Pip => {
                let mut c = Command::new("python3");
                c.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"]).arg(target);
                for platform in wheel_platforms(architecture, python_version) {
                    c.args(["--platform", &platform]);
                }
                c.args(["--implementation", "cp", "--only-binary=:all:"]);
                c
            }
        };
        command.arg("-r").arg(requirements).args(["--python-version", python_version]);
        let output = command.output().with_context(|| match self {
            Installer::Uv => "running `uv pip install` for requirements.txt".to_string(),
            Installer::Pip => {
                "running `python3 -m pip install` for requirements.txt: is python3 with pip installed?".to_string()
            }
        })?;
        if self == Installer::Uv {
            // uv leaves its lock file in the target; it is no part of the code.
            let _ = std::fs::remove_file(target.join(".lock"));
        }
        Ok(output)
    }

    /// Builds `spec` (a VCS URL, a source archive or a local folder) here, without its dependencies
    /// (requirements.txt lists those, fetched for Lambda), into `target`; `cwd` is requirements.txt's folder.
    pub fn build(self, spec: &str, target: &Path, cwd: &Path) -> Result<Output> {
        // Absolute, as the installer runs in `cwd`.
        let target = &std::path::absolute(target).with_context(|| format!("resolving {}", target.display()))?;
        let mut command = match self {
            Installer::Uv => {
                let mut c = Command::new("uv");
                c.args(["pip", "install", "--quiet", "--no-deps", "--target"]).arg(target);
                c
            }
            Installer::Pip => {
                let mut c = Command::new("python3");
                c.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"]);
                c.arg(target);
                c
            }
        };
        command.arg(spec).current_dir(cwd);
        let output = command.output().with_context(|| format!("running {} to build {spec}", self.name()))?;
        if self == Installer::Uv {
            let _ = std::fs::remove_file(target.join(".lock"));
        }
        Ok(output)
    }

    /// The requirement the installer found no distribution of (no wheel for the platform, or none at all).
    pub fn no_wheel_for(self, said: &str) -> Option<String> {
        let marker = match self {
            Installer::Uv => "you require ",
            Installer::Pip => "No matching distribution found for ",
        };
        let after = said.lines().find_map(|l| l.split(marker).nth(1))?;
        let requirement = after.split([',', ' ']).next()?.trim();
        (!requirement.is_empty()).then(|| requirement.to_string())
    }
}

fn uv_runs() -> bool {
    Command::new("uv").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Whether Lambda runs `python_version` ("3.12") on Amazon Linux 2023 (glibc 2.34, so `manylinux_2_28`
/// wheels run) rather than Amazon Linux 2 (glibc 2.26: `manylinux2014` at most): python3.12 and later.
fn on_amazon_linux_2023(python_version: &str) -> bool {
    let minor = python_version.strip_prefix("3.").and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 12)
}

fn machine(architecture: &str) -> &'static str {
    match architecture {
        "arm64" => "aarch64",
        _ => "x86_64",
    }
}

/// The wheel platforms of Lambda's Linux for `python_version` on `architecture`, newest first.
pub fn wheel_platforms(architecture: &str, python_version: &str) -> Vec<String> {
    let machine = machine(architecture);
    let mut platforms = Vec::new();
    if on_amazon_linux_2023(python_version) {
        platforms.push(format!("manylinux_2_28_{machine}"));
    }
    platforms.push(format!("manylinux2014_{machine}"));
    platforms
}

/// The newest of them as uv names it (uv takes the older ones with it).
fn uv_platform(architecture: &str, python_version: &str) -> String {
    let glibc = if on_amazon_linux_2023(python_version) { "manylinux_2_28" } else { "manylinux2014" };
    format!("{}-{glibc}", machine(architecture))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_naming_no_wheel_gives_the_requirement() {
        let said = "ERROR: Could not find a version that satisfies the requirement numpy==9.9 (from versions: none)\n\
                    ERROR: No matching distribution found for numpy==9.9\n";
        assert_eq!(Installer::Pip.no_wheel_for(said).as_deref(), Some("numpy==9.9"));
        assert_eq!(Installer::Pip.no_wheel_for("ERROR: some other failure"), None);
    }

    #[test]
    fn uv_naming_no_wheel_gives_the_requirement() {
        let platform = "error: No solution found when resolving dependencies\n  cause: Because fastlib==1.0 has no \
                        wheels with a matching platform tag (e.g., `manylinux_2_17_aarch64`) and you require \
                        fastlib==1.0, we can conclude that your requirements are unsatisfiable.\n";
        assert_eq!(Installer::Uv.no_wheel_for(platform).as_deref(), Some("fastlib==1.0"));
        let absent = "  cause: Because nosuch was not found in the package registry and you require nosuch==1.0, we \
                      can conclude that your requirements are unsatisfiable.";
        assert_eq!(Installer::Uv.no_wheel_for(absent).as_deref(), Some("nosuch==1.0"));
        assert_eq!(Installer::Uv.no_wheel_for("error: Failed to fetch"), None);
    }

    #[test]
    fn wheels_are_fetched_for_the_functions_processor_and_linux() {
        assert_eq!(wheel_platforms("x86_64", "3.11"), ["manylinux2014_x86_64"]);
        assert_eq!(wheel_platforms("arm64", "3.12"), ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]);
        assert_eq!(wheel_platforms("x86_64", "3.13"), ["manylinux_2_28_x86_64", "manylinux2014_x86_64"]);
        assert_eq!(uv_platform("arm64", "3.9"), "aarch64-manylinux2014");
        assert_eq!(uv_platform("x86_64", "3.12"), "x86_64-manylinux_2_28");
    }
}
