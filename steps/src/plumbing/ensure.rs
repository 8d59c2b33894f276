//! The one idiom every step uses for every AWS resource:
//! look it up (by the ID recorded in state, else by name), create it if missing, record its ID at once,
//! then update only the fields that differ from what the step wants.

use anyhow::{anyhow, Result};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

use crate::error::NoAnswer;
use crate::retry::{retry_while, Attempt, Patience};

/// What ensuring a resource did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "fields", rename_all = "snake_case")]
pub enum Change {
    Created,
    /// The fields that were (or, in a plan, would be) brought back in line.
    Updated(Vec<Field>),
    Unchanged,
    /// Removed because it is no longer wanted (e.g. a site file deleted from `dist/`).
    Deleted,
}

/// A field that differs: its name and, where the resource can show them, its live and wanted values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Values longer than this are shown by a digest: a plan line stays readable.
const LONGEST_SHOWN_VALUE: usize = 120;

impl Field {
    pub fn with_values(name: &str, from: &str, to: &str) -> Field {
        Field { name: name.to_string(), from: Some(shown(from)), to: Some(shown(to)) }
    }
}

/// A value as a plan line shows it: as it is when short, else its length and the start of its SHA-256.
fn shown(value: &str) -> String {
    if value.chars().count() <= LONGEST_SHOWN_VALUE {
        return value.to_string();
    }
    use sha2::Digest as _;
    let digest = crate::package::hex(&sha2::Sha256::digest(value.as_bytes()));
    format!("({} chars, sha256 {})", value.chars().count(), &digest[..8])
}

impl From<&str> for Field {
    fn from(name: &str) -> Field {
        Field { name: name.to_string(), from: None, to: None }
    }
}

/// `memory 512 → 1024`, or the name alone.
impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.from, &self.to) {
            (Some(from), Some(to)) => write!(f, "{} {from} → {to}", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

/// Variables as a plan line shows them: `NAME=value` for each name, each value cut (`(unset)` where
/// there is none).
pub fn variables_shown(names: &[&String], value: impl Fn(&str) -> Option<String>) -> String {
    let pair = |name: &&String| format!("{name}={}", value(name).map_or_else(|| "(unset)".to_string(), |v| cut(&v)));
    names.iter().map(pair).collect::<Vec<_>>().join(" ")
}

/// One value of several in a field (a variable's), cut to 40 characters with its length: the field's
/// line shows which changed and how, not every character.
fn cut(value: &str) -> String {
    let length = value.chars().count();
    if length <= 40 {
        return value.to_string();
    }
    format!("{}…({length} chars)", value.chars().take(24).collect::<String>())
}

/// The fields of a change, as one line: "memory 512 → 1024, code".
pub fn fields_line(fields: &[Field]) -> String {
    fields.iter().map(Field::to_string).collect::<Vec<_>>().join(", ")
}

/// The runner's side of a step: persists IDs and reports changes. Steps never print and never write the
/// state file themselves.
pub trait Recorder {
    /// A value this step recorded in an earlier, possibly interrupted, run.
    fn recorded(&self, key: &str) -> Option<String>;
    /// Persists `key = value` in the state file now (atomically), so that a kill right after a create
    /// leaves the new resource's ID behind.
    fn record(&self, key: &str, value: &str) -> Result<()>;
    fn report(&self, resource: &str, change: &Change);
    /// Something the user must know or do (e.g. the name servers to give the registrar).
    fn notice(&self, message: &str);
    /// Every output a later step reads is recorded; what the step has left to do (invoke permissions)
    /// no later step needs but `08-verify`. Steps that [`Step::starts_on_outputs`] may begin beside it.
    ///
    /// [`Step::starts_on_outputs`]: crate::Step::starts_on_outputs
    fn outputs_complete(&self) {}
    /// True for `plan` and `08-verify`'s drift check: look and report, never create, update or delete.
    /// [`ensure`] honours it; a step that writes outside `ensure` must check it.
    fn planning(&self) -> bool {
        false
    }
}

/// In a plan, a resource that does not exist yet: what the step would build on it cannot be looked up,
/// so the step stops there and the plan goes on with the next step.
#[derive(Debug)]
pub struct NotYetCreated {
    pub labels: Vec<String>,
}

impl std::fmt::Display for NotYetCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not created yet: {}; what is built on it is listed once it exists", self.labels.join(", "))
    }
}

