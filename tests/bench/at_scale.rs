//! `make bench`'s third table: a backend of 100 functions (the manual's six and 94 more), 20 tables, 99
//! REST route families (297 resources) and 53 WebSocket routes (`tests/it/scale.rs`), deployed without a
//! domain under the simulated AWS (latency, quotas, in-between states), and again on the quotas alone.
//! Each figure is printed beside its goal, and the fresh deploy beside its quota floor: the least time the
//! documented quotas allow for this fixture by any sequence of calls, computed below. A benchmark, not a
//! test: `cargo bench --bench at_scale`.

// The integration tests' harness, shared as it is; this uses a part of it.
#![allow(dead_code)]

#[path = "../it/proxy.rs"]
mod proxy;
#[path = "../it/scale.rs"]
mod scale;
#[path = "../it/strict/mod.rs"]
mod strict;
#[path = "../it/support.rs"]
mod support;
#[path = "../it/velocity.rs"]
mod velocity;

#[path = "measure.rs"]
mod measure;

use measure::{measure, peak_rss_mb, seconds, Measured};
use proxy::{Latency, Proxy, Rules};
use std::collections::BTreeSet;
use std::time::Duration;
use strict::Strict;
use support::{moto, Deployment};

/// The strict model's seconds of a new table's `CREATING`.
const TABLE_CREATING: f64 = 10.0;

/// What the fixture needs of each throttled API, at least: the writes no sequence of calls can avoid.
struct Needs {
    functions: usize,
    /// (function, API) pairs: one invoke permission each.
    permissions: usize,
    websocket_integrations: usize,
    websocket_routes: usize,
}

fn needs() -> Needs {
    // The fixture gives each of a family's three paths the next function in turn.
    let rest_functions: BTreeSet<usize> = (0..3 * scale::ROUTE_FAMILIES).map(|p| p % scale::ADDED_FUNCTIONS).collect();
    // The manual's three WebSocket functions and the ten the actions go to.
    let websocket_integrations = 3 + scale::WEBSOCKET_ACTIONS.min(10);
    Needs {
        functions: 6 + scale::ADDED_FUNCTIONS,
        permissions: rest_functions.len() + websocket_integrations,
        websocket_integrations,
        websocket_routes: 3 + scale::WEBSOCKET_ACTIONS,
    }
}

/// Seconds for `calls` through a bucket of `rate`/s holding `burst`.
fn through_bucket(calls: usize, rate: f64, burst: f64) -> f64 {
    ((calls as f64 - burst) / rate).max(0.0)
}

/// The quota floor: each bound a sequence of calls cannot beat, (what, seconds); the floor is the largest.
fn floor(config: &Strict, latency: Latency) -> Vec<(String, f64)> {
    let n = needs();
    let write = latency.write.as_secs_f64();
    // Each function: CreateFunction, PublishVersion and CreateAlias (its alias `live`, which the APIs invoke).
    let lambda_writes = 3 * n.functions + n.permissions;
    // REST: CreateRestApi, one PutRestApi with every path, two gateway responses, CreateDeployment, the
    // main stage's settings, the dev stage and its settings, the account's logging role. WebSocket: the
    // API, its integrations and routes, two stages.
    let apigateway_writes = 9 + 1 + n.websocket_integrations + n.websocket_routes + 2;
    vec![
        (
            format!(
                "Lambda, 15 requests/s (burst 15): a role made, IAM's propagation ({:.0} s), then {} CreateFunction, PublishVersion and CreateAlias each, and {} AddPermission",
                config.role_propagation, n.functions, n.permissions
            ),
            write + config.role_propagation + through_bucket(lambda_writes, 15.0, 15.0) + write,
        ),
        (
            format!(
                "API Gateway, 10 requests/s (burst 40) for REST and WebSocket: {apigateway_writes} writes, the REST ones one after another (CreateRestApi, PutRestApi, CreateDeployment, stage)"
            ),
            through_bucket(apigateway_writes, 10.0, 40.0) + 4.0 * write,
        ),
        (
            "DynamoDB: CreateTable, CREATING, then UpdateTimeToLive".to_string(),
            2.0 * write + TABLE_CREATING * config.scale,
        ),
    ]
}

