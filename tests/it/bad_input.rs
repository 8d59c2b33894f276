//! Bad input: a clear error that names the fix, exit code 2, nothing created, the state file untouched.

use crate::proxy::{Proxy, Rules};
use crate::support::{fixtures, inventory, moto, Deployment, Outcome};

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    /// A state file to start from (a path under fixtures/, or inline JSON).
    state: Option<StateFixture>,
    expect: &'static str,
}

/// A deployer.toml with what only the file can say, for service `bad-config`, and what the error says.
const CONFIG_CASES: &[(&str, &str, &str)] = &[
    (
        "VPC subnet not an ID",
        "[vpc]\nsubnet_ids = [\"subnet-xyz\"]\nsecurity_group_ids = [\"sg-0abc12345def67890\"]",
        "which is not an EC2 ID",
    ),
    (
        "VPC without subnets",
        "[vpc]\nsubnet_ids = []\nsecurity_group_ids = [\"sg-0abc12345def67890\"]",
        "subnet_ids lists 0: give 1 to 16",
    ),
    (
        "secret not a variable name",
        "[functions.usage-handler.secrets]\napi-key = \"svc/key\"",
        "name it as an environment variable",
    ),
    ("secret ID with spaces", "[functions.usage-handler.secrets]\nAPI_KEY = \"my key\"", "is neither a secret's name"),
    ("cognito without a pool", "[auth]\nkind = \"cognito\"", "needs user_pool_arn"),
    ("unknown auth kind", "[auth]\nkind = \"oauth\"", "unknown variant `oauth`"),
    ("usage plan limits without api_key", "[auth]\nquota_limit = 10", "use them with kind = \"api_key\""),
    ("quota period", "[auth]\nkind = \"api_key\"\nquota_period = \"YEAR\"", "use DAY, WEEK or MONTH"),
    ("provisioned 0", "[functions.usage-handler]\nprovisioned_concurrency = 0", "must be 1 or more"),
    (
        "provisioned above reserved",
        "[functions.usage-handler]\nprovisioned_concurrency = 3\nreserved_concurrency = 1",
        "above its reserved_concurrency",
    ),
    (
        "dev origin with a path",
        "dev_cors_origins = [\"http://localhost:5173/app\"]",
        "dev_cors_origins 'http://localhost:5173/app' is not an origin",
    ),
];

enum StateFixture {
    File(&'static str),
    Json(&'static str),
}

const OTHER_SERVICE_STATE: &str = r#"{"schema_version": 1, "settings": {"service": "other-service", "stage": "prod",
 "region": "us-east-1", "backend": "backend", "frontend": "frontend", "runtime": "python3.12"}, "steps": {}}"#;

/// A state file cut off mid-write, as a copy interrupted outside deployer would leave it.
const TRUNCATED_STATE: &str =
    r#"{"schema_version": 1, "settings": {"service": "truncated", "stage": "prod", "region": "us-e"#;

/// 307 characters, over DNS's 253.
const LONG_DOMAIN: &str = concat!(
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"
);

