//! IAM, Lambda and DynamoDB in the strict model: role propagation, function states, table and TTL states.

use super::*;

impl Model {
    /// UpdateAccount naming a role IAM has not propagated yet: API Gateway cannot write logs with it.
    pub(super) fn account_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::IamPropagation) || call.method != "PATCH" || call.segments() != ["account"] {
            return None;
        }
        let request = call.json();
        let operations = request["patchOperations"].as_array()?;
        let role = operations.iter().find(|o| o["path"] == "/cloudwatchRoleArn")?["value"].as_str()?;
        if world.roles.get(role).is_none_or(|usable| *usable <= Instant::now()) {
            return None;
        }
        let message = "API Gateway could not successfully write to CloudWatch Logs using the ARN specified. Please \
                       ensure that the ARN is correct and that API Gateway has permission to write to CloudWatch Logs.";
        self.refuse("BadRequestException", rest_json_error(400, "BadRequestException", message))
    }

    pub(super) fn lambda_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        let segments = call.segments();
        let now = Instant::now();
        let creating = call.method == "POST" && segments == ["2015-03-31", "functions"];
        // A function moved onto a new role (UpdateFunctionConfiguration) meets the same propagation.
        let reconfiguring =
            call.method == "PUT" && matches!(segments.as_slice(), ["2015-03-31", "functions", _, "configuration"]);
        if self.config.on(Behaviour::IamPropagation) && (creating || reconfiguring) {
            let role = call.json()["Role"].as_str().unwrap_or_default().to_string();
            if world.roles.get(&role).is_some_and(|assumable| *assumable > now) {
                return self.refuse(
                    "InvalidParameterValueException",
                    rest_json_error(
                        400,
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    ),
                );
            }
        }
        let into_vpc = call.json()["VpcConfig"]["SubnetIds"].as_array().is_some_and(|s| !s.is_empty());
        let configuring =
            call.method == "PUT" && matches!(segments.as_slice(), ["2015-03-31", "functions", _, "configuration"]);
        if self.config.on(Behaviour::IamPropagation)
            && into_vpc
            && configuring
            && world.policies_usable_at.is_some_and(|t| t > now)
        {
            return self.refuse(
                "InvalidParameterValueException",
                rest_json_error(
                    400,
                    "InvalidParameterValueException",
                    "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
                ),
            );
        }
        let updating = matches!(segments.as_slice(), ["2015-03-31", "functions", _, "configuration" | "code"]);
        if self.config.on(Behaviour::LambdaStates) && call.method == "PUT" && updating {
            let busy = world
                .functions
                .get(segments[2])
                .is_some_and(|f| f.pending_until.is_some_and(|t| t > now) || f.updating_until.is_some_and(|t| t > now));
            if busy {
                return self.refuse(
                    "ResourceConflictException",
                    rest_json_error(
                        409,
                        "ResourceConflictException",
                        "The operation cannot be performed at this time. An update is in progress for resource.",
                    ),
                );
            }
        }
        None
    }

    pub(super) fn dynamodb_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::DynamoDb) || call.target != Some("UpdateTimeToLive") {
            return None;
        }
        let request = call.json();
        let table = request["TableName"].as_str().unwrap_or_default();
        let spec = &request["TimeToLiveSpecification"];
        let (attribute, enabled) = (spec["AttributeName"].as_str().unwrap_or_default(), spec["Enabled"] == true);
        let ttl = world.ttls.get(table)?;
        if ttl.updated_at + Duration::from_secs_f64(3600.0 * self.config.scale) > Instant::now() {
            return self.refuse(
                "ValidationException",
                json_protocol_error(
                    "ValidationException",
                    "Time to live has been modified multiple times within a fixed interval",
                ),
            );
        }
        if enabled && ttl.enabled && ttl.attribute != attribute {
            return self.refuse(
                "ValidationException",
                json_protocol_error(
                    "ValidationException",
                    &format!(
                        "TimeToLive is active on a different AttributeName: current AttributeName is {}",
                        ttl.attribute
                    ),
                ),
            );
        }
        None
    }

    pub(super) fn iam_after(&self, world: &mut World, call: &Call, body: &Bytes) {
        if self.config.on(Behaviour::IamPropagation) && call.action == Some("CreateRole") {
            if let Some(arn) = xml_value(&String::from_utf8_lossy(body), "Arn") {
                world.roles.insert(arn, self.config.after(self.config.role_propagation));
            }
        }
        // A role's changed permissions reach Lambda as late as a new role does.
        if self.config.on(Behaviour::IamPropagation) && call.action == Some("PutRolePolicy") {
            world.policies_usable_at = Some(self.config.after(self.config.role_propagation));
        }
    }

    pub(super) fn lambda_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        if !self.config.on(Behaviour::LambdaStates) {
            return body;
        }
        let segments = call.segments();
        let name = match (call.method, segments.as_slice()) {
            ("POST", ["2015-03-31", "functions"]) => {
                let name = call.json()["FunctionName"].as_str().unwrap_or_default().to_string();
                let failed = self.config.failing_functions.contains(&name);
                let pending_until = Some(self.config.after(self.config.pending));
                let function = Function { pending_until, updating_until: None, failed };
                world.functions.insert(name.clone(), function);
                name
            }
            ("PUT", ["2015-03-31", "functions", name, "configuration" | "code"]) => {
                world.functions.entry(name.to_string()).or_default().updating_until = Some(self.config.after(2.0));
                name.to_string()
            }
            ("GET", ["2015-03-31", "functions", name] | ["2015-03-31", "functions", name, "configuration"]) => {
                name.to_string()
            }
            ("GET", ["2015-03-31", "functions", name, "policy"]) => {
                return self.settled_revisions(world, name, body);
            }
            ("GET", ["2015-03-31", "functions"]) => return self.listed_revisions(world, body),
            _ => return body,
        };
        let Some(function) = world.functions.get(&name) else { return body };
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        let now = Instant::now();
        let configuration =
            if answer.get("Configuration").is_some() { &mut answer["Configuration"] } else { &mut answer };
        let pending = function.pending_until.is_some_and(|t| t > now);
        let updating = function.updating_until.is_some_and(|t| t > now);
        let (state, update) = match (pending, function.failed, updating) {
            (true, _, _) => ("Pending", "InProgress"),
            (false, true, _) => ("Failed", "Failed"),
            (false, false, true) => ("Active", "InProgress"),
            (false, false, false) => ("Active", "Successful"),
        };
        configuration["State"] = json!(state);
        configuration["LastUpdateStatus"] = json!(update);
        if let Some(revision) = configuration["RevisionId"].as_str() {
            configuration["RevisionId"] = json!(revision_now(function, revision, now));
        }
        if state == "Failed" {
            configuration["StateReason"] = json!("The function could not be initialised: handler module not found");
            configuration["StateReasonCode"] = json!("InvalidConfiguration");
        }
        Bytes::from(answer.to_string())
    }

    /// GetPolicy's answer, with the revision the function has now.
    fn settled_revisions(&self, world: &World, name: &str, body: Bytes) -> Bytes {
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        if let (Some(function), Some(revision)) = (world.functions.get(name), answer["RevisionId"].as_str()) {
            answer["RevisionId"] = json!(revision_now(function, revision, Instant::now()));
        }
        Bytes::from(answer.to_string())
    }

    /// ListFunctions' answer, each function with the revision it has now.
    fn listed_revisions(&self, world: &World, body: Bytes) -> Bytes {
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        let now = Instant::now();
        for listed in answer["Functions"].as_array_mut().into_iter().flatten() {
            let name = listed["FunctionName"].as_str().unwrap_or_default().to_string();
            if let (Some(function), Some(revision)) = (world.functions.get(&name), listed["RevisionId"].as_str()) {
                listed["RevisionId"] = json!(revision_now(function, revision, now));
            }
        }
        Bytes::from(answer.to_string())
    }

    pub(super) fn dynamodb_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        if !self.config.on(Behaviour::DynamoDb) {
            return body;
        }
        let request = call.json();
        let table = request["TableName"].as_str().unwrap_or_default().to_string();
        let now = Instant::now();
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        match call.target {
            Some("DeleteTable") => {
                world.ttls.remove(&table);
                return body;
            }
            Some("CreateTable") => {
                world.ttls.remove(&table);
                world.tables.insert(table, self.config.after(10.0));
                answer["TableDescription"]["TableStatus"] = json!("CREATING");
            }
            Some("DescribeTable") if world.tables.get(&table).is_some_and(|t| *t > now) => {
                answer["Table"]["TableStatus"] = json!("CREATING");
            }
            Some("UpdateTimeToLive") => {
                let spec = &request["TimeToLiveSpecification"];
                let ttl = Ttl {
                    attribute: spec["AttributeName"].as_str().unwrap_or_default().to_string(),
                    enabled: spec["Enabled"] == true,
                    settled_at: self.config.after(3600.0),
                    updated_at: now,
                };
                world.ttls.insert(table, ttl);
            }
            Some("DescribeTimeToLive") => {
                let Some(ttl) = world.ttls.get(&table).filter(|t| t.settled_at > now) else { return body };
                let status = if ttl.enabled { "ENABLING" } else { "DISABLING" };
                answer["TimeToLiveDescription"] = json!({"TimeToLiveStatus": status, "AttributeName": ttl.attribute});
            }
            _ => return body,
        }
        Bytes::from(answer.to_string())
    }
}

/// The revision AWS shows: moto's while the function is Pending or InProgress, another once it settled.
fn revision_now(function: &Function, revision: &str, now: Instant) -> String {
    let changing = function.pending_until.is_some_and(|t| t > now) || function.updating_until.is_some_and(|t| t > now);
    if changing {
        revision.to_string()
    } else {
        format!("{revision}-settled")
    }
}
