//! Which REST route a request takes, as API Gateway chooses: a literal segment before a `{param}`, a
//! `{param}` before a greedy `{proxy+}`, and path parameters taken from the matched segments.

use std::collections::BTreeMap;

use crate::backend::RestRoute;

/// The route a path matched, with its parameters (`{id}` → its segment, decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub route: &'a RestRoute,
    pub parameters: BTreeMap<String, String>,
}

/// The most specific route whose template matches `path` (the part after `/STAGE`), whatever its method.
pub fn match_path<'a>(routes: &'a [RestRoute], path: &str) -> Option<Matched<'a>> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    routes
        .iter()
        .filter_map(|route| {
            Some((specificity(&route.path), Matched { route, parameters: parameters(&route.path, &segments)? }))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, matched)| matched)
}

/// Literal segments weigh most, then parameters; a greedy parameter least (compared segment by segment).
fn specificity(template: &str) -> Vec<u8> {
    template_segments(template)
        .map(|segment| match segment {
            s if s.ends_with("+}") => 0,
            s if s.starts_with('{') => 1,
            _ => 2,
        })
        .collect()
}

fn template_segments(template: &str) -> impl Iterator<Item = &str> {
    template.trim_matches('/').split('/').filter(|s| !s.is_empty())
}

/// The template's parameters if it matches the segments.
fn parameters(template: &str, segments: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let template: Vec<&str> = template_segments(template).collect();
    for (i, part) in template.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            // Greedy: the rest of the path, at least one segment.
            let rest = segments.get(i..).filter(|rest| !rest.is_empty())?;
            found.insert(name.to_string(), rest.iter().map(|s| decode(s)).collect::<Vec<_>>().join("/"));
            return Some(found);
        }
        let segment = segments.get(i)?;
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                found.insert(name.to_string(), decode(segment));
            }
            None if part == segment => {}
            None => return None,
        }
    }
    (template.len() == segments.len()).then_some(found)
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> RestRoute {
        RestRoute { path: path.to_string(), methods: vec!["GET".into()], function: path.to_string() }
    }

    #[test]
    fn a_path_takes_the_most_specific_route_with_its_parameters() {
        let routes = [
            route("/conversations"),
            route("/conversations/{id}"),
            route("/conversations/search"),
            route("/files/{proxy+}"),
            route("/{any+}"),
        ];
        type Expected = Option<(&'static str, &'static [(&'static str, &'static str)])>;
        let cases: &[(&str, Expected)] = &[
            ("/conversations", Some(("/conversations", &[]))),
            ("/conversations/", Some(("/conversations", &[]))),
            ("/conversations/c-1", Some(("/conversations/{id}", &[("id", "c-1")]))),
            ("/conversations/search", Some(("/conversations/search", &[]))),
            ("/conversations/a%20b", Some(("/conversations/{id}", &[("id", "a b")]))),
            ("/files/a/b.txt", Some(("/files/{proxy+}", &[("proxy", "a/b.txt")]))),
            ("/conversations/c-1/extra", Some(("/{any+}", &[("any", "conversations/c-1/extra")]))),
            ("/", None),
        ];
        for (path, expected) in cases {
            let got = match_path(&routes, path);
            let expected = expected.map(|(template, params)| {
                (template.to_string(), params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            });
            assert_eq!(got.map(|m| (m.route.path.clone(), m.parameters)), expected, "{path}");
        }
    }

    #[test]
    fn without_a_greedy_route_an_unknown_path_matches_nothing() {
        let routes = [route("/prompts"), route("/prompts/{id}")];
        assert!(match_path(&routes, "/prompts/1/2").is_none());
        assert!(match_path(&routes, "/usage").is_none());
    }
}
