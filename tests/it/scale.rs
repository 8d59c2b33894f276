//! The backend at scale, as a team's grows: the manual's six functions and 94 more, 20 tables (some with a
//! sort key, a TTL or an index), 99 REST route families (297 resources: `/rNN`, `/rNN/{id}`,
//! `/rNN/{id}/items`) and 50 WebSocket actions besides the manual's three routes. `make bench` deploys it
//! under the simulated AWS; the kill-and-resume scenario below deploys it under strict mode.

use crate::support::Deployment;
use std::fmt::Write as _;

pub const ADDED_FUNCTIONS: usize = 94;
pub const ADDED_TABLES: usize = 16;
pub const ROUTE_FAMILIES: usize = 99;
pub const WEBSOCKET_ACTIONS: usize = 50;

fn function(n: usize) -> String {
    format!("fn-{n:02}")
}

/// A handler module per added function, writing deployer.toml beside the backend: the whole fixture.
pub fn write_fixture(d: &Deployment) {
    write_fixture_of(d, ADDED_FUNCTIONS, ROUTE_FAMILIES);
}

/// The fixture with `added` functions besides the manual's and `families` route families.
pub fn write_fixture_of(d: &Deployment, added: usize, families: usize) {
    let handlers = d.path("backend/handlers/generated");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(handlers.join("__init__.py"), "").unwrap();
    let mut toml = format!("service = \"{}\"\n", d.service);
    for n in 0..added {
        let module = format!("f{n:02}");
        let body = format!(
            "import os\n\n\ndef handler(event, context):\n    return {{\"statusCode\": 200, \"body\": \"{module} \" + os.environ.get(\"STAGE\", \"\")}}\n"
        );
        std::fs::write(handlers.join(format!("{module}.py")), body).unwrap();
        let _ = writeln!(toml, "\n[functions.{}]\nhandler = \"handlers.generated.{module}.handler\"", function(n));
        // Every tenth reaches two tables only, through a role of its own.
        if n % 10 == 0 {
            let _ = writeln!(toml, "tables = [\"usage\", \"t-{:02}\"]", n % ADDED_TABLES);
        }
    }
    for n in 0..ADDED_TABLES {
        let _ = writeln!(toml, "\n[tables.t-{n:02}]\npartition_key = \"id\"");
        if n % 2 == 0 {
            let _ = writeln!(toml, "sort_key = \"at\"");
        }
        if n % 4 == 1 {
            let _ = writeln!(toml, "ttl_attribute = \"expires\"");
        }
        if n % 5 == 3 {
            let _ = writeln!(
                toml,
                "[[tables.t-{n:02}.global_secondary_indexes]]\nname = \"by-owner\"\npartition_key = \"owner\""
            );
        }
    }
    // Each path of a family to the next function in turn: fewer families still route to every function
    // while there are as many paths as functions, so that the bench can tell routes from functions.
    for n in 0..families {
        for (k, (path, methods)) in
            [("", "\"GET\", \"POST\""), ("/{id}", "\"GET\", \"PUT\", \"DELETE\""), ("/{id}/items", "\"GET\"")]
                .into_iter()
                .enumerate()
        {
            let owner = function((3 * n + k) % added);
            let _ = writeln!(
                toml,
                "\n[[routes]]\npath = \"/r{n:02}{path}\"\nmethods = [{methods}]\nfunction = \"{owner}\""
            );
        }
    }
    for n in 0..WEBSOCKET_ACTIONS {
        let owner = function(n % 10);
        let _ = writeln!(toml, "\n[[websocket.routes]]\nroute_key = \"action-{n:02}\"\nfunction = \"{owner}\"");
    }
    std::fs::write(d.path("deployer.toml"), toml).unwrap();
}

#[tokio::test]
async fn a_backend_of_100_functions_deploys_and_reruns_with_no_write() {
    let d = Deployment::new("scale-moto");
    write_fixture(&d);
    let fresh = d.run(&["run"]);
    fresh.assert_ok();
    let now = crate::support::inventory("scale-moto").await;
    assert_eq!(now.functions.len(), 6 + ADDED_FUNCTIONS);
    assert_eq!(now.tables.len(), 4 + ADDED_TABLES);
    let resources = now.rest_methods.iter().filter(|m| !m.contains(' ')).count();
    assert_eq!(resources, 1 + 3 * ROUTE_FAMILIES, "/ and each family's three paths");
    assert_eq!(now.routes.len(), 3 + WEBSOCKET_ACTIONS);
    let state = std::fs::read_to_string(d.state_path()).unwrap();
    let again = d.run(&["run"]);
    again.assert_ok();
    // Not even the state file: the revisions 03 and 04 recorded, running at once on the same functions,
    // still chain to what AWS shows.
    let after = std::fs::read_to_string(d.state_path()).unwrap();
    assert!(after == state, "the re-run rewrote the state file:\n{}", crate::support::lines_changed(&state, &after));
    assert_eq!(
        again.requests().1,
        0,
        "{:?}",
        again.changes().iter().filter(|c| c.1 != "unchanged").collect::<Vec<_>>()
    );
    let (reads, _) = again.requests();
    eprintln!("fresh: {:?}; no-op reads: {reads}", fresh.requests());
}

/// An inventory as another service's would read: the same backend, named for `to`.
fn renamed(inventory: &crate::support::Inventory, from: &str, to: &str) -> String {
    format!("{inventory:?}").replace(&format!("{from}-"), &format!("{to}-"))
}

#[tokio::test]
async fn strict_a_backend_of_100_functions_killed_at_ten_points_then_resumed_is_as_if_never_killed() {
    use crate::proxy::{Proxy, Rules};
    use crate::strict::Strict;
    use crate::strict_scenarios::{killed_after, through, SCALE};
    use crate::support::{inventory, moto};

    let reference = Deployment::new("scale-ref");
    write_fixture(&reference);
    let proxy = Proxy::start(&moto().url(), Rules { strict: Some(Strict::all(SCALE)), ..Rules::default() });
    through(&reference, &proxy, &["run"]).assert_ok();
    let requests = proxy.seen(|s| s.forwarded);
    let expected = inventory("scale-ref").await;

    // Kill points spread over the deploy as the uninterrupted one went (the proxy forwarded `requests` for
    // it; the waits' polls vary with the machine's speed): its fifth request, then each eleventh of it up to
    // nine.
    let points = std::iter::once(5).chain((1..=9).map(|k| requests * k / 11));
    for (i, after) in points.enumerate() {
        let d = Deployment::new(&format!("scale-kill-{i}"));
        write_fixture(&d);
        let proxy = killed_after(&d, &["run"], after);

        let resumed =
            if d.state_path().exists() { through(&d, &proxy, &["resume"]) } else { through(&d, &proxy, &["run"]) };
        resumed.assert_ok();
        let now = inventory(&d.service).await;
        assert_eq!(renamed(&now, &d.service, "scale-ref"), format!("{expected:?}"), "killed after {after} requests");
        let again = through(&d, &proxy, &["run"]);
        again.assert_ok();
        assert_eq!(again.requests().1, 0, "a run after the resume writes nothing (killed after {after})");
    }
}
