//! Lambda's `RevisionId` as a checkpoint: what a step confirmed of a function last time still holds while
//! nothing but deployer has changed the function since, and the revisions say so without reading it.
//!
//! Lambda gives a function a new `RevisionId` at every change of its code, configuration or resource
//! policy (AddPermission and RemovePermission take one to guard against concurrent changes; GetPolicy
//! answers the function's). ListFunctions shows 50 functions' revisions per call, without their `State`;
//! reading them one by one costs a GetFunction each, and a GetPolicy each at 15 requests/s.
//!
//! Each step that ensures a part of a function (02 the function, 03 and 04 their invoke permissions, 04
//! the management endpoint's variables) records the output `function_revisions`, a line per part:
//! `NAME PART DIGEST BEFORE AFTER`. BEFORE is the revision its read confirmed the part at (or `-`), AFTER
//! the revision the step left the function at. A later look trusts the part without reading it when the
//! wanted part has the same DIGEST and the listed revision is AFTER or follows from it by the moves that
//! deployer's steps recorded (each line's BEFORE → AFTER): any other change to the function (a statement
//! removed by hand, an update that failed) makes a revision no step recorded, and the part is read again.
//! The revisions of a step's writes come from one look at its end; a change made by someone else in
//! the moment between a step's last write and that look would pass as the step's own. Writes that move
//! no revision of the function (statements in an alias's policy) need no look: their line ends where it
//! began.
//!
//! Steps that run at once (03 and 04) may write to the same function in turn, or read it half-way through
//! the other's writes ([`ThisRun`]):
//! - 03 takes it from A to B and records A → B, then 04 from B to C, but 04 read A at its start. A line
//!   given its AFTER by the end look also starts from every revision another step of this run left the
//!   function at after this one looked: 04 records `A,B` → C (BEFORE lists them, comma-separated).
//! - 04 takes it from A to B (its variables), then to C (a version); 03, whose writes move nothing, read
//!   B in between. If 04 has recorded C by 03's end, 03's line moves to C, where deployer left the
//!   function; if not, 03 leaves B, and 04 records `A,B` → C. A look that ran into another step's
//!   writes needs nothing else: every revision it may have seen leads to the one the run ended at.
//!
//! ListFunctions pages through every function of the account and region, not only the service's: where
//! the account holds many others, the pages are cut short and the functions not met yet are read one by
//! one (GetFunction, 100 requests/s), so a look never costs much more than reading each function.

use anyhow::Result;
use aws_sdk_lambda::types::FunctionConfiguration;
use sha2::Digest as _;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, record_if_changed, Recorder};
use crate::step::Context;

/// The output each step records its lines in.
pub const KEY: &str = "function_revisions";

/// The part 02 confirms of a function (its state); its line's BEFORE is `-` when 02 made the function.
pub const FUNCTION_PART: &str = "function";

/// No revision known (a part confirmed on a function that was just made, or one Lambda gave none).
const UNKNOWN: &str = "-";

/// Between the revisions a line's BEFORE lists (Lambda's revisions are UUIDs).
const BEFORE_SEPARATOR: char = ',';

/// Moves deployer's steps may chain before a look gives up and reads (a run makes at most a few per step).
const LONGEST_CHAIN: usize = 32;

#[derive(Clone, PartialEq, Eq)]
struct Line {
    digest: String,
    before: String,
    after: String,
}

/// The revisions the steps of this command left functions at, for steps that run at once.
#[derive(Default)]
pub struct ThisRun {
    clock: std::sync::atomic::AtomicU64,
    /// By function: (when, revision) of each line recorded, in order.
    left: std::sync::Mutex<BTreeMap<String, Vec<(u64, String)>>>,
    /// The last listing of the account's functions, with the Lambda writes this run had made when it
    /// began: while none has been made since, a look at functions it shows (or at any, when it is whole)
    /// takes it instead of listing again (02's last look serves 03's and 04's first).
    listing: std::sync::Mutex<Option<Listing>>,
}

