//! Which service to talk to and with which credentials, resolved exactly as the design §2
//! says: `--target`, else `EVALCTL_TARGET`, else `target:` in `evalctl.yaml`; the endpoint
//! from `--endpoint` or the target's environment variable; credentials from the environment
//! only. Secrets are kept in `Secret`, which never prints its value.

use std::fmt;

use reqwest::Url;

use crate::manifest::model::Target;

/// A credential. `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// Azure `api-key` header.
    ApiKey(Secret),
    /// `Authorization: Bearer` (OpenAI keys, Entra ID tokens).
    Bearer(Secret),
}

/// The wire dialect: paths, query, headers and error shapes differ a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `/openai/v1`, `api-version=preview`, `aoai-evals: preview`.
    Azure,
    /// A Foundry project: `/openai/v1` under the project endpoint, no api-version.
    Foundry,
    OpenAi,
}

/// A resolved remote service.
#[derive(Debug, Clone)]
pub struct Connection {
    pub target: Target,
    /// Base URL of the API, e.g. `https://x.openai.azure.com/openai/v1`.
    pub base_url: Url,
    pub flavor: Flavor,
    pub auth: Auth,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "no target configured: pass `--target local|azure|foundry|openai`, set EVALCTL_TARGET, or add `target:` to evalctl.yaml"
    )]
    NoTarget,
    #[error(
        "unknown target `{0}` in EVALCTL_TARGET: expected `local`, `azure`, `foundry` or `openai`"
    )]
    UnknownTarget(String),
    #[error("the {target} target needs an endpoint: pass `--endpoint URL` or set {variable}")]
    MissingEndpoint {
        target: &'static str,
        variable: &'static str,
    },
    #[error("the {target} target needs credentials: set {variables}")]
    MissingCredentials {
        target: &'static str,
        variables: &'static str,
    },
    #[error(
        "{variable} is not a usable credential: it contains characters an HTTP header cannot carry"
    )]
    BadCredential { variable: &'static str },
    #[error("invalid endpoint `{url}`: {reason}")]
    BadEndpoint { url: String, reason: String },
    #[error("refusing to send credentials over plain http:// to `{host}`: use https:// (plain http is allowed only for loopback addresses)")]
    KeyOverPlainHttp { host: String },
}

/// Where the target choice can come from, and the environment to read.
pub struct TargetInputs<'a> {
    pub cli_target: Option<Target>,
    pub cli_endpoint: Option<&'a str>,
    pub settings_target: Option<Target>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The target to use, before connecting.
pub fn choose(inputs: &TargetInputs<'_>) -> Result<Target, TargetError> {
    if let Some(target) = inputs.cli_target {
        return Ok(target);
    }
    if let Some(name) = (inputs.env)("EVALCTL_TARGET").filter(|v| !v.is_empty()) {
        return <Target as clap::ValueEnum>::from_str(&name, false)
            .map_err(|_| TargetError::UnknownTarget(name));
    }
    inputs.settings_target.ok_or(TargetError::NoTarget)
}

/// The connection of a remote target (`local` is started by the caller and connected with
/// `Connection::local`).
/// A credential from the environment, trimmed (a key read with `$(cat file)` ends in a
/// newline) and refused when it could not travel in a header.
fn credential(
    inputs: &TargetInputs<'_>,
    variable: &'static str,
) -> Result<Option<Secret>, TargetError> {
    let Some(value) = (inputs.env)(variable) else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(TargetError::BadCredential { variable });
    }
    Ok(Some(Secret(value.to_string())))
}