fn goal(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn deploy(proxy: &Proxy, scale: f64, service: &str) -> (Deployment, Measured) {
    let d = Deployment::new(service);
    scale::write_fixture(&d);
    let fresh = measure(&d, proxy, scale, &["run"]);
    (d, fresh)
}

fn main() {
    let scale: f64 = std::env::var("SIM_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(0.2);
    let latency = Latency::AWS;
    let config = Strict::typical(scale);
    let simulated = Proxy::start(
        &moto().url(),
        Rules { strict: Some(config.clone()), latency: Some(latency), seed: 11, ..Rules::default() },
    );
    eprintln!("100 functions under the simulated AWS (latency {latency:?}, waits x{scale})...");
    let (d, fresh) = deploy(&simulated, scale, "scale-sim");
    eprintln!("no-op run...");
    let noop = measure(&d, &simulated, scale, &["run"]);
    eprintln!("one handler changed...");
    let handler = d.path("backend/handlers/generated/f42.py");
    let code = std::fs::read_to_string(&handler).expect("the handler");
    std::fs::write(&handler, format!("{code}\n# edited by the benchmark\n")).expect("edit the handler");
    let hot = measure(&d, &simulated, scale, &["run"]);
    let live = hot.finished("02-lambda").unwrap_or(hot.took);
    eprintln!("rollback to the release before...");
    let back = measure(&d, &simulated, scale, &["rollback", "--yes"]);

    eprintln!("the same backend on the quotas alone (no latency)...");
    let quotas_only =
        Proxy::start(&moto().url(), Rules { strict: Some(config.clone()), latency: None, ..Rules::default() });
    let (_, bare) = deploy(&quotas_only, scale, "scale-bare");

    eprintln!("no-op request growth: half the functions and half the routes...");
    let half = Proxy::start(&moto().url(), Rules { strict: Some(config.clone()), latency: None, ..Rules::default() });
    let small = Deployment::new("scale-half");
    scale::write_fixture_of(&small, scale::ADDED_FUNCTIONS / 2, scale::ROUTE_FAMILIES);
    measure(&small, &half, scale, &["run"]);
    let small_noop = measure(&small, &half, scale, &["run"]);
    let fewer_routes = Deployment::new("scale-routes");
    scale::write_fixture_of(&fewer_routes, scale::ADDED_FUNCTIONS, scale::ROUTE_FAMILIES / 3);
    measure(&fewer_routes, &half, scale, &["run"]);
    let routes_noop = measure(&fewer_routes, &half, scale, &["run"]);
    let full_noop = {
        let again = Deployment::new("scale-full");
        scale::write_fixture(&again);
        measure(&again, &half, scale, &["run"]);
        measure(&again, &half, scale, &["run"])
    };

    let bounds = floor(&config, latency);
    let floor_seconds = bounds.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    let ratio = fresh.took.as_secs_f64() / floor_seconds;
    let per_function = (full_noop.requests() as f64 - small_noop.requests() as f64)
        / (scale::ADDED_FUNCTIONS - scale::ADDED_FUNCTIONS / 2) as f64;
    let by_routes = full_noop.requests() as i64 - routes_noop.requests() as i64;
    let throttled = fresh.throttled + noop.throttled + hot.throttled + bare.throttled;

    println!("100 functions, 20 tables, 297 REST resources, 53 WebSocket routes, no domain. Simulated AWS: requests held {} ms (reads) / {} ms (writes) median; quotas at their real rates; in-between states at {scale} x their typical durations.\n",
        latency.read.as_millis(), latency.write.as_millis());
    println!("| measurement | deployer | requests (by service) | 429s | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| fresh deploy | {} ({ratio:.2} x the quota floor of {floor_seconds:.1} s) | {} ({}) | {} | <= 1.25 x floor: {} |",
        seconds(fresh.took), fresh.requests(), fresh.services(), fresh.throttled, goal(ratio <= 1.25)
    );
    println!(
        "| fresh deploy, quotas alone (no latency) | {} | {} ({}) | {} | <= 3 min: {} |",
        seconds(bare.took),
        bare.requests(),
        bare.services(),
        bare.throttled,
        goal(bare.took <= Duration::from_secs(180))
    );
    println!(
        "| no-op `run` | {} | {} ({}) | {} | <= 5 s: {} |",
        seconds(noop.took),
        noop.requests(),
        noop.services(),
        noop.throttled,
        goal(noop.took <= Duration::from_secs(5))
    );
    println!(
        "| no-op requests per added function (47 vs 94 added) | {per_function:.2} | {} vs {} | | <= 1.2: {} |",
        small_noop.requests(),
        full_noop.requests(),
        goal(per_function <= 1.2)
    );
    println!(
        "| no-op requests, 297 vs 99 REST resources (every function routed in both) | {by_routes:+} | {} vs {} | | no growth: {} |",
        full_noop.requests(),
        routes_noop.requests(),
        goal(by_routes <= 0)
    );
    println!(
        "| one handler changed, `run` | code live at {}, run done at {} | {} ({}) | {} | <= 5 s: {} |",
        seconds(live),
        seconds(hot.took),
        hot.requests(),
        hot.services(),
        hot.throttled,
        goal(live <= Duration::from_secs(5))
    );
    println!(
        "| `rollback` to the release before (the one function changed, and the REST stage) | {} | {} ({}) | {} | <= 15 s: {} |",
        seconds(back.took),
        back.requests(),
        back.services(),
        back.throttled,
        goal(back.took <= Duration::from_secs(15))
    );
    let failed = [&fresh, &noop, &hot, &bare].iter().map(|m| m.steps_failed()).sum::<usize>();
    println!(
        "| steps failed (on throttling or else) | {failed} | | {throttled} 429s in all, each retried | none: {} |",
        goal(failed == 0)
    );
    println!("| peak RSS of deployer | {:.0} MB | | | |", peak_rss_mb());
    println!("\nThe quota floor, the largest of these bounds:\n");
    for (what, s) in &bounds {
        println!("- {what}: {s:.1} s");
    }
    println!("\nThe fresh deploy's steps finished at: {}", fresh.steps_finished());
}
