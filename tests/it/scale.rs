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
    let handlers = d.path("backend/handlers/generated");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(handlers.join("__init__.py"), "").unwrap();
    let mut toml = format!("service = \"{}\"\n", d.service);
    for n in 0..ADDED_FUNCTIONS {
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
    for n in 0..ROUTE_FAMILIES {
        let owner = function(n % ADDED_FUNCTIONS);
        for (path, methods) in
            [("", "\"GET\", \"POST\""), ("/{id}", "\"GET\", \"PUT\", \"DELETE\""), ("/{id}/items", "\"GET\"")]
        {
            let _ = writeln!(toml, "\n[[routes]]\npath = \"/r{n:02}{path}\"\nmethods = [{methods}]\nfunction = \"{owner}\"");
        }
    }
    for n in 0..WEBSOCKET_ACTIONS {
        let owner = function(n % 10);
        let _ = writeln!(toml, "\n[[websocket.routes]]\nroute_key = \"action-{n:02}\"\nfunction = \"{owner}\"");
    }
    std::fs::write(d.path("deployer.toml"), toml).unwrap();
}