impl ThisRun {
    fn now(&self) -> u64 {
        self.clock.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// The revisions steps left the function at after `since`, oldest first.
    fn left_since(&self, function: &str, since: u64) -> Vec<String> {
        // A poisoned lock only means another step panicked; the map is still whole.
        let left = self.left.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let after = left.get(function).into_iter().flatten().filter(|(when, _)| *when > since);
        after.map(|(_, revision)| revision.clone()).collect()
    }

    /// The last listing, if no Lambda write was made since it began (`writes`: those made by now) and it
    /// shows every `wanted` function or is whole.
    fn listing_as_of(&self, writes: u32, wanted: &BTreeSet<String>) -> Option<BTreeMap<String, FunctionConfiguration>> {
        let listing = self.listing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let serves =
            |l: &&Listing| l.writes == writes && (l.whole || wanted.iter().all(|name| l.functions.contains_key(name)));
        listing.as_ref().filter(serves).map(|l| l.functions.clone())
    }

    fn keep_listing(&self, listing: Listing) {
        *self.listing.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(listing);
    }

    fn leave(&self, function: &str, revision: &str) {
        let when = self.now();
        let mut left = self.left.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        left.entry(function.to_string()).or_default().push((when, revision.to_string()));
    }
}

/// Functions as ListFunctions showed them.
struct Listing {
    /// The Lambda writes this run had made when the listing began.
    writes: u32,
    functions: BTreeMap<String, FunctionConfiguration>,
    /// Every page was read: a function it does not show did not exist.
    whole: bool,
}

/// A step's view of the service's functions' revisions, from one ListFunctions at its start.
pub struct Revisions {
    wanted: BTreeSet<String>,
    seen: BTreeMap<String, Found>,
    /// Every step's recorded moves, by function and the revision they start from.
    moves: Moves,
    /// This step's lines from its last run, by function and part.
    recorded: BTreeMap<(String, String), Line>,
    /// The revision 02 left each function it made at.
    made_at: BTreeMap<String, String>,
    /// This run's lines: kept from `recorded`, or confirmed by a read (their AFTER is set at the end).
    lines: RefCell<BTreeMap<(String, String), Line>>,
    /// The parts of `lines` confirmed by this run's reads (the others were trusted).
    read_now: RefCell<BTreeSet<(String, String)>>,
    confirmed_any: Cell<bool>,
    /// Lambda writes this run had made when the step looked: none since, and no function moved.
    lambda_writes_at_look: u32,
    /// When the step looked, on [`ThisRun`]'s clock.
    looked_at: u64,
}

/// The Lambda writes this run has made so far (every step's, in the one call log).
fn lambda_writes(ctx: &Context<'_>) -> u32 {
    let calls = ctx.aws.calls.snapshot();
    let writes = calls.iter().filter(|(op, _)| op.starts_with("lambda:") && !crate::calls::is_read(op));
    writes.map(|(_, tally)| tally.calls).sum()
}

/// A short digest of what a step wants of a part, so that a changed want is read again.
pub fn digest(wanted: &str) -> String {
    crate::package::hex(&sha2::Sha256::digest(wanted.as_bytes()))[..12].to_string()
}

/// A line as the output holds it.
fn written(name: &str, part: &str, line: &Line) -> String {
    format!("{name} {part} {} {} {}", line.digest, line.before, line.after)
}

fn parse(text: &str) -> impl Iterator<Item = ((String, String), Line)> + '_ {
    text.lines().filter_map(|line| {
        let mut fields = line.split(' ');
        let (name, part, digest, before, after) =
            (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        let line = Line { digest: digest.into(), before: before.into(), after: after.into() };
        Some(((name.to_string(), part.to_string()), line))
    })
}

/// Pages of ListFunctions worth reading per function still missing: a page holds up to 50 functions, of
/// the whole account (by name, so a service's functions may sit on any page of it); past that, reading the
/// missing ones one by one costs fewer requests.
const PAGES_PER_MISSING_FUNCTION: f64 = 0.25;

/// A function as last seen: from ListFunctions (without `State`), or from GetFunction (everything).
#[derive(Clone)]
struct Found {
    configuration: FunctionConfiguration,
    in_full: bool,
}

/// The `wanted` functions as they are now: listed while that pays, the rest read one by one; a function
/// that does not exist is absent from the map.
async fn look(ctx: &Context<'_>, wanted: &BTreeSet<String>) -> Result<BTreeMap<String, Found>> {
    let writes = lambda_writes(ctx);
    let listing = match ctx.aws.this_run.listing_as_of(writes, wanted) {
        Some(listing) => listing,
        None => list(ctx, wanted, writes).await?,
    };
    let mut seen: BTreeMap<String, Found> = listing
        .into_iter()
        .filter(|(name, _)| wanted.contains(name))
        .map(|(name, configuration)| (name, Found { configuration, in_full: false }))
        .collect();
    let missing: Vec<&String> = wanted.iter().filter(|name| !seen.contains_key(*name)).collect();
    let read = all(missing.into_iter().map(|name| async move {
        Ok(get_function(ctx, name).await?.map(|configuration| (name.clone(), configuration)))
    }))
    .await?;
    for (name, configuration) in read.into_iter().flatten() {
        seen.insert(name, Found { configuration, in_full: true });
    }
    Ok(seen)
}

/// The functions ListFunctions shows, while its pages pay for the `wanted` ones not met yet; kept for the
/// looks after it (`writes`: the Lambda writes made when it began).
async fn list(
    ctx: &Context<'_>,
    wanted: &BTreeSet<String>,
    writes: u32,
) -> Result<BTreeMap<String, FunctionConfiguration>> {
    let mut functions = BTreeMap::new();
    let mut pages = ctx.aws.lambda().list_functions().into_paginator().send();
    let mut pages_read = 0.0;
    let missing = |functions: &BTreeMap<String, FunctionConfiguration>| {
        wanted.iter().filter(|name| !functions.contains_key(*name)).count() as f64
    };
    let whole = loop {
        if pages_read > missing(&functions) * PAGES_PER_MISSING_FUNCTION {
            break false;
        }
        let Some(page) = pages.next().await else { break true };
        pages_read += 1.0;
        let page = page.aws_context(|| "lambda:ListFunctions".to_string())?;
        for function in page.functions() {
            if let Some(name) = function.function_name() {
                functions.insert(name.to_string(), function.clone());
            }
        }
    };
    ctx.aws.this_run.keep_listing(Listing { writes, functions: functions.clone(), whole });
    Ok(functions)
}

type Moves = BTreeMap<(String, String), BTreeSet<String>>;

/// Every step's moves (BEFORE → AFTER, by function), and the revisions 02 left the functions it made at.
fn moves_and_makings(lines: Vec<((String, String), Line)>) -> (Moves, BTreeMap<String, String>) {
    let (mut moves, mut made_at) = (Moves::new(), BTreeMap::new());
    for ((name, part), line) in lines {
        if line.after == UNKNOWN {
            continue;
        }
        if line.before != UNKNOWN {
            for before in line.before.split(BEFORE_SEPARATOR) {
                moves.entry((name.clone(), before.to_string())).or_default().insert(line.after.clone());
            }
        } else if part == FUNCTION_PART {
            made_at.insert(name, line.after);
        }
    }
    (moves, made_at)
}

/// GetFunction's configuration of `name`, `None` when there is no such function.
async fn get_function(ctx: &Context<'_>, name: &str) -> Result<Option<FunctionConfiguration>> {
    let got = ctx.aws.lambda().get_function().function_name(name).send().await;
    let got = absent_if(got, |e| e.is_resource_not_found_exception());
    Ok(got.aws_context(|| format!("lambda:GetFunction {name}"))?.and_then(|out| out.configuration().cloned()))
}

/// What a step's read of a part found its function's revision at: unset while the part is trusted (nothing
/// to confirm); `Some(None)` for a function with no revision (or none at all).
pub type Seen = std::cell::RefCell<Option<Option<String>>>;

impl Revisions {
    /// Looks at the `wanted` functions (full names) and reads every step's recorded lines (this step's
    /// through `recorder`).
    pub async fn look(
        ctx: &Context<'_>,
        recorder: &dyn Recorder,
        wanted: impl IntoIterator<Item = String>,
    ) -> Result<Revisions> {
        let wanted: BTreeSet<String> = wanted.into_iter().collect();
        let own = recorder.recorded(KEY).unwrap_or_default();
        let others = ctx.outputs.values().filter_map(|outputs| outputs.get(KEY));
        let lines: Vec<_> = others.flat_map(|text| parse(text)).chain(parse(&own)).collect();
        let (moves, made_at) = moves_and_makings(lines);
        Ok(Revisions {
            looked_at: ctx.aws.this_run.now(),
            lambda_writes_at_look: lambda_writes(ctx),
            seen: look(ctx, &wanted).await?,
            wanted,
            moves,
            made_at,
            recorded: parse(&own).collect(),
            lines: RefCell::default(),
            read_now: RefCell::default(),
            confirmed_any: Cell::new(false),
        })
    }

