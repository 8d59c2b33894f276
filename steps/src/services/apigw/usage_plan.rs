//! `[auth] kind = "api_key"`: the API key `SERVICE-api-key` and the usage plan `SERVICE-usage-plan` that
//! binds it to the REST stages with its throttle and quota. `07-stages` ensures them on both stages (a
//! plan names stages, and the dev stage is 07's); `03-api-gateway` ensures them first on the stages that
//! exist when a live API starts to require a key, so that no caller is locked out meanwhile. Neither create takes an idempotency token:
//! each ID is recorded the moment it is made, and found by name otherwise. The key's value is never
//! recorded: `deployer outputs` asks API Gateway for it.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{ApiStage, Op, PatchOperation, QuotaPeriodType, QuotaSettings, ThrottleSettings};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{ensure, is_planned, Recorder, Resource, PLANNED};
use crate::step::Context;

pub const KEY_ID: &str = "api_key_id";

/// The key, a usage plan on `stages`, and the key in the plan.
pub async fn ensure_key_access(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    stages: &[&str],
) -> Result<()> {
    let key_id = ensure(&ApiKey { ctx }, recorder).await?;
    let plan = ensure(&UsagePlan { ctx, api_id, stages: stages.to_vec() }, recorder).await?;
    ensure(&PlanKey { ctx, plan_id: &plan.id, key_id: &key_id }, recorder).await
}
pub const PLAN_ID: &str = "usage_plan_id";

pub struct ApiKey<'a> {
    pub ctx: &'a Context<'a>,
}

impl Resource for ApiKey<'_> {
    /// Its ID.
    type Live = String;

    fn label(&self) -> String {
        format!("API key {}", self.ctx.name("api-key"))
    }

    fn key(&self) -> Option<String> {
        Some(KEY_ID.to_string())
    }

    fn planned(&self) -> Option<String> {
        Some(PLANNED.to_string())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<String>> {
        let client = self.ctx.aws.apigateway();
        if let Some(id) = recorded.filter(|id| !id.is_empty()) {
            let got = absent_if(client.get_api_key().api_key(id).send().await, |e| e.is_not_found_exception())
                .aws_context(|| format!("apigateway:GetApiKey {id}"))?;
            if got.is_some() {
                return Ok(Some(id.to_string()));
            }
        }
        let name = self.ctx.name("api-key");
        let listed = client.get_api_keys().name_query(&name).limit(500).send().await;
        let listed = listed.aws_context(|| format!("apigateway:GetApiKeys {name}"))?;
        Ok(listed.items().iter().find(|k| k.name() == Some(name.as_str())).and_then(|k| k.id().map(str::to_string)))
    }

    async fn create(&self) -> Result<String> {
        let name = self.ctx.name("api-key");
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_api_key()
            .name(&name)
            .enabled(true)
            .description(format!("{} REST API (made by deployer)", self.ctx.settings.service))
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateApiKey {name}"))?;
        created.id().map(str::to_string).context("CreateApiKey answered without an ID")
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }

    async fn delete(&self, live: String) -> Result<()> {
        let deleted = self.ctx.aws.apigateway().delete_api_key().api_key(&live).send().await;
        absent_if(deleted, |e| e.is_not_found_exception()).aws_context(|| format!("apigateway:DeleteApiKey {live}"))?;
        Ok(())
    }
}

/// The plan as deployer.toml wants it: the stages, a throttle per key, and a quota if any.
pub struct UsagePlan<'a> {
    pub ctx: &'a Context<'a>,
    pub api_id: &'a str,
    /// Empty when only removing it.
    pub stages: Vec<&'a str>,
}

pub struct LivePlan {
    pub id: String,
    stages: Vec<String>,
    throttle: Option<(f64, i32)>,
    quota: Option<(i32, String)>,
}