const CASES: &[Case] = &[
    Case {
        name: "upper case and symbols",
        args: &["run", "--service", "New_Service!"],
        state: None,
        expect: "use lowercase letters, digits and hyphens",
    },
    Case { name: "underscore", args: &["run", "--service", "new_service"], state: None, expect: "contains '_'" },
    Case {
        name: "too long for Lambda",
        args: &["run", "--service", "a-service-name-that-is-far-too-long-for-lambda"],
        state: None,
        expect: "choose a shorter --service",
    },
    Case {
        name: "leading digit",
        args: &["run", "--service", "1service"],
        state: None,
        expect: "must start with a letter",
    },
    Case { name: "doubled hyphen", args: &["run", "--service", "new--service"], state: None, expect: "doubled hyphen" },
    Case { name: "empty service", args: &["run", "--service", ""], state: None, expect: "the service name is empty" },
    Case { name: "no service, no state", args: &["run"], state: None, expect: "no --service given" },
    Case {
        name: "invalid domain",
        args: &["run", "--service", "bad-domain", "--domain", "not_a_domain"],
        state: None,
        expect: "not a valid lowercase DNS name",
    },
    Case {
        name: "single-label domain",
        args: &["run", "--service", "bad-domain", "--domain", "localhost"],
        state: None,
        expect: "--domain new-service.com",
    },
    Case {
        name: "domain with edge hyphens",
        args: &["run", "--service", "bad-domain", "--domain=-bad-.com"],
        state: None,
        expect: "not a valid lowercase DNS name",
    },
    Case {
        name: "domain without a dot",
        args: &["run", "--service", "bad-domain", "--domain", "new-service"],
        state: None,
        expect: "not a valid lowercase DNS name",
    },
    Case {
        name: "domain of 300 characters",
        args: &["run", "--service", "bad-domain", "--domain", LONG_DOMAIN],
        state: None,
        expect: "not a valid lowercase DNS name",
    },
    Case {
        name: "invalid --cert-wait",
        args: &["run", "--service", "bad-wait", "--cert-wait", "soon"],
        state: None,
        expect: "give it as seconds (90) or with units",
    },
    Case {
        name: "empty backend",
        args: &["run", "--service", "empty-backend", "--backend", "empty-site"],
        state: None,
        expect: "lacks the handler files",
    },
    Case {
        name: "truncated state file",
        args: &["run", "--service", "truncated"],
        state: Some(StateFixture::Json(TRUNCATED_STATE)),
        expect: "is corrupt",
    },
    Case {
        name: "invalid region",
        args: &["run", "--service", "bad-region", "--region", "moon"],
        state: None,
        expect: "not an AWS region name",
    },
    Case {
        name: "region no partition has",
        args: &["run", "--service", "no-region", "--region", "us-east-7"],
        state: None,
        expect: "region 'us-east-7' is not one AWS has (did you mean us-east-1?)",
    },
    Case {
        name: "invalid stage",
        args: &["run", "--service", "bad-stage", "--stage", "pro d"],
        state: None,
        expect: "not a valid API Gateway stage name",
    },
    Case {
        name: "unsupported runtime",
        args: &["run", "--service", "bad-runtime", "--runtime", "python2.7"],
        state: None,
        expect: "not a Python runtime Lambda offers: use one of python3.14,",
    },
    Case {
        name: "runtime Lambda does not offer (yet)",
        args: &["run", "--service", "bad-runtime", "--runtime", "python3.99"],
        state: None,
        expect: "not a Python runtime Lambda offers",
    },
    Case {
        name: "endpoint not a URL",
        args: &["run", "--service", "bad-url", "--endpoint-url", "localhost:5000"],
        state: None,
        expect: "give it as http://HOST:PORT",
    },
    Case {
        name: "missing backend",
        args: &["run", "--service", "no-backend", "--backend", "nowhere"],
        state: None,
        expect: "backend folder 'nowhere' does not exist",
    },
    Case {
        name: "backend without handlers",
        args: &["run", "--service", "no-handlers", "--backend", "frontend"],
        state: None,
        expect: "lacks the handler files handlers/api/conversation.py",
    },
    Case {
        name: "corrupt state file",
        args: &["run", "--service", "broken"],
        state: Some(StateFixture::File("state/corrupt.json")),
        expect: "is corrupt",
    },
    Case {
        name: "state of a newer schema",
        args: &["resume"],
        state: Some(StateFixture::File("state/future-version.json")),
        expect: "schema version 2",
    },
    Case {
        name: "state of another service",
        args: &["run", "--service", "mine"],
        state: Some(StateFixture::Json(OTHER_SERVICE_STATE)),
        expect: "belongs to --service 'other-service'",
    },
    Case {
        name: "state of another region",
        args: &["run", "--region", "eu-west-1"],
        state: Some(StateFixture::Json(OTHER_SERVICE_STATE)),
        expect: "belongs to --region 'us-east-1'",
    },
    Case { name: "resume without a state file", args: &["resume"], state: None, expect: "nothing to resume" },
    Case { name: "status without a state file", args: &["status"], state: None, expect: "no state file at" },
    Case {
        name: "unknown step",
        args: &["step", "09-nope", "--service", "unknown-step"],
        state: None,
        expect: "unknown step '09-nope'",
    },
    Case {
        name: "step before its prerequisite",
        args: &["step", "03-api-gateway", "--service", "early-step"],
        state: None,
        expect: "needs the outputs of 02-lambda",
    },
    Case {
        name: "CORS origin with a path",
        args: &["run", "--service", "bad-cors", "--cors-origin", "https://app.example.com/path"],
        state: None,
        expect: "cors_origins 'https://app.example.com/path' is not an origin",
    },
    Case {
        name: "any origin beside others",
        args: &["run", "--service", "bad-cors", "--cors-origin", "*", "--cors-origin", "https://app.example.com"],
        state: None,
        expect: "lists \"*\" with other origins",
    },
    Case {
        name: "unreachable endpoint",
        args: &["run", "--service", "unreachable", "--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1"],
        state: None,
        expect: "cannot reach the endpoint http://127.0.0.1:9",
    },
];

