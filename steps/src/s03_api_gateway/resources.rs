//! The API's paths: listed once, created parents before children.

use anyhow::{Context as _, Result};
use std::collections::{BTreeSet, HashMap};

use crate::aws::AwsContext;
use aws_sdk_apigateway::types::Method;

use crate::ensure::{all, ensure, is_planned, Recorder, Resource, PLANNED};
use crate::manual::Route;
use crate::step::Context;

/// The API as one listing shows it: each path's resource ID and each method with its integration.
#[derive(Default)]
pub(super) struct Listing {
    pub(super) ids: HashMap<String, String>,
    /// (path, verb) → the method as API Gateway has it.
    pub(super) methods: HashMap<(String, String), Method>,
}

/// Every resource of the API with its methods embedded (`embed=methods`): one request where a method at a
/// time would take one each, against API Gateway's 10 requests/s for the whole account.
pub(super) async fn list_api(ctx: &Context<'_>, api_id: &str) -> Result<Listing> {
    if is_planned(api_id) {
        return Ok(Listing::default());
    }
    let request = ctx.aws.apigateway().get_resources().rest_api_id(api_id).embed("methods").limit(500);
    let resources = request
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws_context(|| format!("apigateway:GetResources {api_id}"))?;
    let mut listing = Listing::default();
    for resource in resources {
        let (Some(path), Some(id)) = (resource.path, resource.id) else { continue };
        for (verb, method) in resource.resource_methods.unwrap_or_default() {
            listing.methods.insert((path.clone(), verb), method);
        }
        listing.ids.insert(path, id);
    }
    Ok(listing)
}

pub(super) async fn existing_resources(ctx: &Context<'_>, api_id: &str) -> Result<HashMap<String, String>> {
    Ok(list_api(ctx, api_id).await?.ids)
}

/// Ensures every route's path, parents before children; returns path → resource ID.
pub(super) async fn ensure_resource_tree<'r>(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    root: &str,
    routes: &[Route<'r>],
    existing: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut ids: HashMap<String, String> = HashMap::from([("/".to_string(), root.to_string())]);
    let depth = |path: &str| path.matches('/').count();
    // Every route's path and the paths above it (`/status/{id}` needs `/status`).
    let all_paths: BTreeSet<&str> = routes
        .iter()
        .flat_map(|r| {
            let path: &'r str = r.path;
            path.match_indices('/').skip(1).map(move |(i, _)| &path[..i]).chain([path])
        })
        .collect();
    let deepest = all_paths.iter().map(|p| depth(p)).max().unwrap_or(0);
    for level in 1..=deepest {
        let paths: BTreeSet<&str> = all_paths.iter().copied().filter(|p| depth(p) == level).collect();
        let mut wanted = Vec::new();
        for path in paths {
            let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
            let parent_id = ids
                .get(if parent.is_empty() { "/" } else { parent })
                .cloned()
                .with_context(|| format!("no parent resource for {path}"))?;
            wanted.push(PathResource {
                ctx,
                api_id,
                path,
                part,
                parent_id,
                existing: existing.get(path).cloned(),
                listed: Default::default(),
            });
        }
        let made = all(wanted.iter().map(|r| ensure(r, recorder))).await?;
        ids.extend(wanted.iter().map(|r| r.path.to_string()).zip(made));
    }
    Ok(ids)
}

/// A path of the API, found by its path among the API's resources.
pub(super) struct PathResource<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api_id: &'a str,
    pub(super) path: &'a str,
    pub(super) part: &'a str,
    pub(super) parent_id: String,
    /// From the listing taken at the start of the step; a later look (after a failed create) lists again.
    pub(super) existing: Option<String>,
    pub(super) listed: std::cell::Cell<bool>,
}

impl Resource for PathResource<'_> {
    type Live = String;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id) || is_planned(&self.parent_id)
    }

    fn planned(&self) -> Option<String> {
        Some(PLANNED.into())
    }

    fn label(&self) -> String {
        format!("resource {}", self.path)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<String>> {
        if !self.listed.replace(true) {
            return Ok(self.existing.clone());
        }
        Ok(existing_resources(self.ctx, self.api_id).await?.remove(self.path))
    }

    async fn create(&self) -> Result<String> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_resource()
            .rest_api_id(self.api_id)
            .parent_id(&self.parent_id)
            .path_part(self.part)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateResource {}", self.path))?;
        created.id.context("CreateResource returned no ID")
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }
}