impl std::error::Error for NotYetCreated {}

/// A failure after the resource was made: it exists but is not usable (a function that ended `Failed`).
/// `ensure` reports it as it is, instead of looking the resource up again as after a lost answer, which
/// would take the broken resource for a success.
#[derive(Debug)]
pub struct AfterCreate(pub anyhow::Error);

impl std::fmt::Display for AfterCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for AfterCreate {}

/// A resource's first look, taken already by its step (one read serving several resources, or a step
/// deciding on it first); later looks ask AWS again.
pub struct Prefetched<T>(std::cell::RefCell<Option<Option<T>>>);

impl<T> Prefetched<T> {
    /// Nothing read yet: the first look asks AWS.
    pub fn none() -> Self {
        Prefetched(std::cell::RefCell::new(None))
    }
    /// What the step found: `None` when it found no such resource.
    pub fn of(found: Option<T>) -> Self {
        Prefetched(std::cell::RefCell::new(Some(found)))
    }
    /// The prefetched look, once.
    pub fn take(&self) -> Option<Option<T>> {
        self.0.borrow_mut().take()
    }
    pub fn set(&self, found: Option<T>) {
        *self.0.borrow_mut() = Some(found);
    }
}

/// One AWS resource as a step wants it.
// Steps run on one thread (the runner awaits them in order), so their futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Resource {
    /// What AWS reports about the resource.
    type Live;

    /// For people: "table new-service-conversations".
    fn label(&self) -> String;
    /// The state-file key its ID is recorded under; `None` (the default) for resources found by a natural
    /// key (a name, a resource path, a route key) that need no recorded ID to be found again.
    fn key(&self) -> Option<String> {
        None
    }
    /// Looks the resource up: by `recorded` ID first when there is one, else by name. Never creates.
    async fn find(&self, recorded: Option<&str>) -> Result<Option<Self::Live>>;
    /// Creates it with the fewest calls that give it an ID; [`Resource::update`] converges the rest.
    async fn create(&self) -> Result<Self::Live>;
    fn id(&self, live: &Self::Live) -> String;
    /// The fields whose live value differs from the wanted one; none for resources with nothing to update.
    fn differences(&self, _live: &Self::Live) -> Result<Vec<&'static str>> {
        Ok(Vec::new())
    }
    /// A differing field's (live, wanted) values as people read them, for the plan and the run's report;
    /// `None` (the default) shows the field's name alone.
    fn values(&self, _live: &Self::Live, _field: &str) -> Option<(String, String)> {
        None
    }
    /// In a plan, what the resource would look like once created, when that is known without creating it
    /// (a role's ARN): lets the plan go on to what depends on it. `None` stops the step's plan there.
    fn planned(&self) -> Option<Self::Live> {
        None
    }
    /// In a plan, true when the resource hangs on one that does not exist yet (whose ID is [`PLANNED`]): it
    /// cannot exist either, so it is not looked up.
    fn under_planned(&self) -> bool {
        false
    }
    /// Deletes it, with what only it holds (a role's policies); for `destroy`.
    async fn delete(&self, _live: Self::Live) -> Result<()> {
        Err(anyhow!("{} cannot be deleted by deployer: delete it by hand", self.label()))
    }
    /// Brings the named fields in line and returns the resource as it is now.
    async fn update(&self, _live: Self::Live, fields: &[&'static str]) -> Result<Self::Live> {
        Err(anyhow!(
            "{} cannot be updated in place ({} differ): delete it and run again",
            self.label(),
            fields.join(", ")
        ))
    }
}

