//! The `Step` abstraction: one section of the manual, with a stable ID used as the checkpoint key.

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::aws::Clients;
use crate::ensure::Recorder;
use crate::error::InputError;
use crate::outputs::Output;
use crate::settings::Settings;

/// Outputs recorded by each step, keyed by step ID then output name.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// What a step may read: the settings, the shared clients, earlier steps' outputs.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub aws: &'a Clients,
    pub outputs: &'a Outputs,
    /// The state file's folder: caches (e.g. pip installs) live beside it.
    pub work_dir: &'a Path,
    /// The steps this run has already compared with AWS (run, or looked at and found unchanged).
    pub compared: &'a BTreeSet<String>,
}

impl Context<'_> {
    pub fn name(&self, suffix: &str) -> String {
        crate::names::resource(&self.settings.service, suffix)
    }

    /// An output of an earlier step; the runner checks `requires()` before a step runs, so a missing
    /// one means the state file was edited by hand.
    pub fn output(&self, step: &str, key: &str) -> Result<&str> {
        self.outputs.get(step).and_then(|o| o.get(key)).map(String::as_str).ok_or_else(|| {
            anyhow!("output '{key}' of step {step} is missing from the state file: run `deployer step {step}`")
        })
    }

    /// An output another step records (see [`crate::outputs`]); missing, the error names the step to run.
    pub fn get(&self, output: &Output) -> Result<&str> {
        self.output(output.step, &output.key)
    }

    /// An output that may not exist yet (a step that reads a later one's, as 05 reads 06's domains).
    pub fn get_optional(&self, output: &Output) -> Option<&str> {
        self.outputs.get(output.step).and_then(|o| o.get(output.key.as_ref())).map(String::as_str)
    }

    /// What the APIs invoke of a function: its alias `live`, which is also the qualifier of the permission
    /// that lets them.
    pub fn invoke_target(&self, suffix: &str) -> Result<(String, &'static str)> {
        let function_arn = self.get(&crate::outputs::function_arn(suffix))?;
        Ok((crate::names::alias_arn(function_arn), crate::names::LIVE_ALIAS))
    }
}

// Steps run one after another on the runner's thread, so their futures need not be `Send`.
#[async_trait(?Send)]
pub trait Step {
    /// Stable checkpoint key, e.g. "01-dynamodb".
    fn id(&self) -> &'static str;
    /// The manual section it implements, e.g. "2.1 DynamoDB tables".
    fn title(&self) -> &'static str;
    /// Steps whose outputs this one reads.
    fn requires(&self) -> &'static [&'static str] {
        &[]
    }
    /// Steps whose outputs this one uses when they exist, without needing them (05 serves 06's custom
    /// domains once they exist). They count in the fingerprint, so the runner re-runs this step when they
    /// change later in the same run.
    fn reads(&self) -> &'static [&'static str] {
        &[]
    }
    /// The settings this step reads, by their names in the state file; `None` (the default) for all. Only
    /// these (with `service`, `region` and `endpoint_url`) count in its fingerprint, so a changed setting
    /// makes `resume` re-run exactly the steps it affects.
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        None
    }
    /// Checks the inputs without calling AWS, before any step of the run starts.
    fn validate(&self, _settings: &Settings) -> Result<(), InputError> {
        Ok(())
    }
    /// Builds what the step makes from local files (the code bundle) before anything is written, so that a
    /// bad input is refused (exit 2) with nothing created; `work_dir` is the state file's folder (caches).
    fn prepare(&self, _settings: &Settings, _work_dir: &Path) -> Result<()> {
        Ok(())
    }
    /// A digest of inputs beyond the settings and earlier outputs (e.g. the code bundle), so that the
    /// runner re-runs the step when they change.
    async fn input_digest(&self, _ctx: &Context<'_>) -> Result<String> {
        Ok(String::new())
    }
    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()>;
    /// Whether the step needs only the outputs of the steps it requires, not the end of their work: it may
    /// start once they have recorded them all (see [`Recorder::outputs_complete`]), beside what they have
    /// left (03's and 04's invoke permissions, which only `08-verify`'s requests need).
    fn starts_on_outputs(&self) -> bool {
        false
    }
    /// Whether the step has work that needs no earlier step and waits long on AWS (06's certificate:
    /// minutes of DNS validation), worth starting at the beginning of a run.
    fn has_head_start(&self, _settings: &Settings) -> bool {
        false
    }
    /// That work. When the step has not finished, the runner starts it beside the steps before this one,
    /// so that its wait overlaps theirs; `run` later finds it done. It records as `run` does and must be
    /// as safe to repeat or to stop at any moment.
    async fn head_start(&self, _ctx: &Context<'_>, _recorder: &dyn Recorder) -> Result<()> {
        Ok(())
    }
    /// In a plan, whether the step can be planned on top of resources an earlier step is yet to create
    /// (it takes their planned IDs); otherwise the plan skips it, saying so.
    fn plans_past_new(&self) -> bool {
        false
    }
    /// A step that only reads AWS (08-verify): it runs as itself when the runner checks done steps.
    fn read_only(&self) -> bool {
        false
    }
    /// Before `destroy` deletes anything: refuses what needs the user's explicit consent (a table with
    /// data, a zone deployer did not create), so that a refused destroy leaves everything in place.
    async fn check_teardown(&self, _ctx: &Context<'_>, _teardown: &Teardown) -> Result<()> {
        Ok(())
    }
    /// Deletes what `run` made, found by recorded ID or by name; what is already gone is skipped, so a killed
    /// destroy runs again. Steps are torn down in reverse order.
    async fn destroy(&self, _ctx: &Context<'_>, _teardown: &Teardown, _recorder: &dyn Recorder) -> Result<()> {
        Ok(())
    }
}

/// What `destroy` may delete beyond the resources deployer made and that hold nothing of the user's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Teardown {
    /// Delete the hosted zone too (only one deployer created).
    pub delete_zone: bool,
    /// Delete tables that hold items.
    pub delete_data: bool,
}