    /// The function as it was seen: listed (no `State`, no `LastUpdateStatus`), or read in full.
    pub fn listed(&self, name: &str) -> Option<&FunctionConfiguration> {
        self.seen.get(name).map(|seen| &seen.configuration)
    }

    /// The function as GetFunction answered at the step's start, when it was read one by one: `Some(None)`
    /// when it does not exist; `None` when it was listed instead (or not wanted).
    fn read_in_full(&self, name: &str) -> Option<Option<&FunctionConfiguration>> {
        match self.seen.get(name) {
            Some(seen) if seen.in_full => Some(Some(&seen.configuration)),
            None if self.wanted.contains(name) => Some(None),
            _ => None,
        }
    }

    /// The function's configuration for a step's `part`: the listing's when the revisions vouch for the
    /// part, else the one read (at the step's start, or now with GetFunction), its revision kept in `seen`.
    pub async fn configuration(
        &self,
        ctx: &Context<'_>,
        name: &str,
        part: &str,
        digest: &str,
        seen: &Seen,
    ) -> Result<Option<FunctionConfiguration>> {
        if self.trusted(name, part, digest) {
            return Ok(self.listed(name).cloned());
        }
        let live = match self.read_in_full(name) {
            Some(read) => read.cloned(),
            None => get_function(ctx, name).await?,
        };
        *seen.borrow_mut() = Some(live.as_ref().and_then(|l| l.revision_id().map(String::from)));
        Ok(live)
    }

