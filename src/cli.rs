//! The command line.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  deployer init --service new-service --domain new-service.com
  deployer run --service new-service --domain new-service.com
  deployer step 02-lambda
  deployer plan
  deployer resume
  deployer destroy --yes --delete-data
  deployer logs conversation-api --follow
  deployer status --output json
  deployer outputs --format env > .env.production
  deployer completions zsh > ~/.zfunc/_deployer";

#[derive(Debug, Parser)]
#[command(name = "deployer", version, about = "Deploys the serverless backend to AWS, idempotently and resumably", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// The settings file [default: deployer.toml, when it exists]; flags override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,

    /// The state file (checkpoints and recorded IDs); `s3://BUCKET/KEY` keeps it in S3 with a lock, for teams.
    #[arg(long, global = true, default_value = ".deployer/state.json")]
    pub state: PathBuf,

    /// How to report progress and results.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// Show unchanged resources too.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Show only errors, notices and the final summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// After the run, print each AWS operation's calls and time on stderr.
    #[arg(long, global = true)]
    pub timings: bool,

    /// Attempts per AWS request (standard retry mode, with backoff) before a step fails.
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// What changes, as a Markdown table when the command ends (for a pull request; CI summaries).
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every step in order, checking each resource against AWS and fixing what differs.
    #[command(
        after_help = "Examples:\n  deployer run --service new-service --domain new-service.com\n  deployer run          # settings from deployer.toml or the state file\n  deployer run --state s3://team-state/new-service.json"
    )]
    Run(SettingsArgs),
    /// Run one step (e.g. `02-lambda`), with settings and earlier outputs from the state file.
    #[command(
        after_help = "Examples:\n  deployer step 03-api-gateway\n  deployer step 08-verify --verify-http-url http://localhost:8080/prod"
    )]
    Step {
        /// The step ID, as `deployer steps` lists them.
        id: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Check what a first run needs (credentials, python, the backend, dist/, the zone, the certificate),
    /// writing nothing: one line each, with the fix for each failure.
    #[command(
        after_help = "Examples:\n  deployer doctor\n  deployer doctor --service new-service --domain new-service.com"
    )]
    Doctor(SettingsArgs),
    /// Show what `run` would create, update or delete, reading AWS only; writes nothing anywhere.
    #[command(
        after_help = "Examples:\n  deployer plan\n  deployer plan --output json | jq 'select(.event == \"resource\" and .action != \"unchanged\")'"
    )]
    Plan(SettingsArgs),
    /// Delete everything the deployment made, in reverse step order (asks first; --yes when not on a terminal).
    #[command(
        after_help = "Examples:\n  deployer destroy\n  deployer destroy --yes --delete-data --delete-zone   # in CI"
    )]
    Destroy {
        /// Do not ask: required when stdin is not a terminal (CI).
        #[arg(long)]
        yes: bool,
        /// Delete the hosted zone too, if deployer created it (its name servers are then lost).
        #[arg(long)]
        delete_zone: bool,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Print the functions' recent log lines (`--follow` keeps watching, like `sam logs --tail`).
    #[command(after_help = "Examples:\n  deployer logs\n  deployer logs conversation-api --follow --since 1h")]
    Logs {
        /// One function, by suffix (conversation-api) or full name; all six when omitted.
        #[arg(conflicts_with = "api")]
        function: Option<String>,
        /// The APIs' access logs (REST and WebSocket) of the main stage, or of `--stage dev`.
        #[arg(long)]
        api: bool,
        /// Keep printing new lines until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// How far back to start: 90s, 10m, 1h.
        #[arg(long, default_value = "10m")]
        since: String,
        /// At most this many lines per function (before --follow goes on).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only the lines that match this CloudWatch Logs filter pattern (FilterLogEvents' syntax: ERROR,
        /// "exact phrase", ?ERROR ?WARN, { $.level = "error" }).
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Serve the backend locally: the REST and WebSocket APIs, the tables and the frontend, the handlers
    /// run unchanged by Lambda's own runtime client, restarted when a file is saved. Ctrl-C stops it all.
    #[command(
        after_help = "Examples:\n  deployer dev\n  deployer dev --port 8080 --ws-port 8081 --frontend-dev 'npm run dev'\n  deployer dev --tables aws      # the deployed tables, with your credentials\n  deployer dev --port 0 --ws-port 0 --output json   # for scripts: the first line names the ports"
    )]
    Dev {
        /// The REST API's and the frontend's port (0: any free port).
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The WebSocket API's port, which also serves its management API (0: any free port).
        #[arg(long, default_value_t = 3001)]
        ws_port: u16,
        /// Where the handlers' tables are: `local` (an embedded DynamoDB, moto) or `aws` (the deployed ones).
        #[arg(long, value_enum, default_value_t = DevTables::Local)]
        tables: DevTables,
        /// The frontend's own dev server, run in the frontend folder with API_BASE_URL and WS_URL set.
        #[arg(long, value_name = "CMD")]
        frontend_dev: Option<String>,
        /// The settings (`--stage` names the local stage, `dev` by default).
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// List the releases (each `run` that changed what is live), newest first, the live one marked `*`.
    #[command(after_help = "Examples:\n  deployer releases\n  deployer releases --output json | jq '.releases[0]'")]
    Releases(SettingsArgs),
    /// Return to an earlier release at once: every function's alias back on its version, the REST stage
    /// on its deployment (tables keep their data; the site stays). Asks first; --yes when not on a terminal.
    #[command(
        after_help = "Examples:\n  deployer rollback            # to the release before the live one\n  deployer rollback 7 --yes"
    )]
    Rollback {
        /// The release's number, as `deployer releases` lists it; default: the one before the live one.
        release: Option<u32>,
        /// Do not ask: required when stdin is not a terminal (CI).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Continue from the first step that is not done (skipping finished ones), with the recorded settings.
    Resume,
    /// Show each step's status and recorded outputs.
    Status,
    /// List the steps with their manual sections.
    Steps,
    /// Write a commented deployer.toml with the manual's settings (never overwrites one).
    #[command(after_help = "Example:\n  deployer init --service new-service --domain new-service.com")]
    Init {
        /// Service name, the prefix of every resource name.
        #[arg(long)]
        service: String,
        /// The apex domain the service is served under.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Remove the lock of a remote state (`--state s3://…`) left by a run that died; it must be this one.
    #[command(after_help = "Example:\n  deployer unlock 3f9a1c8b2e4d --state s3://team-state/new-service.json")]
    Unlock {
        /// The lock's ID, as the error of a refused run names it.
        lock_id: String,
    },
    /// Print the JSON Schema of deployer.toml, for editors: `deployer schema > deployer.schema.json`.
    Schema,
    /// Print a shell completion script: `deployer completions bash > /etc/bash_completion.d/deployer`.
    Completions { shell: clap_complete::Shell },
    /// Print the deployment's URLs and names (`--format env` for a .env.production file).
    Outputs {
        /// `text`, or `env` for KEY=value lines the frontend build and scripts can source.
        #[arg(long, value_enum, default_value_t = OutputsFormat::Text)]
        format: OutputsFormat,
    },
}

impl Command {
    /// Whether the command writes the state (it then holds the lock of a remote state).
    pub fn writes_state(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Step { .. }
                | Command::Resume
                | Command::Destroy { .. }
                | Command::Rollback { .. }
        )
    }

    /// Whether it reads the state.
    pub fn reads_state(&self) -> bool {
        self.writes_state()
            || matches!(
                self,
                Command::Plan(_)
                    | Command::Doctor(_)
                    | Command::Status
                    | Command::Outputs { .. }
                    | Command::Logs { .. }
                    | Command::Dev { .. }
                    | Command::Releases(_)
            )
    }

    /// Its `--region` and `--endpoint-url`, which also reach a remote state.
    pub fn settings(&self) -> Option<&SettingsArgs> {
        match self {
            Command::Run(s) | Command::Plan(s) | Command::Doctor(s) | Command::Releases(s) => Some(s),
            Command::Step { settings, .. }
            | Command::Rollback { settings, .. }
            | Command::Destroy { settings, .. }
            | Command::Logs { settings, .. }
            | Command::Dev { settings, .. } => Some(settings),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DevTables {
    Local,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputsFormat {
    Text,
    Env,
}

/// Settings of the service; recorded in the state file, so later commands need not repeat them.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// Service name, the prefix of every resource name (e.g. new-service).
    #[arg(long)]
    pub service: Option<String>,
    /// The apex domain the service is served under (e.g. new-service.com).
    #[arg(long)]
    pub domain: Option<String>,
    /// API Gateway stage name [default: prod].
    #[arg(long)]
    pub stage: Option<String>,
    /// AWS region [default: AWS_REGION or the profile's region, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// The Python backend folder (handlers/ src/ lib/ utils/, requirements.txt) [default: backend].
    #[arg(long)]
    pub backend: Option<PathBuf>,
    /// The frontend folder (its built site in dist/) [default: frontend].
    #[arg(long)]
    pub frontend: Option<PathBuf>,
    /// The functions' processor: x86_64 or arm64 (Graviton) [default: x86_64].
    #[arg(long)]
    pub architecture: Option<String>,
    /// Lambda runtime [default: python3.12].
    #[arg(long)]
    pub runtime: Option<String>,
    /// Stage throttling: steady requests per second [default: 100].
    #[arg(long)]
    pub throttle_rate: Option<u32>,
    /// Stage throttling: burst of requests [default: 200].
    #[arg(long)]
    pub throttle_burst: Option<u32>,
    /// A command run in the frontend folder before dist/ is uploaded, e.g. "npm run build" [default: none].
    #[arg(long)]
    pub frontend_build: Option<String>,
    /// CloudFront price class: PriceClass_100, PriceClass_200 or PriceClass_All [default: PriceClass_100].
    #[arg(long)]
    pub price_class: Option<String>,
    /// Days the functions' log groups keep their events: 1, 3, 5, 7, 14, 30, 60, 90, ... [default: 30].
    #[arg(long)]
    pub log_retention_days: Option<i32>,
    /// Answer 403/404 with index.html, for single-page apps (false: error.html) [default: true].
    #[arg(long)]
    pub spa_fallback: Option<bool>,
    /// How long to wait for the certificate's DNS validation: 90s, 45m, 1h [default: 45m].
    #[arg(long)]
    pub cert_wait: Option<String>,
    /// An origin the REST API allows (CORS); repeat for several, "*" for any [default: https://DOMAIN,
    /// https://www.DOMAIN and the CloudFront URL].
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// An origin the dev stage allows besides; repeat for several [default: http://localhost:5173].
    #[arg(long = "dev-cors-origin", value_name = "ORIGIN")]
    pub dev_cors_origins: Vec<String>,
    /// Send every AWS request to this endpoint (e.g. a local moto); AWS_ENDPOINT_URL works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// 08-verify: send the HTTP smoke test to this base URL instead of the deployed API (not recorded).
    #[arg(long)]
    pub verify_http_url: Option<String>,
    /// 08-verify: send the WebSocket smoke test to this URL instead of the deployed API (not recorded).
    #[arg(long)]
    pub verify_ws_url: Option<String>,
    /// Delete tables that hold items: on `destroy` every table, on `run` those deployer.toml no longer
    /// has (kept otherwise). Back them up first. Not recorded.
    #[arg(long)]
    pub delete_data: bool,
    /// The changed functions take this share of traffic first, watched on CloudWatch, then all of it or
    /// none: "10%:5m", stages "10%:5m,50%:5m", or "off" [default: deployer.toml's [release] canary].
    /// Not recorded.
    #[arg(long, value_name = "SHARE:DURATION")]
    pub canary: Option<String>,
}
