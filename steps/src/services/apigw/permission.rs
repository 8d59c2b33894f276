//! The statement in a function's resource policy that lets API Gateway invoke it, scoped to one API.

use anyhow::{Context as _, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all_at_most, ensure, Recorder, Resource};
use crate::revisions::{digest, Revisions, Seen};
use crate::step::Context;

/// The part of a function's revisions a permission is confirmed as.
const PART: &str = "permission";

/// One policy write per function at a time: Lambda may drop one of two statements sent at once to the same
/// policy (terraform-provider-aws serializes them per function for this), and 03 and 04 run at once.
async fn one_policy_writer(function_name: &str) -> tokio::sync::OwnedMutexGuard<()> {
    static WRITERS: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        std::sync::LazyLock::new(Default::default);
    let writer = {
        // A poisoned map only means another writer panicked; its entries are still whole.
        let mut writers = WRITERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        writers.entry(function_name.to_string()).or_default().clone()
    };
    writer.lock_owned().await
}

/// Statements added at once. Each is one request at Lambda's 15 a second, shared with the other steps'
/// Lambda writes: eight round trips of about 300 ms keep that rate, where more would queue seconds of
/// requests at the pacer ahead of 04's answerers (variables, then version, then alias: each waits its turn).
const PERMISSIONS_AT_ONCE: usize = 8;

/// One statement per function (by suffix), letting the API of `source_arn` invoke it. A statement on the
/// function itself that the revisions vouch for is not read (GetPolicy, 15 requests/s).
pub async fn ensure_invoke_permissions<'f>(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    revisions: &Revisions,
    functions: impl IntoIterator<Item = &'f str>,
    statement_id: &'static str,
    source_arn: &str,
) -> Result<()> {
    let permissions: Vec<InvokePermission> = functions
        .into_iter()
        .map(|f| {
            // The API invokes the function's alias, which holds a policy of its own.
            let qualifier = ctx.invoke_target(f).ok().map(|(_, qualifier)| qualifier);
            InvokePermission {
                ctx,
                function_name: ctx.name(f),
                qualifier,
                statement_id,
                source_arn: source_arn.to_string(),
                revisions: Some(revisions),
                seen: Default::default(),
            }
        })
        .collect();
    all_at_most(
        PERMISSIONS_AT_ONCE,
        permissions.iter().map(|p| async move {
            ensure(p, recorder).await?;
            p.confirm();
            Ok(())
        }),
    )
    .await?;
    Ok(())
}

/// A statement in a function's resource policy that lets API Gateway invoke it, scoped to one API.
pub struct InvokePermission<'a> {
    pub ctx: &'a Context<'a>,
    pub function_name: String,
    /// The alias (`live`) it is on, when the API invokes one.
    pub qualifier: Option<&'static str>,
    /// Stable, so a re-run finds the statement instead of adding another.
    pub statement_id: &'static str,
    pub source_arn: String,
    /// The functions' revisions, when the caller keeps them.
    pub revisions: Option<&'a Revisions>,
    /// The revision GetPolicy answered with (`None` when trusted: nothing to confirm).
    pub seen: Seen,
}

impl InvokePermission<'_> {
    /// What is wanted of the statement, as the revisions' digest: another API is another source ARN, and a
    /// statement on the alias is another than one on the function.
    fn digest(&self) -> String {
        match self.qualifier {
            None => digest(&format!("{} {}", self.statement_id, self.source_arn)),
            Some(alias) => digest(&format!("{} {} {alias}", self.statement_id, self.source_arn)),
        }
    }

    /// The revisions vouch for a statement on the alias too: the function's revision moves with every
    /// version published, so a new alias target is read again. A statement removed from the alias by hand
    /// moves no revision of the function's, and is seen at its next change.
    fn revisions(&self) -> Option<&Revisions> {
        self.revisions
    }

    fn wanted_statement(&self) -> Value {
        json!({
            "Sid": self.statement_id,
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Condition": {"ArnLike": {"AWS:SourceArn": self.source_arn}}
        })
    }

    /// Once ensured: a statement read (not trusted) is confirmed at the revision GetPolicy answered. One
    /// in an alias's policy moved no revision of the function's: no look at the step's end for it.
    fn confirm(&self) {
        if let (Some(revisions), Some(seen)) = (self.revisions(), self.seen.borrow().as_ref()) {
            match self.qualifier {
                Some(_) => revisions.confirmed_in_place(&self.function_name, PART, &self.digest(), seen.as_deref()),
                None => revisions.confirmed(&self.function_name, PART, &self.digest(), seen.as_deref()),
            }
        }
    }

    fn wanted_statement_matches(&self, statement: &Value) -> bool {
        statement["Principal"]["Service"] == "apigateway.amazonaws.com"
            && statement["Action"] == "lambda:InvokeFunction"
            && statement["Condition"]["ArnLike"]["AWS:SourceArn"] == self.source_arn.as_str()
    }

    /// Adds the statement; `false` when Lambda refused it as one its policy already holds.
    async fn add(&self) -> Result<bool> {
        let _one = one_policy_writer(&self.function_name).await;
        let added = self
            .ctx
            .aws
            .lambda()
            .add_permission()
            .function_name(&self.function_name)
            .set_qualifier(self.qualifier.map(str::to_string))
            .statement_id(self.statement_id)
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .source_arn(&self.source_arn)
            .send()
            .await;
        match added {
            Err(refused) if refused.as_service_error().is_some_and(|e| e.is_resource_conflict_exception()) => Ok(false),
            added => {
                added.aws_context(|| format!("lambda:AddPermission {} {}", self.function_name, self.statement_id))?;
                Ok(true)
            }
        }
    }
}