    /// Whether the function is as 02 made it, unchanged since (the listed revision is the one 02 left it
    /// at): its resource policy is then empty, with nothing to read.
    pub fn untouched_since_made(&self, name: &str) -> bool {
        let now = self.listed(name).and_then(FunctionConfiguration::revision_id);
        now.is_some_and(|now| self.made_at.get(name).is_some_and(|made| made == now))
    }

    /// Whether `to` follows from `from` by deployer's recorded moves.
    fn follows(&self, name: &str, from: &str, to: &str) -> bool {
        let mut reached = BTreeSet::from([from.to_string()]);
        let mut frontier = vec![from.to_string()];
        for _ in 0..LONGEST_CHAIN {
            if reached.contains(to) {
                return true;
            }
            let next: Vec<String> = frontier
                .iter()
                .flat_map(|revision| self.moves.get(&(name.to_string(), revision.clone())).into_iter().flatten())
                .filter(|revision| !reached.contains(*revision))
                .cloned()
                .collect();
            if next.is_empty() {
                return false;
            }
            reached.extend(next.iter().cloned());
            frontier = next;
        }
        reached.contains(to)
    }

    /// Whether the part, wanted as `digest`, holds as this step confirmed it, with no read: then its line
    /// is kept as it was.
    pub fn trusted(&self, name: &str, part: &str, digest: &str) -> bool {
        let key = (name.to_string(), part.to_string());
        let Some(line) = self.recorded.get(&key).filter(|line| line.digest == digest && line.after != UNKNOWN) else {
            return false;
        };
        let Some(now) = self.listed(name).and_then(FunctionConfiguration::revision_id) else {
            return false;
        };
        let trusted = self.follows(name, &line.after, now);
        if trusted {
            self.lines.borrow_mut().insert(key, line.clone());
        }
        trusted
    }