/// `destroy`'s counterpart of [`ensure`]: finds the resource the same way and deletes it; what is
/// already gone is left alone, so a killed destroy can simply run again.
pub async fn remove<R: Resource>(resource: &R, recorder: &dyn Recorder) -> Result<()> {
    let recorded = resource.key().and_then(|k| recorder.recorded(&k));
    if let Some(live) = resource.find(recorded.as_deref()).await? {
        // A plan reports it as to delete and leaves it.
        if !recorder.planning() {
            resource.delete(live).await?;
        }
        recorder.report(&resource.label(), &Change::Deleted);
    }
    Ok(())
}

/// Records an output only when its value changed, so a run that changes nothing writes no state file.
pub fn record_if_changed(recorder: &dyn Recorder, key: &str, value: &str) -> Result<()> {
    if recorder.recorded(key).as_deref() == Some(value) {
        return Ok(());
    }
    recorder.record(key, value)
}

/// A token for a request AWS accepts once ever (a caller reference, an idempotency token): the one
/// recorded under `key`, else a new one, recorded before the request is sent. A retry after a lost answer
/// or a kill reuses it, so AWS recognises the request; once the step's record goes (`destroy`), the next
/// creation gets a new one, which AWS has never seen.
pub fn recorded_token(recorder: &dyn Recorder, key: &str, length: usize) -> Result<String> {
    if let Some(token) = recorder.recorded(key).filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let token = crate::names::unique_token(length);
    recorder.record(key, &token)?;
    Ok(token)
}

/// The ID a plan gives what does not exist yet, so that what hangs on it can be planned too.
pub const PLANNED: &str = "(planned)";

pub fn is_planned(id: &str) -> bool {
    id == PLANNED
}

/// How a create that failed, with the resource still not found, is tried again: for a passing fault the
/// SDK's own retries did not outlast, for up to twenty seconds.
const CREATE_AGAIN: Patience =
    Patience { first: Duration::from_millis(200), max: Duration::from_millis(1600), limit: Duration::from_secs(20) };

pub async fn ensure<R: Resource>(resource: &R, recorder: &dyn Recorder) -> Result<R::Live> {
    if recorder.planning() {
        return plan(resource, recorder).await;
    }
    let key = resource.key();
    let recorded = key.as_deref().and_then(|k| recorder.recorded(k));
    let (mut live, created) = match resource.find(recorded.as_deref()).await? {
        Some(live) => (live, false),
        None => (create_or_find(resource, recorded.as_deref()).await?, true),
    };
    let id = resource.id(&live);
    if let Some(key) = key.filter(|_| recorded.as_deref() != Some(id.as_str())) {
        recorder.record(&key, &id)?;
    }
    let fields = resource.differences(&live)?;
    let shown = described(resource, &live, &fields);
    if !fields.is_empty() {
        live = resource.update(live, &fields).await?;
    }
    let change = match (created, fields.is_empty()) {
        (true, _) => Change::Created,
        (false, true) => Change::Unchanged,
        (false, false) => Change::Updated(shown),
    };
    recorder.report(&resource.label(), &change);
    Ok(live)
}

/// [`ensure`] without writing: reports what it would do and returns the resource as it is.
async fn plan<R: Resource>(resource: &R, recorder: &dyn Recorder) -> Result<R::Live> {
    let recorded = resource.key().and_then(|k| recorder.recorded(&k));
    let found = if resource.under_planned() { None } else { resource.find(recorded.as_deref()).await? };
    let Some(live) = found else {
        recorder.report(&resource.label(), &Change::Created);
        let planned = resource.planned().ok_or_else(|| NotYetCreated { labels: vec![resource.label()] })?;
        if let Some(key) = resource.key() {
            // The plan's recorder keeps this in memory only, for what the plan looks at next.
            recorder.record(&key, &resource.id(&planned))?;
        }
        return Ok(planned);
    };
    let fields = resource.differences(&live)?;
    let change =
        if fields.is_empty() { Change::Unchanged } else { Change::Updated(described(resource, &live, &fields)) };
    recorder.report(&resource.label(), &change);
    Ok(live)
}