impl Resource for InvokePermission<'_> {
    /// The policy statement, as Lambda returns it.
    type Live = Value;

    fn planned(&self) -> Option<Value> {
        Some(Value::Null)
    }

    fn label(&self) -> String {
        let on = self.qualifier.map_or(self.function_name.clone(), |q| format!("{}:{q}", self.function_name));
        format!("permission {} on {on}", self.statement_id)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Value>> {
        if let Some(revisions) = self.revisions() {
            if revisions.trusted(&self.function_name, PART, &self.digest()) {
                return Ok(Some(self.wanted_statement()));
            }
            // Just made by 02 and unchanged since: no policy yet (a fresh deploy reads none of them).
            if revisions.untouched_since_made(&self.function_name) {
                let listed = revisions.listed(&self.function_name).and_then(|f| f.revision_id.clone());
                *self.seen.borrow_mut() = Some(listed);
                return Ok(None);
            }
        }
        self.read_statement().await
    }

    async fn create(&self) -> Result<Value> {
        if self.add().await? {
            return Ok(self.wanted_statement());
        }
        // Added by a run killed before it recorded it: the alias's policy moves no revision of the
        // function's, so only Lambda's refusal tells. What is there is compared as usual.
        match self.read_statement().await? {
            Some(statement) => Ok(statement),
            None => anyhow::bail!(
                "lambda:AddPermission {} {}: Lambda refused it as a conflict (another change in progress): run \
                 `deployer resume`",
                self.function_name,
                self.statement_id
            ),
        }
    }

    fn id(&self, _live: &Value) -> String {
        self.statement_id.to_string()
    }

    /// The statement as Lambda holds it, and the source ARN wanted.
    fn values(&self, live: &Value, _field: &str) -> Option<(String, String)> {
        let now = live.pointer("/Condition/ArnLike/AWS:SourceArn").and_then(Value::as_str).unwrap_or("none");
        Some((now.to_string(), self.source_arn.clone()))
    }

    fn differences(&self, live: &Value) -> Result<Vec<&'static str>> {
        Ok(if self.wanted_statement_matches(live) { vec![] } else { vec!["source_arn"] })
    }

    /// A statement cannot be edited: replace it (e.g. when the API was recreated under a new ID).
    async fn update(&self, _live: Value, _fields: &[&'static str]) -> Result<Value> {
        let one = one_policy_writer(&self.function_name).await;
        self.ctx
            .aws
            .lambda()
            .remove_permission()
            .function_name(&self.function_name)
            .set_qualifier(self.qualifier.map(str::to_string))
            .statement_id(self.statement_id)
            .send()
            .await
            .aws_context(|| format!("lambda:RemovePermission {} {}", self.function_name, self.statement_id))?;
        drop(one);
        self.create().await
    }
}

impl InvokePermission<'_> {
    /// The statement as GetPolicy answers it, its revision kept in `seen`.
    async fn read_statement(&self) -> Result<Option<Value>> {
        let lambda = self.ctx.aws.lambda();
        let got =
            lambda.get_policy().function_name(&self.function_name).set_qualifier(self.qualifier.map(str::to_string));
        let policy = absent_if(got.send().await, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("lambda:GetPolicy {}", self.function_name))?;
        // An alias's policy answers the alias's revision; the revisions follow the function's, as listed.
        let seen = match (self.qualifier, self.revisions) {
            (Some(_), Some(revisions)) => revisions.listed(&self.function_name).and_then(|f| f.revision_id.clone()),
            _ => policy.as_ref().and_then(|p| p.revision_id.clone()),
        };
        *self.seen.borrow_mut() = Some(seen);
        let Some(document) = policy.and_then(|p| p.policy) else {
            return Ok(None);
        };
        let document: Value = serde_json::from_str(&document).context("Lambda returned a policy that is not JSON")?;
        let statements = document["Statement"].as_array().cloned().unwrap_or_default();
        Ok(statements.into_iter().find(|s| s["Sid"] == self.statement_id))
    }
}