    /// The part is as wanted, confirmed by a read at revision `seen` (and perhaps changed since by this
    /// step's writes). A read that answers no revision (GetPolicy of a function with no policy yet) was of
    /// the function as listed.
    pub fn confirmed(&self, name: &str, part: &str, digest: &str, seen: Option<&str>) {
        let listed = self.listed(name).and_then(FunctionConfiguration::revision_id);
        let before = seen.or(listed).unwrap_or(UNKNOWN).to_string();
        let line = Line { digest: digest.to_string(), before, after: UNKNOWN.to_string() };
        self.read(name, part, line);
    }

    /// As [`Revisions::confirmed`], for a part whose writes move no revision of the function (a statement
    /// in an alias's policy): the function is still where it was seen, with nothing to look at after.
    pub fn confirmed_in_place(&self, name: &str, part: &str, digest: &str, seen: Option<&str>) {
        let listed = self.listed(name).and_then(FunctionConfiguration::revision_id);
        let at = seen.or(listed).unwrap_or(UNKNOWN).to_string();
        let line = Line { digest: digest.to_string(), before: at.clone(), after: at };
        self.read(name, part, line);
    }

    fn read(&self, name: &str, part: &str, line: Line) {
        let key = (name.to_string(), part.to_string());
        self.read_now.borrow_mut().insert(key.clone());
        self.lines.borrow_mut().insert(key, line);
        self.confirmed_any.set(true);
    }

    /// A line the end look just gave its AFTER: it starts from its own read and from every revision the
    /// steps running beside this one left the function at since this step looked; and this run's steps
    /// now know of it.
    fn chain_to_this_run(&self, this_run: &ThisRun, name: &str, line: &mut Line) {
        if line.after == UNKNOWN {
            return;
        }
        if line.before != UNKNOWN {
            let mut befores: Vec<String> = line.before.split(BEFORE_SEPARATOR).map(String::from).collect();
            for left in this_run.left_since(name, self.looked_at) {
                if left != line.after && !befores.contains(&left) {
                    befores.push(left);
                }
            }
            line.before = befores.join(&BEFORE_SEPARATOR.to_string());
        }
        this_run.leave(name, &line.after);
    }

    /// A line this step confirmed where the function stood (its writes moved no revision of it), perhaps
    /// half-way through another step's writes: when a step left the function at a revision since this one
    /// looked, the line moves there, where deployer left it; else this run's steps learn of the line's
    /// revision, so that a step still writing to the function chains from it.
    fn settle_in_place(&self, this_run: &ThisRun, name: &str, line: &mut Line) {
        if line.after == UNKNOWN {
            return;
        }
        if let Some(latest) = this_run.left_since(name, self.looked_at).pop() {
            line.before.clone_from(&latest);
            line.after = latest;
        }
        this_run.leave(name, &line.after);
    }

