//! CloudWatch's GetMetricData as deployer reads it: sums of counts over a window (08-verify's invocations
//! and errors, a canary's figures).

use anyhow::Result;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::aws::{AwsContext, Clients};

pub fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// A series' sums by `period`, under the ID `id` (a lowercase letter first, as CloudWatch asks).
pub fn sum_query(
    id: String,
    namespace: &str,
    metric: &str,
    dimensions: Vec<Dimension>,
    period: Duration,
) -> MetricDataQuery {
    let metric = Metric::builder().namespace(namespace).metric_name(metric).set_dimensions(Some(dimensions)).build();
    let stat = MetricStat::builder().metric(metric).period(period.as_secs() as i32).stat("Sum").build();
    MetricDataQuery::builder().id(id).metric_stat(stat).return_data(true).build()
}

/// Each query's values summed from `start` to `end`, by its ID (a series with no data sums to 0). One
/// request: at most 500 queries.
pub async fn sums(
    clients: &Clients,
    queries: Vec<MetricDataQuery>,
    (start, end): (SystemTime, SystemTime),
    what: &str,
) -> Result<BTreeMap<String, f64>> {
    let ids: Vec<String> = queries.iter().filter_map(|q| q.id().map(str::to_string)).collect();
    let got = clients
        .cloudwatch()
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(start.into())
        .end_time(end.into())
        .send()
        .await
        .aws_context(|| format!("cloudwatch:GetMetricData {what}"))?;
    let sum = |id: &str| {
        let result = got.metric_data_results().iter().find(|r| r.id() == Some(id));
        result.map_or(0.0, |r| r.values().iter().sum::<f64>())
    };
    Ok(ids.iter().map(|id| (id.clone(), sum(id))).collect())
}
