//! Apache Velocity 1.7, the engine API Gateway runs mapping templates with, as one long-lived Java process
//! per test process (`tests/velocity/MappingTemplate.java`, Debian's `velocity` package and a JDK, which
//! `make test` installs where it can). Without them a test that needs the engine fails, saying how to get it.

use aws_smithy_types::base64;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Where Debian's `velocity` package and its dependencies put their jars; `DEPLOYER_VELOCITY_CLASSPATH`
/// names others.
const DEBIAN_CLASSPATH: &str =
    "/usr/share/java/velocity.jar:/usr/share/java/commons-collections3.jar:/usr/share/java/commons-lang.jar";
const INSTALL: &str = "`make test` installs them as root on Debian; else `sudo apt-get install velocity \
                       default-jdk-headless`, or set DEPLOYER_VELOCITY_CLASSPATH to Velocity 1.7's jars";

pub struct Engine {
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Mutex<Child>,
}

/// One evaluation's inputs: what API Gateway puts in `$input`, `$stageVariables` and `$context`.
#[derive(Default, Clone)]
pub struct Request {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub path: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    pub context: Vec<(String, String)>,
    pub body: String,
}

/// What the template produced: its text, and what it set in `$context.responseOverride`.
#[derive(Debug)]
pub struct Rendered {
    pub body: String,
    pub status: Option<String>,
    pub headers: BTreeMap<String, String>,
}

fn classpath() -> String {
    std::env::var("DEPLOYER_VELOCITY_CLASSPATH").unwrap_or_else(|_| DEBIAN_CLASSPATH.to_string())
}

fn available() -> Result<(), String> {
    let missing: Vec<String> =
        classpath().split(':').filter(|jar| !Path::new(jar).exists()).map(String::from).collect();
    if !missing.is_empty() {
        return Err(format!("Velocity's jars are missing ({})", missing.join(", ")));
    }
    let java = Command::new("java").arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match java {
        Ok(status) if status.success() => Ok(()),
        _ => Err("no `java` on PATH".to_string()),
    }
}

/// The engine; a test that needs it fails, naming how to install it, where it is missing.
pub fn engine() -> &'static Engine {
    match engine_if_installed() {
        Ok(engine) => engine,
        Err(why) => panic!("this test runs API Gateway's template engine, and {why}: {INSTALL}"),
    }
}

/// The engine, or why it is not here. The strict proxy checks templates with it where it is installed
/// (the benchmark's simulated AWS runs without it); the tests that exist for the engine call `engine()`.
pub fn engine_if_installed() -> Result<&'static Engine, &'static str> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE.get_or_init(|| available().map(|()| Engine::start())).as_ref().map_err(String::as_str)
}

fn field(kind: &str, key: &str, value: &str) -> String {
    format!("{kind} {} {}\n", base64::encode(key), base64::encode(value))
}

impl Engine {
    fn start() -> Engine {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/velocity/MappingTemplate.java");
        let mut child = Command::new("java")
            .args(["-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", &classpath()])
            .arg(source)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start java with Velocity");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Engine { io: Mutex::new((stdin, stdout)), _child: Mutex::new(child) }
    }

    /// Runs `template` as API Gateway would for `request`; `Err` carries Velocity's reason.
    pub fn render(&self, template: &str, request: &Request) -> Result<Rendered, String> {
        let mut message = format!("template {}\n", base64::encode(template));
        for (kind, pairs) in [
            ("header", &request.headers),
            ("query", &request.query),
            ("path", &request.path),
            ("stage", &request.stage_variables),
            ("context", &request.context),
        ] {
            message.extend(pairs.iter().map(|(k, v)| field(kind, k, v)));
        }
        message.push_str(&format!("body {}\nrun\n", base64::encode(&request.body)));
        let mut io = self.io.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (stdin, stdout) = &mut *io;
        stdin.write_all(message.as_bytes()).and_then(|_| stdin.flush()).expect("write to the Velocity process");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read from the Velocity process");
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("Velocity answered {line:?}: {e}"));
        if answer["ok"] != true {
            return Err(answer["error"].as_str().unwrap_or("no reason").to_string());
        }
        let headers = answer["headers"].as_object().into_iter().flatten();
        Ok(Rendered {
            body: answer["body"].as_str().unwrap_or_default().to_string(),
            status: answer["status"].as_str().map(String::from),
            headers: headers.map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect(),
        })
    }

    /// Whether Velocity parses (and can run, on an empty request) `template`.
    pub fn parses(&self, template: &str) -> Result<(), String> {
        self.render(template, &Request::default()).map(|_| ())
    }
}

#[test]
fn velocity_refuses_a_method_call_on_a_string_literal_and_runs_the_same_test_on_a_variable() {
    let engine = engine();
    let literal = r#"#if(",a,b,".contains(",a,"))yes#end"#;
    let error = engine.parses(literal).unwrap_err();
    assert!(error.contains("ParseErrorException") && error.contains("line 1"), "{error}");
    let variable = r##"#set($list = ",a,b,")#if($list.contains(",$!stageVariables.x,"))yes#{else}no#end"##;
    let request = Request { stage_variables: vec![("x".into(), "a".into())], ..Request::default() };
    assert_eq!(engine.render(variable, &request).unwrap().body, "yes");
    assert_eq!(engine.render(variable, &Request::default()).unwrap().body, "no");
}