pub fn remote(target: Target, inputs: &TargetInputs<'_>) -> Result<Connection, TargetError> {
    let env = |name: &str| (inputs.env)(name).filter(|v| !v.is_empty());
    let (flavor, endpoint, auth) = match target {
        Target::Local | Target::Azure => {
            let endpoint = inputs
                .cli_endpoint
                .map(String::from)
                .or_else(|| env("AZURE_OPENAI_ENDPOINT"));
            let endpoint = endpoint.ok_or(TargetError::MissingEndpoint {
                target: "azure",
                variable: "AZURE_OPENAI_ENDPOINT",
            })?;
            let auth = match (
                credential(inputs, "AZURE_OPENAI_API_KEY")?,
                credential(inputs, "AZURE_OPENAI_AD_TOKEN")?,
            ) {
                (Some(key), _) => Auth::ApiKey(key),
                (None, Some(token)) => Auth::Bearer(token),
                (None, None) => {
                    return Err(TargetError::MissingCredentials {
                        target: "azure",
                        variables: "AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN)",
                    })
                }
            };
            (Flavor::Azure, with_suffix(&endpoint, "/openai/v1"), auth)
        }
        Target::Foundry => {
            let endpoint = inputs
                .cli_endpoint
                .map(String::from)
                .or_else(|| env("AZURE_AI_PROJECT_ENDPOINT"));
            let endpoint = endpoint.ok_or(TargetError::MissingEndpoint {
                target: "foundry",
                variable: "AZURE_AI_PROJECT_ENDPOINT",
            })?;
            // Foundry projects accept Entra ID tokens only; keys get 403 there.
            let token = credential(inputs, "AZURE_OPENAI_AD_TOKEN")?.ok_or(TargetError::MissingCredentials {
                target: "foundry",
                variables: "AZURE_OPENAI_AD_TOKEN (an Entra ID token for https://ai.azure.com/.default; API keys are refused by Foundry projects)",
            })?;
            (
                Flavor::Foundry,
                with_suffix(&endpoint, "/openai/v1"),
                Auth::Bearer(token),
            )
        }
        Target::Openai => {
            let endpoint = inputs
                .cli_endpoint
                .map(String::from)
                .or_else(|| env("OPENAI_BASE_URL"))
                .unwrap_or_else(|| "https://api.openai.com/v1".into());
            let auth = credential(inputs, "OPENAI_API_KEY")?.map_or(Auth::None, Auth::Bearer);
            (
                Flavor::OpenAi,
                endpoint.trim_end_matches('/').to_string(),
                auth,
            )
        }
    };
    let base_url = parse_base(&endpoint)?;
    if target == Target::Openai && auth == Auth::None && !is_loopback(&base_url) {
        return Err(TargetError::MissingCredentials {
            target: "openai",
            variables: "OPENAI_API_KEY",
        });
    }
    let connection = Connection {
        target,
        base_url,
        flavor,
        auth,
    };
    check_transport(&connection)?;
    Ok(connection)
}

impl Connection {
    /// The embedded emulator, reached on loopback with the Azure flavor and no credentials.
    pub fn local(base_url: &str) -> Result<Connection, TargetError> {
        Ok(Connection {
            target: Target::Local,
            base_url: parse_base(&with_suffix(base_url, "/openai/v1"))?,
            flavor: Flavor::Azure,
            auth: Auth::None,
        })
    }
}

/// A credential is never sent over plain http except to a loopback address.
pub fn check_transport(connection: &Connection) -> Result<(), TargetError> {
    let url = &connection.base_url;
    if url.scheme() == "http" && connection.auth != Auth::None && !is_loopback(url) {
        return Err(TargetError::KeyOverPlainHttp {
            host: url.host_str().unwrap_or("").to_string(),
        });
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn with_suffix(endpoint: &str, suffix: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    if trimmed.ends_with(suffix) {
        trimmed.to_string()
    } else {
        format!("{trimmed}{suffix}")
    }
}

/// An endpoint as it may be shown: without user info (`user:password@`) or a query.
fn shown(endpoint: &str) -> String {
    let without_query = endpoint.split(['?', '#']).next().unwrap_or("");
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{host}")
        }
        None => without_query
            .rsplit_once('@')
            .map_or(without_query, |(_, host)| host)
            .to_string(),
    }
}