#[tokio::test]
async fn bad_input_exits_2_names_the_fix_and_changes_nothing() {
    // Every case goes through the proxy, which proves no AWS write was made.
    let proxy = Proxy::start(&moto().url(), Rules::default());
    let mut failures = Vec::new();
    for case in CASES {
        let d = Deployment::new("bad-input");
        std::fs::create_dir_all(d.path("empty-site/dist")).unwrap();
        std::fs::create_dir_all(d.path("no-index/dist")).unwrap();
        std::fs::write(d.path("no-index/dist/app.js"), "").unwrap();
        let state_before = case.state.as_ref().map(|fixture| {
            let text = match fixture {
                StateFixture::File(path) => std::fs::read(fixtures().join(path)).unwrap(),
                StateFixture::Json(json) => json.as_bytes().to_vec(),
            };
            std::fs::create_dir_all(d.path(".deployer")).unwrap();
            std::fs::write(d.state_path(), &text).unwrap();
            text
        });
        let outcome = Outcome::from(
            d.command(case.args).args(["--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap(),
        );
        let state_after = std::fs::read(d.state_path()).ok();
        if outcome.code != 2 || !outcome.stderr.contains(case.expect) || state_after != state_before {
            failures.push(format!(
                "{}: exit {}, state {}, stderr: {}",
                case.name,
                outcome.code,
                if state_after == state_before { "untouched" } else { "CHANGED" },
                outcome.stderr.trim()
            ));
        }
    }
    for (name, config, expect) in CONFIG_CASES {
        let d = Deployment::new("bad-config");
        let file = format!("service = \"bad-config\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n{config}\n");
        std::fs::write(d.path("deployer.toml"), file).unwrap();
        let outcome = Outcome::from(
            d.command(&["run", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap(),
        );
        if outcome.code != 2 || !outcome.stderr.contains(expect) || d.state_path().exists() {
            failures.push(format!("{name}: exit {}, stderr: {}", outcome.code, outcome.stderr.trim()));
        }
    }
    assert!(failures.is_empty(), "cases that did not fail cleanly:\n{}", failures.join("\n"));
    assert_eq!(proxy.seen(|s| s.write_count()), 0, "{:?}", proxy.seen(|s| s.writes.clone()));
    // Every service a case names, so that a new case is checked without being listed again.
    let mut services: Vec<&str> = CASES.iter().filter_map(|case| service_named(case.args)).collect();
    services.extend(["other-service", "bad-config"]);
    assert!(services.len() >= 20, "the cases name their services: {services:?}");
    for service in services {
        let found = inventory(service).await;
        assert!(found.tables.is_empty() && found.site_objects.is_empty(), "{service}: nothing was created");
    }
}

/// The service `--service NAME` names in a case's arguments.
fn service_named(args: &[&'static str]) -> Option<&'static str> {
    args.windows(2).find(|pair| pair[0] == "--service").map(|pair| pair[1])
}

/// A wheel of `name` 1.0 in `folder` holding `files` (path, text), as `pip wheel` would make a pure one.
fn wheel(folder: &std::path::Path, name: &str, files: &[(&str, &str)]) {
    tagged_wheel(folder, name, "py3-none-any", files);
}

/// The same with a compatibility tag, e.g. `cp312-cp312-manylinux2014_x86_64` for a compiled one.
fn tagged_wheel(folder: &std::path::Path, name: &str, tag: &str, files: &[(&str, &str)]) {
    let script = r#"
import base64, hashlib, sys, zipfile
folder, name, tag, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
info = f"{name}-1.0.dist-info"
entries = dict(zip(files[0::2], files[1::2]))
entries[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
entries[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n"
def digest(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{p},sha256={digest(t)},{len(t.encode())}\n" for p, t in entries.items()) + f"{info}/RECORD,,\n"
entries[f"{info}/RECORD"] = record
with zipfile.ZipFile(f"{folder}/{name}-1.0-{tag}.whl", "w") as whl:
    for path, text in entries.items():
        whl.writestr(path, text)
"#;
    std::fs::create_dir_all(folder).unwrap();
    let mut command = std::process::Command::new("python3");
    command.args(["-c", script]).arg(folder).arg(name).arg(tag);
    for (path, text) in files {
        command.args([path, text]);
    }
    assert!(command.status().unwrap().success(), "python3 made the wheel {name}");
}

#[tokio::test]
async fn a_requirement_that_installs_nothing_to_import_exits_2_with_nothing_created_then_a_good_one_deploys() {
    let d = Deployment::new("bad-wheel");
    let wheels = d.path("wheels");
    wheel(&wheels, "tinylib", &[("tinylib/__init__.py", "ANSWER = 42\n")]);
    wheel(&wheels, "hollow", &[]);
    std::fs::write(d.path("backend/requirements.txt"), "tinylib==1.0\nhollow==1.0\n").unwrap();
    // pip reads only the local folder: no network here. (The next test installs with uv.)
    let run = |d: &Deployment| {
        let output = d
            .command(&["run", "--service", &d.service, "--output", "json"])
            .env("DEPLOYER_INSTALLER", "pip")
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &wheels)
            .output()
            .unwrap();
        Outcome::from(output)
    };
    let refused = run(&d);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("lists hollow==1.0, but pip installed nothing to import"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("tinylib"), "only the requirement at fault is named: {}", refused.stderr);
    assert!(refused.stderr.contains("nothing was uploaded"), "{}", refused.stderr);
    assert_eq!(inventory(&d.service).await, crate::support::empty_inventory(), "nothing created");
    assert!(!d.state_path().exists(), "no state file");

    std::fs::write(d.path("backend/requirements.txt"), "tinylib==1.0\n").unwrap();
    run(&d).assert_ok();
    assert_eq!(inventory(&d.service).await, crate::support::inventory_without_domain(&d.service));
}

#[test]
fn a_handler_function_missing_from_its_module_exits_2_naming_it() {
    let d = Deployment::new("bad-handler");
    let module = d.path("backend/handlers/api/usage.py");
    let source = std::fs::read_to_string(&module).unwrap().replace("def handler(", "def handle(");
    std::fs::write(&module, source).unwrap();
    let refused = d.run(&["run", "--service", &d.service]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("handlers.api.usage.handler (no `def handler(` in handlers/api/usage.py)"),
        "{}",
        refused.stderr
    );
    assert!(!d.state_path().exists(), "no state file");
}

#[tokio::test]
async fn uv_bundles_a_wheel_for_the_functions_platform_caches_it_and_refuses_one_for_another() {
    crate::support::require_uv();
    let d = Deployment::new("wheel-arch");
    let wheels = d.path("wheels");
    tagged_wheel(&wheels, "fastlib", "cp312-cp312-manylinux2014_x86_64", &[("fastlib/__init__.py", "X = 1\n")]);
    std::fs::write(d.path("backend/requirements.txt"), "fastlib==1.0\n").unwrap();
    let run = |d: &Deployment, args: &[&str], links: &std::path::Path| {
        let mut command = d.command(args);
        command.args(["--output", "json"]).env("DEPLOYER_INSTALLER", "uv");
        command.env("UV_NO_INDEX", "1").env("UV_FIND_LINKS", links);
        let output = command.output().unwrap();
        Outcome::from(output)
    };
    let refused = run(&d, &["run", "--service", &d.service, "--architecture", "arm64"], &wheels);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "uv finds no wheel of fastlib==1.0 for Lambda (manylinux_2_28_aarch64, manylinux2014_aarch64, CPython 3.12)"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(inventory(&d.service).await, crate::support::empty_inventory(), "nothing created");

    run(&d, &["run", "--service", &d.service], &wheels).assert_ok();
    let cache = d.path(".deployer/cache");
    let cached: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.file_name()).collect();
    // Beside the installs, the packages' digests (code-sha256/).
    let cached: Vec<_> = cached.into_iter().filter(|name| name.to_string_lossy().starts_with("pip-")).collect();
    assert_eq!(cached.len(), 1, "one install, keyed by requirements, runtime and platform: {cached:?}");
    let installed = cache.join(&cached[0]);
    assert!(installed.join("fastlib/__init__.py").is_file() && !installed.join(".lock").exists(), "code, no uv lock");
    // A cache hit runs no installer: with no wheel left to find, the next run still builds the same bundle.
    let sha = d.state()["steps"]["02-lambda"]["outputs"]["code_sha256"].clone();
    std::fs::remove_dir_all(&wheels).unwrap();
    let again = run(&d, &["run"], &d.path("no-wheels"));
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "the same bundle, nothing to upload: {:?}", again.changes());
    assert_eq!(d.state()["steps"]["02-lambda"]["outputs"]["code_sha256"], sha);
}

/// Lambda runs python3.12 and later on Amazon Linux 2023 (glibc 2.34): a `manylinux_2_28` wheel is
/// bundled for them, by pip and by uv, and refused for python3.11 (Amazon Linux 2, glibc 2.26).
#[tokio::test]
async fn a_manylinux_2_28_wheel_is_bundled_for_python_3_12_and_refused_for_3_11_by_pip_and_uv() {
    crate::support::require_uv();
    for installer in ["pip", "uv"] {
        let d = Deployment::new(&format!("wheel-glibc-{installer}"));
        let wheels = d.path("wheels");
        let files = [("newlib/__init__.py", "X = 1\n")];
        tagged_wheel(&wheels, "newlib", "py3-none-manylinux_2_28_x86_64", &files);
        std::fs::write(d.path("backend/requirements.txt"), "newlib==1.0\n").unwrap();
        let run = |runtime: &str| {
            run_with_wheels(&d, &["run", "--service", &d.service, "--runtime", runtime], installer, &wheels)
        };
        let old = run("python3.11");
        assert_eq!(old.code, 2, "{installer}: {}", old.stderr);
        assert!(
            old.stderr.contains("finds no wheel of newlib==1.0 for Lambda (manylinux2014_x86_64"),
            "{}",
            old.stderr
        );
        assert!(!d.state_path().exists(), "nothing written");
        run("python3.12").assert_ok();
        let cached: Vec<_> = std::fs::read_dir(d.path(".deployer/cache")).unwrap().flatten().collect();
        assert!(cached.iter().any(|e| e.path().join("newlib/__init__.py").is_file()), "{installer} installed it");
    }
}

/// requirements.txt as pip reads it, for Lambda: a marker for another platform leaves its line out, one
/// for Lambda's keeps it, and a local folder (built here) is bundled, with pip and with uv.
#[tokio::test]
async fn requirements_markers_are_judged_for_lambda_and_a_local_folder_is_built_and_bundled() {
    crate::support::require_uv();
    for installer in ["pip", "uv"] {
        let d = Deployment::new(&format!("reqs-{installer}"));
        let wheels = d.path("wheels");
        tagged_wheel(&wheels, "fastlib", "cp312-cp312-manylinux2014_x86_64", &[("fastlib/__init__.py", "X = 1\n")]);
        local_package(&d.path("backend/vendored/helper"), "helper");
        let requirements = "pywin32>=300; sys_platform == \"win32\"  # Windows only\n\
                            fastlib==1.0 ; python_version >= \"3.12\"\n./vendored/helper\n";
        std::fs::write(d.path("backend/requirements.txt"), requirements).unwrap();
        run_with_wheels(&d, &["run", "--service", &d.service], installer, &wheels).assert_ok();
        let cache: Vec<_> = std::fs::read_dir(d.path(".deployer/cache")).unwrap().flatten().map(|e| e.path()).collect();
        let bundle =
            cache.iter().find(|p| p.join("fastlib").is_dir()).unwrap_or_else(|| panic!("{installer}: {cache:?}"));
        assert!(bundle.join("helper/__init__.py").is_file(), "{installer}: the local folder is built and bundled");
        assert!(!bundle.join("pywin32").exists(), "{installer}: Windows' requirement left out");
    }
}

/// `deployer ARGS --output json` with `installer`, which finds wheels in `wheels` only (no index).
fn run_with_wheels(d: &Deployment, args: &[&str], installer: &str, wheels: &std::path::Path) -> Outcome {
    let mut command = d.command(args);
    command.arg("--output").arg("json").env("DEPLOYER_INSTALLER", installer);
    command.env("UV_NO_INDEX", "1").env("UV_FIND_LINKS", wheels);
    command.env("PIP_NO_INDEX", "1").env("PIP_FIND_LINKS", wheels);
    Outcome::from(command.output().unwrap())
}

/// A package in `folder` whose build needs nothing from an index: its PEP 517 backend is in the folder.
fn local_package(folder: &std::path::Path, name: &str) {
    std::fs::create_dir_all(folder.join(name)).unwrap();
    std::fs::write(folder.join(name).join("__init__.py"), "HELPER = True\n").unwrap();
    let pyproject = format!(
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n\
         [project]\nname = \"{name}\"\nversion = \"1.0\"\n"
    );
    std::fs::write(folder.join("pyproject.toml"), pyproject).unwrap();
    let backend = r#"
import base64, hashlib, os, zipfile
NAME, VERSION = "__NAME__", "1.0"
def _files():
    info = f"{NAME}-{VERSION}.dist-info"
    code = open(os.path.join(NAME, "__init__.py")).read()
    files = {f"{NAME}/__init__.py": code,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    digest = lambda t: base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode()
    files[f"{info}/RECORD"] = "".join(f"{p},sha256={digest(t)},{len(t.encode())}\n" for p, t in files.items()) + f"{info}/RECORD,,\n"
    return files
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, text in _files().items():
            archive.writestr(path, text)
    return wheel
"#;
    std::fs::write(folder.join("backend.py"), backend.replace("__NAME__", name)).unwrap();
}

#[test]
fn a_domain_given_as_a_url_in_capitals_is_read_as_its_dns_name_with_a_note() {
    let d = Deployment::new("domain-url");
    let given = "HTTPS://Domain-Url.COM./";
    let plan = d.command(&["plan", "--service", &d.service, "--domain", given]).output().unwrap();
    let said = String::from_utf8_lossy(&plan.stderr);
    assert!(plan.status.success(), "{said}");
    assert!(said.contains(&format!("note: domain '{given}' read as 'domain-url.com'")), "{said}");
    assert!(said.contains("+ hosted zone domain-url.com (to create)"), "the plan uses the DNS name: {said}");
}
