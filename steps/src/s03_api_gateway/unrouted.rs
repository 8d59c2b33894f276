//! What no route names any more, of what deployer made on the REST API: a method whose route left the
//! settings, and a resource left with none of deployer's routes under it. Deployer knows what it made by
//! the methods it recorded (`methods`); a method made by hand, or by the manual's scripts before deployer
//! adopted the API, is never deleted. Deleted once the wanted methods are in place (the next deployment
//! serves the API without them), and listed by `plan` as to delete first.

use anyhow::{bail, Result};
use std::collections::BTreeSet;

use super::methods::Method;
use super::resources::Listing;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{remove, Recorder, Resource};
use crate::step::Context;

/// A method or a resource (with all under it) to delete.
struct Unrouted<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    resource_id: &'a str,
    path: &'a str,
    /// `None`: the resource itself.
    verb: Option<&'a str>,
}

impl Resource for Unrouted<'_> {
    type Live = ();

    fn label(&self) -> String {
        match self.verb {
            Some(verb) => format!("method {verb} {} (no route names it)", self.path),
            None => format!("resource {} and what is under it (no route names it)", self.path),
        }
    }

    /// Found by the step's listing of the API.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<()>> {
        Ok(Some(()))
    }

    async fn create(&self) -> Result<()> {
        bail!("{} is only ever deleted", self.label())
    }

    fn id(&self, _live: &()) -> String {
        self.resource_id.to_string()
    }

    async fn delete(&self, _live: ()) -> Result<()> {
        let apigateway = self.ctx.aws.apigateway();
        let (api_id, resource_id) = (self.api_id, self.resource_id);
        let label = || {
            format!(
                "apigateway:Delete{} {api_id} {}",
                if self.verb.is_some() { "Method" } else { "Resource" },
                self.label()
            )
        };
        match self.verb {
            Some(verb) => {
                let deleted = apigateway
                    .delete_method()
                    .rest_api_id(api_id)
                    .resource_id(resource_id)
                    .http_method(verb)
                    .send()
                    .await;
                absent_if(deleted, |e| e.is_not_found_exception()).aws_context(label)?;
            }
            None => {
                let deleted = apigateway.delete_resource().rest_api_id(api_id).resource_id(resource_id).send().await;
                absent_if(deleted, |e| e.is_not_found_exception()).aws_context(label)?;
            }
        }
        Ok(())
    }
}

/// `/a/b` → `/a`, `/a` → `/`.
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

/// The wanted methods, as recorded once they are in place.
pub(super) fn recorded_form(wanted: &[Method<'_>]) -> String {
    let methods: BTreeSet<String> = wanted.iter().map(|m| format!("{} {}", m.verb, m.path)).collect();
    methods.into_iter().collect::<Vec<_>>().join("\n")
}

/// Deletes the methods deployer recorded that no route names now, and the topmost resources holding only
/// such methods (their children and methods go with them).
pub(super) async fn remove_unrouted(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    listing: &Listing,
    wanted: &[Method<'_>],
) -> Result<()> {
    let recorded = recorder.recorded(&crate::outputs::REST_METHODS.key).unwrap_or_default();
    let wanted_methods: BTreeSet<(&str, &str)> = wanted.iter().map(|m| (m.path, m.verb)).collect();
    let stale: BTreeSet<(&str, &str)> = recorded
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(verb, path)| (path, verb)))
        .filter(|method| !wanted_methods.contains(method))
        .filter(|(path, verb)| listing.methods.contains_key(&(path.to_string(), verb.to_string())))
        .collect();
    let mut wanted_paths: BTreeSet<&str> = BTreeSet::from(["/"]);
    for method in wanted {
        let mut path = method.path;
        while path != "/" {
            wanted_paths.insert(path);
            path = parent(path);
        }
    }
    let under = |top: &str, path: &str| path == top || path.starts_with(&format!("{top}/"));
    // A resource no wanted route is under, all of whose methods (its children's too) are stale: deleted
    // whole, as the topmost such one.
    let only_stale = |top: &str| {
        listing.methods.keys().filter(|(p, _)| under(top, p)).all(|(p, v)| stale.contains(&(p.as_str(), v.as_str())))
    };
    let removable = |path: &str| !wanted_paths.contains(path) && only_stale(path);
    let mut removed: Vec<&str> = Vec::new();
    let mut paths: Vec<&String> = listing.ids.keys().collect();
    paths.sort();
    for path in paths {
        if removable(path) && removed.iter().all(|top| !under(top, path)) {
            removed.push(path);
            let resource_id = &listing.ids[path];
            remove(&Unrouted { ctx, api_id, resource_id, path, verb: None }, recorder).await?;
        }
    }
    for (path, verb) in stale.iter().filter(|(path, _)| removed.iter().all(|top| !under(top, path))) {
        // Invariant: `stale` holds only methods of the listing, whose resources it lists too.
        let resource_id = &listing.ids[*path];
        remove(&Unrouted { ctx, api_id, resource_id, path, verb: Some(verb) }, recorder).await?;
    }
    Ok(())
}