fn parse_base(endpoint: &str) -> Result<Url, TargetError> {
    let url = Url::parse(endpoint).map_err(|e| TargetError::BadEndpoint {
        url: shown(endpoint),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::BadEndpoint {
            url: shown(endpoint),
            reason: "expected an http:// or https:// URL".into(),
        });
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::BadEndpoint {
            url: url.origin().ascii_serialization(),
            reason: "the endpoint must not carry a query or credentials".into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(
        env: &'a dyn Fn(&str) -> Option<String>,
        endpoint: Option<&'a str>,
    ) -> TargetInputs<'a> {
        TargetInputs {
            cli_target: None,
            cli_endpoint: endpoint,
            settings_target: None,
            env,
        }
    }

    #[test]
    fn the_target_comes_from_the_flag_then_the_environment_then_the_settings() {
        let env = |k: &str| (k == "EVALCTL_TARGET").then(|| "openai".to_string());
        let mut i = inputs(&env, None);
        i.settings_target = Some(Target::Azure);
        assert_eq!(choose(&i).ok(), Some(Target::Openai));
        i.cli_target = Some(Target::Local);
        assert_eq!(choose(&i).ok(), Some(Target::Local));
        let none = |_: &str| None;
        let err = choose(&inputs(&none, None))
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("--target")
                && err.contains("EVALCTL_TARGET")
                && err.contains("evalctl.yaml"),
            "{err}"
        );
    }

    #[test]
    fn azure_appends_the_api_path_and_prefers_the_key() {
        let env = |k: &str| match k {
            "AZURE_OPENAI_ENDPOINT" => Some("https://res.openai.azure.com/".to_string()),
            "AZURE_OPENAI_API_KEY" => Some("k".to_string()),
            _ => None,
        };
        let c = remote(Target::Azure, &inputs(&env, None)).map_err(|e| e.to_string());
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.base_url.as_str(),
            "https://res.openai.azure.com/openai/v1"
        );
        assert_eq!(c.auth, Auth::ApiKey(Secret::new("k")));
        assert_eq!(format!("{:?}", c.auth), "ApiKey(Secret(***))");
    }

    #[test]
    fn the_endpoint_flag_wins_over_the_environment_and_openai_has_a_default() {
        let env = |k: &str| match k {
            "AZURE_OPENAI_ENDPOINT" => Some("https://from-env.openai.azure.com".to_string()),
            "AZURE_OPENAI_API_KEY" | "OPENAI_API_KEY" => Some("k".to_string()),
            _ => None,
        };
        let flagged = remote(
            Target::Azure,
            &inputs(&env, Some("https://from-flag.openai.azure.com")),
        )
        .map(|c| c.base_url.to_string())
        .map_err(|e| e.to_string());
        assert_eq!(
            flagged,
            Ok("https://from-flag.openai.azure.com/openai/v1".to_string())
        );
        let openai = remote(Target::Openai, &inputs(&env, None)).map_err(|e| e.to_string());
        let openai = openai.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(openai.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(openai.flavor, Flavor::OpenAi);
        assert_eq!(openai.auth, Auth::Bearer(Secret::new("k")));
        let unknown = |k: &str| (k == "EVALCTL_TARGET").then(|| "azuer".to_string());
        let err = choose(&inputs(&unknown, None)).map_err(|e| e.to_string());
        assert!(err.err().unwrap_or_default().contains("azuer"));
    }

    #[test]
    fn a_key_is_never_sent_over_plain_http_to_another_host() {
        let env = |k: &str| (k == "AZURE_OPENAI_API_KEY").then(|| "k".to_string());
        let refused = remote(Target::Azure, &inputs(&env, Some("http://10.1.2.3:8080")))
            .map_err(|e| e.to_string());
        assert!(refused
            .err()
            .unwrap_or_default()
            .contains("refusing to send credentials over plain http://"));
        assert!(remote(Target::Azure, &inputs(&env, Some("http://127.0.0.1:8089"))).is_ok());
        assert!(remote(Target::Azure, &inputs(&env, Some("http://localhost:8089"))).is_ok());
    }

    #[test]
    fn endpoints_in_errors_never_show_credentials() {
        assert_eq!(
            shown("https://user:s3cret@host:99999/x?api-key=k"),
            "https://host:99999/x"
        );
        let env = |k: &str| (k == "AZURE_OPENAI_API_KEY").then(|| "k".to_string());
        let err = remote(
            Target::Azure,
            &inputs(&env, Some("https://user:s3cret@host:99999")),
        )
        .map_err(|e| e.to_string());
        assert!(!err.err().unwrap_or_default().contains("s3cret"));
    }

    #[test]
    fn credentials_are_trimmed_and_checked() {
        let env = |k: &str| match k {
            "AZURE_OPENAI_ENDPOINT" => Some("https://res.openai.azure.com".to_string()),
            "AZURE_OPENAI_API_KEY" => Some("key-from-a-file\n".to_string()),
            _ => None,
        };
        let c = remote(Target::Azure, &inputs(&env, None)).map_err(|e| e.to_string());
        assert_eq!(
            c.map(|c| c.auth).ok(),
            Some(Auth::ApiKey(Secret::new("key-from-a-file")))
        );
        let bad = |k: &str| (k == "AZURE_OPENAI_API_KEY").then(|| "a\u{7}b".to_string());
        let err = remote(Target::Azure, &inputs(&bad, Some("https://x.example")))
            .map_err(|e| e.to_string());
        assert!(err
            .err()
            .unwrap_or_default()
            .contains("not a usable credential"));
    }

    #[test]
    fn foundry_needs_a_token() {
        let env = |k: &str| match k {
            "AZURE_AI_PROJECT_ENDPOINT" => {
                Some("https://a.services.ai.azure.com/api/projects/p".to_string())
            }
            "AZURE_OPENAI_API_KEY" => Some("k".to_string()),
            _ => None,
        };
        let err = remote(Target::Foundry, &inputs(&env, None))
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(err.contains("AZURE_OPENAI_AD_TOKEN"), "{err}");
    }
}
