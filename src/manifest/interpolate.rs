//! `${VAR}` and `${VAR:-default}` in string values, replaced from the environment at load
//! time; `$${` writes a literal `${`. Mapping keys are never interpolated (they are
//! identities). An unquoted scalar is typed again after substitution, so
//! `pass_threshold: ${THRESHOLD}` gives a number; a quoted one stays a string.

use super::finding::Finding;
use super::node::{resolve_plain, Node, NodeValue, Trail};

/// The variables evalctl reads credentials from; never interpolated.
const CREDENTIALS: [&str; 3] = [
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_KEY",
];

/// Looks a variable up; the process environment in production, a map in tests.
pub(crate) type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// Replaces variables in every string of `node`, reporting each one that cannot be resolved.
pub(crate) fn interpolate(node: &mut Node, env: Env<'_>, path: &Trail<'_>, out: &mut Vec<Finding>) {
    match &mut node.value {
        NodeValue::Str { text, plain } if text.contains('$') => match expand(text, env) {
            Ok(expanded) => {
                node.value = if *plain && expanded != *text {
                    resolve_plain(&expanded)
                } else {
                    NodeValue::Str {
                        text: expanded.into(),
                        plain: *plain,
                    }
                };
            }
            Err(message) => out.push(Finding::error(node.span, path, message)),
        },
        NodeValue::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, env, &path.index(i), out);
            }
        }
        NodeValue::Map(entries) => {
            for entry in entries {
                interpolate(&mut entry.value, env, &path.key(&entry.key), out);
            }
        }
        _ => {}
    }
}

/// Expands one string.
pub(crate) fn expand(text: &str, env: Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let close = tail
                .find('}')
                .ok_or("unterminated `${`: expected `}` (write `$${` for a literal `${`)")?;
            out.push_str(&substitute(&tail[..close], env)?);
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute(expr: &str, env: Env<'_>) -> Result<String, String> {
    let (name, default) = match expr.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (expr, None),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "invalid variable name `{name}` in `${{{expr}}}`: expected letters, digits and `_`"
        ));
    }
    if CREDENTIALS.contains(&name) {
        return Err(format!("`${{{name}}}` is a credential: manifests are shown in plans and pull requests, so evalctl does not put credentials into them (it reads {name} itself)"));
    }
    match (env(name), default) {
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(format!("environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TEAM").then(|| "research".to_string())
    }

    #[test]
    fn expands_variables_defaults_and_escapes() {
        assert_eq!(expand("team ${TEAM}", &env).as_deref(), Ok("team research"));
        assert_eq!(
            expand("${MISSING:-fallback}", &env).as_deref(),
            Ok("fallback")
        );
        assert_eq!(expand("${MISSING:-}", &env).as_deref(), Ok(""));
        assert_eq!(
            expand("$${TEAM} costs $5", &env).as_deref(),
            Ok("${TEAM} costs $5")
        );
        assert_eq!(expand("{{item.x}}", &env).as_deref(), Ok("{{item.x}}"));
    }

    #[test]
    fn refuses_unset_unterminated_and_bad_names() {
        assert!(expand("${MISSING}", &env)
            .unwrap_err()
            .contains("`MISSING` is not set"));
        assert!(expand("${TEAM", &env).unwrap_err().contains("unterminated"));
        assert!(expand("${1X}", &env)
            .unwrap_err()
            .contains("invalid variable name"));
    }

    #[test]
    fn refuses_to_put_credentials_into_manifests() {
        let env = |_: &str| Some("sk-secret".to_string());
        let error = expand("${AZURE_OPENAI_API_KEY}", &env).unwrap_err();
        assert!(
            error.contains("is a credential") && !error.contains("sk-secret"),
            "{error}"
        );
    }

    #[test]
    fn retypes_plain_scalars_only() {
        let env = |_: &str| Some("0.8".to_string());
        let mut plain = Node {
            value: NodeValue::Str {
                text: "${T}".into(),
                plain: true,
            },
            span: Default::default(),
        };
        let mut quoted = Node {
            value: NodeValue::Str {
                text: "${T}".into(),
                plain: false,
            },
            span: Default::default(),
        };
        let mut out = Vec::new();
        interpolate(&mut plain, &env, &Trail::Root, &mut out);
        interpolate(&mut quoted, &env, &Trail::Root, &mut out);
        assert_eq!(plain.value, NodeValue::Float(0.8));
        assert_eq!(
            quoted.value,
            NodeValue::Str {
                text: "0.8".into(),
                plain: false
            }
        );
    }

    #[test]
    fn loading_expands_variables_written_plainly_or_as_escapes() {
        // The loader skips the walk for files without `${` or `\`; a `$` spelled as an escape
        // in a quoted scalar (in a file with no `${` at all, but a plain `$`) must still be found.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let eval = |key: &str, name: &str, metadata: &str| {
            format!(
                r#"evals:
  {key}:
    name: {name}
    metadata: {metadata}
    data_source_config: {{ type: custom, item_schema: {{ type: object, properties: {{ a: {{ type: string }} }} }} }}
    testing_criteria:
      - {{ type: string_check, name: s, input: "{{{{item.a}}}}", reference: "{{{{item.a}}}}", operation: eq }}
"#
            )
        };
        let files = [
            (
                "e.yaml",
                eval("e", r#""\u0024{TEAM} eval""#, "{ cost: $5 }"),
            ),
            (
                "f.yaml",
                eval(
                    "f",
                    "plain",
                    r#"{ team: "${TEAM}", cost: "$$5", literal: "$${TEAM}" }"#,
                ),
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
        let loaded = crate::manifest::load_with_env(dir.path(), &env);
        let Some(project) = loaded.project else {
            panic!("loads: {:?}", loaded.diagnostics);
        };
        assert_eq!(
            project.evals["e"].spec.name.as_deref(),
            Some("research eval")
        );
        let metadata = project.evals["f"].spec.metadata.clone().unwrap_or_default();
        assert_eq!(metadata["team"], "research");
        assert_eq!(metadata["cost"], "$$5");
        assert_eq!(metadata["literal"], "${TEAM}");
    }
}