impl UsagePlan<'_> {
    fn name(&self) -> String {
        self.ctx.name("usage-plan")
    }

    fn stage_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.stages.iter().map(|s| format!("{}:{s}", self.api_id)).collect();
        ids.sort();
        ids
    }

    fn throttle(&self) -> (f64, i32) {
        let (auth, s) = (&self.ctx.settings.auth, self.ctx.settings);
        (f64::from(auth.rate_limit.unwrap_or(s.throttle_rate)), auth.burst_limit.unwrap_or(s.throttle_burst) as i32)
    }

    fn quota(&self) -> Option<(i32, String)> {
        let auth = &self.ctx.settings.auth;
        let period = auth.quota_period.clone().unwrap_or_else(|| "DAY".to_string());
        auth.quota_limit.map(|limit| (limit as i32, period))
    }

    fn live(plan: &aws_sdk_apigateway::operation::get_usage_plan::GetUsagePlanOutput) -> LivePlan {
        let mut stages: Vec<String> = plan
            .api_stages()
            .iter()
            .map(|s| format!("{}:{}", s.api_id().unwrap_or_default(), s.stage().unwrap_or_default()))
            .collect();
        stages.sort();
        LivePlan {
            id: plan.id().unwrap_or_default().to_string(),
            stages,
            throttle: plan.throttle().map(|t| (t.rate_limit(), t.burst_limit())),
            quota: plan.quota().map(|q| (q.limit(), q.period().map_or("", |p| p.as_str()).to_string())),
        }
    }
}

