//! CloudFront in the strict model: deployment times, IPv6 default, one-shot caller references, replayed
//! invalidations.

use super::*;

impl Model {
    pub(super) fn cloudfront_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::CloudFront) {
            return None;
        }
        let segments = call.segments();
        match (call.method, segments.as_slice()) {
            ("POST", [_, "distribution"]) => {
                let reference = xml_value(&call.text(), "CallerReference").unwrap_or_default();
                if !world.distribution_references.insert(reference.clone()) {
                    return self.refuse(
                        "DistributionAlreadyExists",
                        xml_error(
                            409,
                            "DistributionAlreadyExists",
                            &format!("caller reference {reference} was used before"),
                        ),
                    );
                }
            }
            ("POST", [_, "distribution", id, "invalidation"]) => {
                let reference = xml_value(&call.text(), "CallerReference").unwrap_or_default();
                if let Some(earlier) = world.invalidation_answers.get(&(id.to_string(), reference)) {
                    let mut answer = Response::new(Full::new(earlier.clone()));
                    *answer.status_mut() = StatusCode::CREATED;
                    answer.headers_mut().insert("content-type", "text/xml".parse().expect("a header value"));
                    return self.refuse("InvalidationReplayed", answer);
                }
            }
            ("DELETE", [_, "distribution", id])
                if world.distributions.get(*id).is_some_and(|t| *t > Instant::now()) =>
            {
                return self.refuse(
                    "DistributionNotDisabled",
                    xml_error(409, "DistributionNotDisabled", "The distribution has not finished deploying"),
                );
            }
            _ => {}
        }
        None
    }

    pub(super) fn cloudfront_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        if !self.config.on(Behaviour::CloudFront) {
            return body;
        }
        let segments = call.segments();
        let text = String::from_utf8_lossy(&body).into_owned();
        let now = Instant::now();
        let ipv6_asked = call.text().contains("<IsIPV6Enabled>true</IsIPV6Enabled>");
        let as_aws = |text: &str, id: &str, world: &World| {
            let mut text = text.to_string();
            if world.distributions.get(id).is_some_and(|t| *t > now) {
                text = text.replace("<Status>Deployed</Status>", "<Status>InProgress</Status>");
            }
            if world.ipv6_off.contains(id) {
                text = text.replace("<IsIPV6Enabled>true</IsIPV6Enabled>", "<IsIPV6Enabled>false</IsIPV6Enabled>");
            }
            Bytes::from(text)
        };
        match (call.method, segments.as_slice()) {
            ("POST", [_, "distribution"]) => {
                let id = xml_value(&text, "Id").unwrap_or_default();
                world.distributions.insert(id.clone(), self.config.after(240.0));
                if !ipv6_asked {
                    world.ipv6_off.insert(id.clone());
                }
                as_aws(&text, &id, world)
            }
            ("PUT", [_, "distribution", id, "config"]) => {
                world.distributions.insert(id.to_string(), self.config.after(240.0));
                world.released_at = Some(now);
                if ipv6_asked {
                    world.ipv6_off.remove(*id);
                } else {
                    world.ipv6_off.insert(id.to_string());
                }
                as_aws(&text, id, world)
            }
            ("GET", [_, "distribution", id] | [_, "distribution", id, "config"]) => as_aws(&text, id, world),
            ("POST", [_, "distribution", id, "invalidation"]) => {
                let request = call.text();
                let reference = xml_value(&request, "CallerReference").unwrap_or_default();
                let paths = xml_blocks(&request, "Path").into_iter().map(str::to_string).collect();
                self.observed.lock().unwrap().invalidations.push((id.to_string(), paths));
                world.invalidation_answers.insert((id.to_string(), reference), body.clone());
                body
            }
            _ => body,
        }
    }
}
