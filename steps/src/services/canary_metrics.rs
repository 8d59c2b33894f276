//! What a release's canary watches: each new version's `Errors` and `Throttles` (CloudWatch's `AWS/Lambda`, by the
//! alias and the `ExecutedVersion`), and the REST stage's `5XXError`, summed since the canary began.

use anyhow::Result;
use aws_sdk_cloudwatch::types::MetricDataQuery;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::Clients;
use crate::live_alias::ALIAS;
use crate::metrics::{dimension, sum_query, sums};

/// What a canary watches: each function's new version (full name, version), the REST API's name and
/// stage, since a Unix second.
pub struct Watched<'a> {
    pub versions: &'a [(String, String)],
    pub rest: Option<&'a (String, String)>,
    pub since: u64,
}

/// GetMetricData takes at most 500 queries: two per function, and the stage's.
const FUNCTIONS_PER_REQUEST: usize = 249;

/// One figure a canary watches, above zero: the canary is rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// For people: "Errors of new-service-prompt-crud version 7", "5XXError of the REST stage prod".
    pub what: String,
    pub value: f64,
}

/// The window's sums: every function's Errors and Throttles, and the stage's 5XX.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub errors: f64,
    pub throttles: f64,
    pub server_errors: f64,
    /// The first figure above zero, if any: what the rollback names.
    pub worst: Option<Figure>,
}

impl Figures {
    fn add(&mut self, metric: &str, what: String, value: f64) {
        match metric {
            "Errors" => self.errors += value,
            "Throttles" => self.throttles += value,
            _ => self.server_errors += value,
        }
        if value > 0.0 && self.worst.is_none() {
            self.worst = Some(Figure { what, value });
        }
    }
}

/// CloudWatch's finest period for Lambda's and API Gateway's metrics.
const MINUTE: Duration = Duration::from_secs(60);

fn query(
    id: String,
    namespace: &str,
    metric: &str,
    dimensions: Vec<aws_sdk_cloudwatch::types::Dimension>,
) -> MetricDataQuery {
    sum_query(id, namespace, metric, dimensions, MINUTE)
}

/// A watched series: its query and how a rollback would name it.
struct Series {
    query: MetricDataQuery,
    metric: &'static str,
    what: String,
}

fn series(watched: &Watched) -> Vec<Series> {
    let mut all = Vec::new();
    for (i, (name, version)) in watched.versions.iter().enumerate() {
        for metric in ["Errors", "Throttles"] {
            let dimensions = vec![
                dimension("FunctionName", name),
                dimension("Resource", &format!("{name}:{ALIAS}")),
                dimension("ExecutedVersion", version),
            ];
            all.push(Series {
                query: query(format!("{}{i}", metric.to_lowercase()), "AWS/Lambda", metric, dimensions),
                metric,
                what: format!("{metric} of {name} version {version}"),
            });
        }
    }
    if let Some((api, stage)) = watched.rest {
        let dimensions = vec![dimension("ApiName", api), dimension("Stage", stage)];
        all.push(Series {
            query: query("stage5xx".into(), "AWS/ApiGateway", "5XXError", dimensions),
            metric: "5XXError",
            what: format!("5XXError of the REST stage {stage}"),
        });
    }
    all
}

/// The sums since the canary began. CloudWatch's periods start on the minute, so the window starts at
/// the minute the canary began in.
pub async fn figures(clients: &Clients, watched: &Watched<'_>) -> Result<Figures> {
    let start = UNIX_EPOCH + Duration::from_secs(watched.since - watched.since % 60);
    let end = SystemTime::now() + Duration::from_secs(60);
    let mut figures = Figures::default();
    let all = series(watched);
    for batch in all.chunks(2 * FUNCTIONS_PER_REQUEST + 1) {
        let queries = batch.iter().map(|w| w.query.clone()).collect();
        let got = sums(clients, queries, (start, end), "the canary's Errors, Throttles and 5XXError").await?;
        for w in batch {
            let value = w.query.id().and_then(|id| got.get(id)).copied().unwrap_or_default();
            figures.add(w.metric, w.what.clone(), value);
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_function_is_watched_by_its_alias_and_new_version_and_the_first_figure_above_zero_is_named() {
        let versions = [("svc-prompt-crud".to_string(), "4".to_string())];
        let rest = ("svc-rest-api".to_string(), "prod".to_string());
        let all = series(&Watched { versions: &versions, rest: Some(&rest), since: 0 });
        assert_eq!(all.len(), 3);
        let dimensions: Vec<(&str, &str)> = all[0]
            .query
            .metric_stat()
            .and_then(|s| s.metric())
            .map(|m| m.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect())
            .unwrap();
        assert_eq!(
            dimensions,
            [("FunctionName", "svc-prompt-crud"), ("Resource", "svc-prompt-crud:live"), ("ExecutedVersion", "4")]
        );
        let mut figures = Figures::default();
        figures.add("Errors", all[0].what.clone(), 0.0);
        figures.add("Throttles", all[1].what.clone(), 2.0);
        figures.add("5XXError", all[2].what.clone(), 1.0);
        assert_eq!((figures.errors, figures.throttles, figures.server_errors), (0.0, 2.0, 1.0));
        assert_eq!(figures.worst.unwrap().what, "Throttles of svc-prompt-crud version 4");
    }
}