impl Resource for UsagePlan<'_> {
    type Live = LivePlan;

    fn label(&self) -> String {
        format!("usage plan {}", self.name())
    }

    fn key(&self) -> Option<String> {
        Some(PLAN_ID.to_string())
    }

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<LivePlan> {
        Some(LivePlan { id: PLANNED.to_string(), stages: Vec::new(), throttle: None, quota: None })
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LivePlan>> {
        let client = self.ctx.aws.apigateway();
        let id = match recorded.filter(|id| !id.is_empty()) {
            Some(id) => Some(id.to_string()),
            None => {
                let listed = client.get_usage_plans().limit(500).send().await;
                let listed = listed.aws_context(|| "apigateway:GetUsagePlans".to_string())?;
                let name = self.name();
                listed.items().iter().find(|p| p.name() == Some(name.as_str())).and_then(|p| p.id().map(str::to_string))
            }
        };
        let Some(id) = id else { return Ok(None) };
        let got = absent_if(client.get_usage_plan().usage_plan_id(&id).send().await, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetUsagePlan {id}"))?;
        Ok(got.as_ref().map(Self::live))
    }

    async fn create(&self) -> Result<LivePlan> {
        let (rate, burst) = self.throttle();
        let stages = self.stages.iter().map(|s| ApiStage::builder().api_id(self.api_id).stage(*s).build());
        let quota = self.quota().map(|(limit, period)| {
            QuotaSettings::builder().limit(limit).period(QuotaPeriodType::from(period.as_str())).build()
        });
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_usage_plan()
            .name(self.name())
            .set_api_stages(Some(stages.collect()))
            .throttle(ThrottleSettings::builder().rate_limit(rate).burst_limit(burst).build())
            .set_quota(quota)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateUsagePlan {}", self.name()))?;
        let id = created.id().context("CreateUsagePlan answered without an ID")?.to_string();
        Ok(LivePlan { id, stages: self.stage_ids(), throttle: Some((rate, burst)), quota: self.quota() })
    }

    fn id(&self, live: &LivePlan) -> String {
        live.id.clone()
    }

    fn values(&self, live: &LivePlan, field: &str) -> Option<(String, String)> {
        let throttle =
            |t: Option<(f64, i32)>| t.map_or("none".to_string(), |(rate, burst)| format!("{rate}/s burst {burst}"));
        let quota = |q: &Option<(i32, String)>| {
            q.as_ref().map_or("none".to_string(), |(n, period)| format!("{n} per {period}"))
        };
        Some(match field {
            "stages" => (live.stages.join(", "), self.stage_ids().join(", ")),
            "throttle" => (throttle(live.throttle), throttle(Some(self.throttle()))),
            "quota" => (quota(&live.quota), quota(&self.quota())),
            _ => return None,
        })
    }

    fn differences(&self, live: &LivePlan) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if live.stages != self.stage_ids() {
            fields.push("stages");
        }
        if live.throttle != Some(self.throttle()) {
            fields.push("throttle");
        }
        if live.quota != self.quota() {
            fields.push("quota");
        }
        Ok(fields)
    }

    async fn update(&self, live: LivePlan, fields: &[&'static str]) -> Result<LivePlan> {
        let operation =
            |op: Op, path: &str, value: &str| PatchOperation::builder().op(op).path(path).value(value).build();
        let wanted = self.stage_ids();
        let mut operations = Vec::new();
        if fields.contains(&"stages") {
            operations.extend(
                live.stages.iter().filter(|s| !wanted.contains(s)).map(|s| operation(Op::Remove, "/apiStages", s)),
            );
            operations.extend(
                wanted.iter().filter(|s| !live.stages.contains(s)).map(|s| operation(Op::Add, "/apiStages", s)),
            );
        }
        if fields.contains(&"throttle") {
            let (rate, burst) = self.throttle();
            operations.push(operation(Op::Replace, "/throttle/rateLimit", &rate.to_string()));
            operations.push(operation(Op::Replace, "/throttle/burstLimit", &burst.to_string()));
        }
        if fields.contains(&"quota") {
            match self.quota() {
                Some((limit, period)) => {
                    operations.push(operation(Op::Replace, "/quota/limit", &limit.to_string()));
                    operations.push(operation(Op::Replace, "/quota/period", &period));
                }
                None => operations.push(PatchOperation::builder().op(Op::Remove).path("/quota").build()),
            }
        }
        self.ctx
            .aws
            .apigateway()
            .update_usage_plan()
            .usage_plan_id(&live.id)
            .set_patch_operations(Some(operations))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateUsagePlan {} ({})", self.name(), fields.join(", ")))?;
        Ok(LivePlan { id: live.id, stages: wanted, throttle: Some(self.throttle()), quota: self.quota() })
    }

    /// A plan with stages cannot be deleted: they go first.
    async fn delete(&self, live: LivePlan) -> Result<()> {
        let client = self.ctx.aws.apigateway();
        if !live.stages.is_empty() {
            let removals = live
                .stages
                .iter()
                .map(|s| PatchOperation::builder().op(Op::Remove).path("/apiStages").value(s).build());
            let updated =
                client.update_usage_plan().usage_plan_id(&live.id).set_patch_operations(Some(removals.collect()));
            updated.send().await.aws_context(|| format!("apigateway:UpdateUsagePlan {} (stages)", live.id))?;
        }
        let deleted = client.delete_usage_plan().usage_plan_id(&live.id).send().await;
        absent_if(deleted, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:DeleteUsagePlan {}", live.id))?;
        Ok(())
    }
}

/// The key's place in the plan.
pub struct PlanKey<'a> {
    pub ctx: &'a Context<'a>,
    pub plan_id: &'a str,
    pub key_id: &'a str,
}

impl Resource for PlanKey<'_> {
    type Live = ();

    fn label(&self) -> String {
        format!("API key {} in usage plan {}", self.key_id, self.plan_id)
    }

    fn under_planned(&self) -> bool {
        is_planned(self.plan_id) || is_planned(self.key_id)
    }

    fn planned(&self) -> Option<()> {
        Some(())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<()>> {
        let got =
            self.ctx.aws.apigateway().get_usage_plan_key().usage_plan_id(self.plan_id).key_id(self.key_id).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetUsagePlanKey {} {}", self.plan_id, self.key_id))?;
        Ok(got.map(|_| ()))
    }

    async fn create(&self) -> Result<()> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_usage_plan_key()
            .usage_plan_id(self.plan_id)
            .key_id(self.key_id)
            .key_type("API_KEY")
            .send()
            .await;
        // Made already (a lost answer, or a run killed after it): that is what is wanted.
        absent_if(created, |e| e.is_conflict_exception())
            .aws_context(|| format!("apigateway:CreateUsagePlanKey {} {}", self.plan_id, self.key_id))?;
        Ok(())
    }

    fn id(&self, _live: &()) -> String {
        self.key_id.to_string()
    }
}
