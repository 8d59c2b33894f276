//! Route 53, ACM and API Gateway custom domains in the strict model: change propagation, one-shot zone
//! references, certificate validation and issue, certificates in use.

use super::*;

impl Model {
    pub(super) fn route53_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::Route53)
            || call.method != "POST"
            || call.segments() != ["2013-04-01", "hostedzone"]
        {
            return None;
        }
        let reference = xml_value(&call.text(), "CallerReference").unwrap_or_default();
        if !world.zone_references.insert(reference.clone()) {
            return self.refuse(
                "HostedZoneAlreadyExists",
                xml_error(409, "HostedZoneAlreadyExists", &format!("caller reference {reference} was used before")),
            );
        }
        None
    }

    pub(super) fn acm_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::Acm) || call.target != Some("DeleteCertificate") {
            return None;
        }
        let cooling = Duration::from_secs_f64(IN_USE_AFTER_RELEASE * self.config.scale);
        if world.released_at.is_some_and(|t| t + cooling > Instant::now()) {
            return self.refuse(
                "ResourceInUseException",
                json_protocol_error("ResourceInUseException", "Certificate is in use by another AWS resource"),
            );
        }
        None
    }

    pub(super) fn apigateway_before(&self, world: &mut World, call: &Call) -> Option<Answer> {
        if !self.config.on(Behaviour::Acm) || call.method != "POST" {
            return None;
        }
        let segments = call.segments();
        let request = call.json();
        let certificate = match segments.as_slice() {
            ["domainnames"] => request["regionalCertificateArn"].as_str().or(request["certificateArn"].as_str()),
            ["v2", "domainnames"] => request["domainNameConfigurations"][0]["certificateArn"].as_str(),
            _ => None,
        }?;
        let issued = world.certificates.get(certificate).is_none_or(|c| self.issued(c));
        if issued {
            return None;
        }
        self.refuse(
            "BadRequestException",
            rest_json_error(400, "BadRequestException", &format!("Certificate {certificate} is not yet issued")),
        )
    }

    pub(super) fn issued(&self, certificate: &Certificate) -> bool {
        let lag = Duration::from_secs_f64(self.config.issued_after_validation * self.config.scale);
        certificate.valid_at.is_some_and(|t| t + lag <= Instant::now())
    }

    pub(super) fn route53_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        // ACM's model needs to know which validation CNAMEs exist, with or without Route 53's own.
        if !self.config.on(Behaviour::Route53) && !self.config.on(Behaviour::Acm) {
            return body;
        }
        let segments = call.segments();
        let text = String::from_utf8_lossy(&body).into_owned();
        let now = Instant::now();
        match (call.method, segments.as_slice()) {
            ("POST", ["2013-04-01", "hostedzone", _, "rrset"]) => {
                let request = call.text();
                for change in xml_blocks(&request, "Change") {
                    let is_cname = xml_value(change, "Type").as_deref() == Some("CNAME");
                    let (Some(action), Some(name)) = (xml_value(change, "Action"), xml_value(change, "Name")) else {
                        continue;
                    };
                    if is_cname && action == "DELETE" {
                        world.cnames.remove(&fqdn(&name));
                    } else if is_cname {
                        world.cnames.insert(fqdn(&name));
                    }
                }
                if !self.config.on(Behaviour::Route53) {
                    return body;
                }
                if let Some(id) = xml_value(&text, "Id") {
                    world.changes.insert(id.trim_start_matches("/change/").to_string(), self.config.after(40.0));
                }
                Bytes::from(text.replace("<Status>INSYNC</Status>", "<Status>PENDING</Status>"))
            }
            ("GET", ["2013-04-01", "change", id]) if world.changes.get(*id).is_some_and(|t| *t > now) => {
                Bytes::from(text.replace("<Status>INSYNC</Status>", "<Status>PENDING</Status>"))
            }
            _ => body,
        }
    }

    pub(super) fn acm_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        if !self.config.on(Behaviour::Acm) {
            return body;
        }
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        match call.target {
            Some("RequestCertificate") => {
                let arn = answer["CertificateArn"].as_str().unwrap_or_default().to_string();
                let records_at = Some(self.config.after(self.config.records_after_request));
                world.certificates.entry(arn).or_insert(Certificate { records_at, valid_at: None });
                body
            }
            Some("DescribeCertificate") => {
                let arn = call.json()["CertificateArn"].as_str().unwrap_or_default().to_string();
                let Some(certificate) = world.certificates.get_mut(&arn) else { return body };
                let now = Instant::now();
                let detail = &mut answer["Certificate"];
                let options = detail["DomainValidationOptions"].as_array_mut().map(std::mem::take).unwrap_or_default();
                let records_shown = certificate.records_at.is_none_or(|t| t <= now);
                let all_cnames = options
                    .iter()
                    .all(|o| o["ResourceRecord"]["Name"].as_str().is_some_and(|n| world.cnames.contains(&fqdn(n))));
                if records_shown && all_cnames && certificate.valid_at.is_none() {
                    certificate.valid_at = Some(self.config.after(ACM_VALIDATION));
                }
                let validated = certificate.valid_at.is_some_and(|t| t <= now);
                let issued = self.issued(certificate);
                let options: Vec<Value> = options
                    .into_iter()
                    .map(|mut o| {
                        if !records_shown {
                            o.as_object_mut().map(|o| o.remove("ResourceRecord"));
                        }
                        o["ValidationStatus"] = json!(if validated { "SUCCESS" } else { "PENDING_VALIDATION" });
                        o
                    })
                    .collect();
                detail["DomainValidationOptions"] = json!(options);
                if !issued {
                    detail["Status"] = json!("PENDING_VALIDATION");
                }
                Bytes::from(answer.to_string())
            }
            _ => body,
        }
    }

    pub(super) fn apigateway_after(&self, world: &mut World, call: &Call, body: Bytes) -> Bytes {
        let segments = call.segments();
        if self.config.on(Behaviour::Acm) && call.method == "DELETE" && segments.contains(&"domainnames") {
            world.released_at = Some(Instant::now());
        }
        let v2_domain = matches!(segments.as_slice(), ["v2", "domainnames"] | ["v2", "domainnames", _]);
        if !self.config.on(Behaviour::ApiGatewayV2Targets) || !v2_domain || call.method == "DELETE" {
            return body;
        }
        let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else { return body };
        let name = answer["domainName"].as_str().unwrap_or("domain").to_string();
        for configuration in answer["domainNameConfigurations"].as_array_mut().into_iter().flatten() {
            let target = format!("d-{}.execute-api.us-east-1.amazonaws.com", name.len());
            configuration["apiGatewayDomainName"] = json!(target);
            configuration["hostedZoneId"] = json!("Z1UJRXOUMOOFQ8");
        }
        Bytes::from(answer.to_string())
    }
}