    /// Records this run's lines; the revisions the step left its functions at come from a second look,
    /// made only when the step wrote to Lambda in a way that moves them (a look that trusted or only read
    /// every part, or wrote only to aliases' policies, looks once).
    pub async fn record(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let mut lines = self.lines.borrow().clone();
        if self.confirmed_any.get() && lambda_writes(ctx) == self.lambda_writes_at_look {
            // Read and found as wanted, nothing written: each function is still at the revision read.
            for line in lines.values_mut().filter(|line| line.after == UNKNOWN) {
                line.after = line.before.clone();
            }
        }
        // Confirmed by this run's reads where the function stood (not the lines kept as they were).
        let mut in_place = self.read_now.borrow().clone();
        in_place.retain(|key| lines.get(key).is_some_and(|line| line.after != UNKNOWN));
        let moved: BTreeSet<String> =
            lines.iter().filter(|(_, line)| line.after == UNKNOWN).map(|((name, _), _)| name.clone()).collect();
        let this_run = &ctx.aws.this_run;
        if self.confirmed_any.get() && !moved.is_empty() {
            let now = look(ctx, &moved).await?;
            for ((name, _), line) in lines.iter_mut().filter(|(_, line)| line.after == UNKNOWN) {
                let revision = now.get(name).and_then(|seen| seen.configuration.revision_id());
                line.after = revision.unwrap_or(UNKNOWN).to_string();
                self.chain_to_this_run(this_run, name, line);
            }
        }
        for (key, line) in lines.iter_mut().filter(|(key, _)| in_place.contains(*key)) {
            self.settle_in_place(this_run, &key.0, line);
        }
        let text: Vec<String> = lines.iter().map(|((name, part), line)| written(name, part, line)).collect();
        record_if_changed(recorder, KEY, &text.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revisions(own: &str, others: &[&str], listed: &[(&str, &str)]) -> Revisions {
        let (moves, made_at) = moves_and_makings(others.iter().flat_map(|t| parse(t)).chain(parse(own)).collect());
        let seen = listed
            .iter()
            .map(|(n, r)| {
                let configuration = FunctionConfiguration::builder().function_name(*n).revision_id(*r).build();
                (n.to_string(), Found { configuration, in_full: false })
            })
            .collect();
        Revisions {
            wanted: listed.iter().map(|(n, _)| n.to_string()).collect(),
            seen,
            moves,
            made_at,
            recorded: parse(own).collect(),
            lines: RefCell::default(),
            read_now: RefCell::default(),
            confirmed_any: Cell::new(false),
            lambda_writes_at_look: 0,
            looked_at: 0,
        }
    }

    #[test]
    fn a_step_beside_another_starts_from_where_the_other_left_a_function_after_it_looked() {
        let run = ThisRun::default();
        run.leave("f", "A");
        let looked = run.now();
        assert!(run.left_since("f", looked).is_empty(), "left before it looked: its own read saw it");
        run.leave("f", "B");
        run.leave("f", "C");
        assert_eq!(run.left_since("f", looked), ["B", "C"]);
        assert!(run.left_since("g", looked).is_empty());
    }

    fn line(digest: &str, before: &str, after: &str) -> Line {
        Line { digest: digest.into(), before: before.into(), after: after.into() }
    }

    /// 02 made f at A. 04 looked at A, then moves f to B (its variables) and C (a version); 03, whose
    /// statement on the alias moves nothing, read f at B in between. The next run lists f at C.
    fn trusted_after_a_read_half_way(order_03_first: bool) -> [bool; 3] {
        let run = ThisRun::default();
        let (looked_04, looked_03) = (run.now(), run.now());
        let (mut looker_03, mut looker_04) = (revisions("", &[], &[]), revisions("", &[], &[]));
        (looker_03.looked_at, looker_04.looked_at) = (looked_03, looked_04);
        let (mut line_03, mut line_04) = (line("d03", "B", "B"), line("d04", "A", "C"));
        if order_03_first {
            looker_03.settle_in_place(&run, "svc-f", &mut line_03);
            looker_04.chain_to_this_run(&run, "svc-f", &mut line_04);
        } else {
            looker_04.chain_to_this_run(&run, "svc-f", &mut line_04);
            looker_03.settle_in_place(&run, "svc-f", &mut line_03);
        }
        let (made, text_03, text_04) = (
            "svc-f function - - A".to_string(),
            written("svc-f", "permission", &line_03),
            written("svc-f", "environment", &line_04),
        );
        let listed = [("svc-f", "C")];
        [
            revisions(&made, &[&text_03, &text_04], &listed).trusted("svc-f", "function", "-"),
            revisions(&text_03, &[&made, &text_04], &listed).trusted("svc-f", "permission", "d03"),
            revisions(&text_04, &[&made, &text_03], &listed).trusted("svc-f", "environment", "d04"),
        ]
    }

    #[test]
    fn a_function_read_half_way_through_another_steps_writes_is_trusted_where_they_left_it_in_either_order() {
        assert_eq!(trusted_after_a_read_half_way(true), [true; 3], "03 recorded first");
        assert_eq!(trusted_after_a_read_half_way(false), [true; 3], "04 recorded first");
    }

    #[test]
    fn a_line_before_lists_every_revision_it_follows_from() {
        let moved = "svc-f environment d04 A,B C";
        assert!(revisions("svc-f permission d03 B B", &[moved], &[("svc-f", "C")]).trusted(
            "svc-f",
            "permission",
            "d03"
        ));
        assert!(revisions("svc-f permission d03 A A", &[moved], &[("svc-f", "C")]).trusted(
            "svc-f",
            "permission",
            "d03"
        ));
        assert!(!revisions("svc-f permission d03 Z Z", &[moved], &[("svc-f", "C")]).trusted(
            "svc-f",
            "permission",
            "d03"
        ));
    }

    #[test]
    fn a_listing_serves_later_looks_until_a_lambda_write_and_only_for_the_functions_it_shows() {
        let run = ThisRun::default();
        let wanted = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        let functions: BTreeMap<String, FunctionConfiguration> = ["svc-a", "svc-b"]
            .map(|n| (n.to_string(), FunctionConfiguration::builder().function_name(n).build()))
            .into();
        run.keep_listing(Listing { writes: 7, functions: functions.clone(), whole: false });
        assert_eq!(run.listing_as_of(7, &wanted(&["svc-a"])).map(|l| l.len()), Some(2));
        assert!(run.listing_as_of(8, &wanted(&["svc-a"])).is_none(), "a write since: listed again");
        assert!(run.listing_as_of(7, &wanted(&["svc-c"])).is_none(), "cut short: svc-c may be on a later page");
        run.keep_listing(Listing { writes: 7, functions, whole: true });
        assert!(run.listing_as_of(7, &wanted(&["svc-c"])).is_some(), "whole: svc-c does not exist");
    }

    #[test]
    fn a_part_is_trusted_at_the_revision_its_step_left_or_one_later_steps_moved_it_to() {
        // 02 left f at r1; 03 confirmed its permission at r1 and left r2; 04 moved it r2 → r3.
        let own = "svc-f function - r0 r1";
        let later = ["svc-f permission d03 r1 r2", "svc-f permission d04 r2 r3"];
        assert!(revisions(own, &later, &[("svc-f", "r3")]).trusted("svc-f", "function", "-"));
        assert!(revisions(own, &later, &[("svc-f", "r1")]).trusted("svc-f", "function", "-"));
    }

    #[test]
    fn a_revision_no_step_recorded_is_read_again() {
        let own = "svc-f permission d03 r1 r2";
        // Someone removed the statement by hand: r2 → r9, which no step recorded.
        assert!(!revisions(own, &[], &[("svc-f", "r9")]).trusted("svc-f", "permission", "d03"));
        // A step that confirmed its part after that change does not vouch for this step's.
        let after_hand = ["svc-f permission d04 r9 r10"];
        assert!(!revisions(own, &after_hand, &[("svc-f", "r10")]).trusted("svc-f", "permission", "d03"));
    }

    #[test]
    fn a_changed_want_an_unknown_revision_or_a_missing_function_is_read_again() {
        let own = "svc-f permission d03 r1 r2\nsvc-g permission d03 r1 -";
        let r = revisions(own, &[], &[("svc-f", "r2"), ("svc-g", "r1")]);
        assert!(!r.trusted("svc-f", "permission", "other"), "the API changed: another source ARN");
        assert!(!r.trusted("svc-g", "permission", "d03"));
        assert!(!r.trusted("svc-h", "permission", "d03"));
        assert!(r.trusted("svc-f", "permission", "d03"));
    }

    #[test]
    fn a_function_02_made_is_untouched_until_its_revision_moves() {
        let made = ["svc-f function - - r1", "svc-g function - r0 r1"];
        assert!(revisions("", &made, &[("svc-f", "r1")]).untouched_since_made("svc-f"));
        assert!(!revisions("", &made, &[("svc-f", "r2")]).untouched_since_made("svc-f"), "a permission added");
        assert!(!revisions("", &made, &[("svc-g", "r1")]).untouched_since_made("svc-g"), "found, not made");
    }

    #[test]
    fn lines_read_back_as_written() {
        let text = "svc-f function - r0 r1\nsvc-f permission 0123456789ab r1 r2";
        let lines: Vec<_> = parse(text).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, ("svc-f".to_string(), "permission".to_string()));
        assert_eq!((lines[1].1.before.as_str(), lines[1].1.after.as_str()), ("r1", "r2"));
    }
}