/// Each differing field with its values where the resource shows them.
fn described<R: Resource>(resource: &R, live: &R::Live, fields: &[&'static str]) -> Vec<Field> {
    let field = |name: &&str| match resource.values(live, name) {
        Some((from, to)) => Field::with_values(name, &from, &to),
        None => Field::from(*name),
    };
    fields.iter().map(field).collect()
}

/// Creates the resource; when the create fails, looks for it again before anything else, because the
/// service may have made it and only the answer was lost: retrying blindly would make a second one of
/// the resources without an idempotency token (a REST API). Not found: the create is tried again.
async fn create_or_find<R: Resource>(resource: &R, recorded: Option<&str>) -> Result<R::Live> {
    let attempt = || async {
        match resource.create().await {
            Ok(live) => Ok(live),
            Err(failure) if failure.is::<AfterCreate>() => Err(Attempt::Stop(failure)),
            Err(failure) => match resource.find(recorded).await {
                Ok(Some(live)) => Ok(live),
                Ok(None) => Err(Attempt::Again(failure)),
                Err(lookup) => Err(Attempt::Stop(lookup)),
            },
        }
    };
    retry_while(CREATE_AGAIN, attempt, Attempt::again).await.map_err(|failed| match failed {
        // The marker has kept the create from being tried again; the cause goes on as it is, still typed
        // (an endpoint's silence is a NoAnswer the runner names).
        Attempt::Again(failure) | Attempt::Stop(failure) => match failure.downcast::<AfterCreate>() {
            Ok(after) => after.0,
            Err(failure) => failure,
        },
    })
}

/// How many ensures one `all` keeps in flight at once. Each may wait on AWS for seconds (a function's
/// `Pending`, a table's `CREATING`) between its requests, so this is well above the requests per second
/// the quotas allow: the pacer, not this, holds the rate.
pub const CONCURRENCY: usize = 48;

/// Runs independent ensures concurrently (at most [`CONCURRENCY`] at once), returns their results in
/// order, and lets every one finish even when another fails: dropping an in-flight create could leave a
/// resource in AWS whose ID never reached the state file.
pub async fn all<T>(work: impl IntoIterator<Item = impl Future<Output = Result<T>>>) -> Result<Vec<T>> {
    all_at_most(CONCURRENCY, work).await
}

/// [`all`], with at most `at_once` in flight: for ensures of one request each, which a few keep at the
/// quota's rate, so that they do not queue seconds of requests at the pacer ahead of other work's.
pub async fn all_at_most<T>(
    at_once: usize,
    work: impl IntoIterator<Item = impl Future<Output = Result<T>>>,
) -> Result<Vec<T>> {
    let mut done = Vec::new();
    let mut errors = Vec::new();
    // Unordered, so that one slow ensure does not hold the others' places; put back in order after.
    let indexed = stream::iter(work.into_iter().enumerate().map(|(i, w)| async move { (i, w.await) }));
    let mut results: Vec<(usize, Result<T>)> = indexed.buffer_unordered(at_once).collect().await;
    results.sort_by_key(|(i, _)| *i);
    let results = results.into_iter().map(|(_, result)| result);
    for result in results {
        match result {
            Ok(value) => done.push(value),
            Err(err) => errors.push(err),
        }
    }
    let not_yet_created: Vec<String> = errors
        .iter()
        .filter_map(|e| e.downcast_ref::<NotYetCreated>())
        .flat_map(|n| n.labels.iter().cloned())
        .collect();
    if !errors.is_empty() && errors.iter().all(|e| e.is::<NotYetCreated>()) {
        return Err(NotYetCreated { labels: not_yet_created }.into());
    }
    match errors.len() {
        0 => Ok(done),
        1 => Err(errors.remove(0)),
        // An endpoint gone silent fails every call in flight: one of them, still typed, lets the runner
        // name the endpoint and the timeout instead of listing the same failure n times.
        n if errors.iter().all(|e| e.is::<NoAnswer>()) => {
            Err(errors.remove(0).context(format!("{n} calls got no answer in time; the first")))
        }
        n => {
            let messages: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
            Err(anyhow!("{n} resources failed:\n  - {}", messages.join("\n  - ")))
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_fields_values_are_shown_whole_when_short_and_cut_or_digested_when_long() {
        let memory = Field::with_values("memory", "512 MB", "1024 MB");
        assert_eq!(memory.to_string(), "memory 512 MB → 1024 MB");
        let long = "x".repeat(130);
        let digested = Field::with_values("policy", &long, "y").to_string();
        assert!(digested.starts_with("policy (130 chars, sha256 ") && digested.ends_with(") → y"), "{digested}");
        let (a, b) = ("A".to_string(), "B".to_string());
        let values = |name: &str| (name == "A").then(|| "v".repeat(50));
        assert_eq!(variables_shown(&[&a, &b], values), format!("A={}…(50 chars) B=(unset)", "v".repeat(24)));
    }

    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Memory {
        values: RefCell<BTreeMap<String, String>>,
        reports: RefCell<Vec<Change>>,
        planning: bool,
    }

    impl Recorder for Memory {
        fn recorded(&self, key: &str) -> Option<String> {
            self.values.borrow().get(key).cloned()
        }
        fn record(&self, key: &str, value: &str) -> Result<()> {
            self.values.borrow_mut().insert(key.into(), value.into());
            Ok(())
        }
        fn report(&self, _: &str, change: &Change) {
            self.reports.borrow_mut().push(change.clone());
        }
        fn notice(&self, _: &str) {}
        fn planning(&self) -> bool {
            self.planning
        }
    }

    /// A fake resource whose "AWS" is a cell: (id, size).
    struct Disk<'a> {
        aws: &'a RefCell<Option<(String, u32)>>,
        want_size: u32,
        creates: RefCell<u32>,
    }

    impl Resource for Disk<'_> {
        type Live = (String, u32);
        fn label(&self) -> String {
            "disk d".into()
        }
        fn key(&self) -> Option<String> {
            Some("disk_id".into())
        }
        async fn find(&self, _: Option<&str>) -> Result<Option<Self::Live>> {
            Ok(self.aws.borrow().clone())
        }
        async fn create(&self) -> Result<Self::Live> {
            *self.creates.borrow_mut() += 1;
            let live = (format!("d-{}", self.creates.borrow()), 1);
            *self.aws.borrow_mut() = Some(live.clone());
            Ok(live)
        }
        fn id(&self, live: &Self::Live) -> String {
            live.0.clone()
        }
        fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
            Ok(if live.1 == self.want_size { vec![] } else { vec!["size"] })
        }
        async fn delete(&self, _: Self::Live) -> Result<()> {
            *self.aws.borrow_mut() = None;
            Ok(())
        }
        async fn update(&self, live: Self::Live, _: &[&'static str]) -> Result<Self::Live> {
            let now = (live.0, self.want_size);
            *self.aws.borrow_mut() = Some(now.clone());
            Ok(now)
        }
    }

    #[tokio::test]
    async fn creates_once_records_then_converges_and_is_a_no_op_afterwards() {
        let aws = RefCell::new(None);
        let disk = Disk { aws: &aws, want_size: 5, creates: RefCell::new(0) };
        let memory = Memory::default();

        let first = ensure(&disk, &memory).await.unwrap();
        assert_eq!(first, ("d-1".to_string(), 5));
        assert_eq!(memory.recorded("disk_id").as_deref(), Some("d-1"));

        let second = ensure(&disk, &memory).await.unwrap();
        assert_eq!(second, first);
        assert_eq!(*disk.creates.borrow(), 1);
        assert_eq!(*memory.reports.borrow(), vec![Change::Created, Change::Unchanged]);

        let bigger = Disk { aws: &aws, want_size: 9, creates: RefCell::new(0) };
        ensure(&bigger, &memory).await.unwrap();
        assert_eq!(memory.reports.borrow().last(), Some(&Change::Updated(vec!["size".into()])));
    }

    #[tokio::test]
    async fn planning_reports_what_it_would_do_and_changes_nothing() {
        let aws = RefCell::new(None);
        let disk = Disk { aws: &aws, want_size: 5, creates: RefCell::new(0) };
        let plan = Memory { planning: true, ..Memory::default() };

        let missing = ensure(&disk, &plan).await.unwrap_err();
        assert!(missing.is::<NotYetCreated>(), "{missing}");
        assert_eq!((*disk.creates.borrow(), aws.borrow().clone(), plan.recorded("disk_id")), (0, None, None));

        *aws.borrow_mut() = Some(("d-7".into(), 1));
        assert_eq!(ensure(&disk, &plan).await.unwrap(), ("d-7".to_string(), 1), "returned as it is, not updated");
        assert_eq!(aws.borrow().clone(), Some(("d-7".to_string(), 1)));
        assert_eq!(*plan.reports.borrow(), vec![Change::Created, Change::Updated(vec!["size".into()])]);
    }

    #[tokio::test]
    async fn remove_deletes_what_it_finds_and_skips_what_is_gone() {
        let aws = RefCell::new(Some(("d-1".to_string(), 5)));
        let disk = Disk { aws: &aws, want_size: 5, creates: RefCell::new(0) };
        let memory = Memory::default();
        remove(&disk, &memory).await.unwrap();
        remove(&disk, &memory).await.unwrap();
        assert_eq!(aws.borrow().clone(), None);
        assert_eq!(*memory.reports.borrow(), vec![Change::Deleted], "the second remove found nothing");
    }

    #[tokio::test]
    async fn calls_that_all_got_no_answer_stay_typed_and_mixed_failures_are_listed() {
        let silent = |name: &str| NoAnswer { call: format!("lambda:GetFunction {name}"), detail: "timeout".into() };
        let all_silent = all(["a", "b", "c"].map(|n| async move { Err::<(), _>(silent(n).into()) })).await;
        let err = all_silent.unwrap_err();
        assert_eq!(err.downcast_ref::<NoAnswer>(), Some(&silent("a")), "{err:#}");
        assert!(format!("{err:#}").starts_with("3 calls got no answer in time; the first: "), "{err:#}");

        let mixed = all([
            Box::pin(async { Err::<(), _>(silent("a").into()) }) as std::pin::Pin<Box<dyn Future<Output = Result<()>>>>,
            Box::pin(async { Err(anyhow!("AccessDenied")) }),
        ])
        .await
        .unwrap_err();
        assert!(mixed.downcast_ref::<NoAnswer>().is_none());
        assert!(format!("{mixed:#}").contains("2 resources failed") && format!("{mixed:#}").contains("AccessDenied"));
    }

    /// A resource made, then its wait for readiness unanswered.
    struct Unready;

    impl Resource for Unready {
        type Live = ();
        fn label(&self) -> String {
            "function f".into()
        }
        async fn find(&self, _: Option<&str>) -> Result<Option<()>> {
            Ok(None)
        }
        async fn create(&self) -> Result<()> {
            let silent = NoAnswer { call: "lambda:GetFunction f".into(), detail: "timeout".into() };
            Err(AfterCreate(silent.into()).into())
        }
        fn id(&self, _: &()) -> String {
            "f".into()
        }
    }

    #[tokio::test]
    async fn a_failure_after_create_is_not_retried_and_comes_out_as_its_cause() {
        let err = ensure(&Unready, &Memory::default()).await.unwrap_err();
        assert!(err.downcast_ref::<NoAnswer>().is_some(), "still typed: {err:?}");
        assert!(err.downcast_ref::<AfterCreate>().is_none());
    }
}
