//! Which service to talk to and with which credentials, resolved exactly as the design §2
//! says: `--target`, else `EVALCTL_TARGET`, else `target:` in `evalctl.yaml`; the endpoint
//! from `--endpoint` or the target's environment variable; credentials from the environment
//! only. Secrets are kept in `Secret`, which never prints its value.

use std::fmt;
use std::sync::Arc;

use reqwest::Url;

use super::entra::{EntraCredential, TokenSource};
pub use crate::manifest::model::AuthKind;
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

#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// Azure `api-key` header.
    ApiKey(Secret),
    /// `Authorization: Bearer` with a value given as it is (an OpenAI key, an Entra ID token
    /// from `AZURE_OPENAI_AD_TOKEN`).
    Bearer(Secret),
    /// `Authorization: Bearer` with Entra ID tokens from the credential chain, fetched when
    /// first needed and again before they expire.
    Entra(Arc<EntraCredential>),
}

impl PartialEq for Auth {
    fn eq(&self, other: &Auth) -> bool {
        match (self, other) {
            (Auth::None, Auth::None) => true,
            (Auth::ApiKey(a), Auth::ApiKey(b)) | (Auth::Bearer(a), Auth::Bearer(b)) => a == b,
            (Auth::Entra(a), Auth::Entra(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// What the plan's first line says authenticates it (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The API key in a variable.
    Key(&'static str),
    /// The Entra ID token in a variable.
    Token(&'static str),
    /// Entra ID tokens from the credential chain; the source once known.
    Entra(Option<TokenSource>),
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Key(variable) => write!(f, "the API key in {variable}"),
            Credential::Token(variable) => write!(f, "the Entra ID token in {variable}"),
            Credential::Entra(Some(source)) => write!(f, "Entra ID tokens from {source}"),
            Credential::Entra(None) => f.write_str("Entra ID tokens"),
        }
    }
}

impl Auth {
    /// What authenticates requests, for the plan's first line.
    pub fn credential(&self, target: Target) -> Option<Credential> {
        match self {
            Auth::None => None,
            Auth::ApiKey(_) => Some(Credential::Key("AZURE_OPENAI_API_KEY")),
            Auth::Bearer(_) if target == Target::Openai => Some(Credential::Key("OPENAI_API_KEY")),
            Auth::Bearer(_) => Some(Credential::Token("AZURE_OPENAI_AD_TOKEN")),
            Auth::Entra(chain) => Some(Credential::Entra(chain.source())),
        }
    }
}

/// The Entra ID scope of each surface.
pub const AZURE_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
pub const FOUNDRY_SCOPE: &str = "https://ai.azure.com/.default";

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
    #[error("{0}")]
    AuthRefused(&'static str),
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
    /// `--auth`, else `auth:` in `evalctl.yaml`.
    pub auth: Option<AuthKind>,
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

/// A credential from the environment, trimmed (a key read with `$(cat file)` ends in a
/// newline) and refused when it could not travel in a header.
fn secret_from_env(
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

/// The connection of a remote target, and a note to show when the environment offers more
/// than one credential. Entra ID tokens are fetched when the first request needs one.
pub fn remote(
    target: Target,
    inputs: &TargetInputs<'_>,
) -> Result<(Connection, Option<String>), TargetError> {
    let env = |name: &str| (inputs.env)(name).filter(|v| !v.is_empty());
    let variable = match target {
        Target::Local | Target::Azure => "AZURE_OPENAI_ENDPOINT",
        Target::Foundry => "AZURE_AI_PROJECT_ENDPOINT",
        Target::Openai => "OPENAI_BASE_URL",
    };
    let endpoint = inputs
        .cli_endpoint
        .map(String::from)
        .or_else(|| env(variable));
    let (flavor, endpoint) = match (target, endpoint) {
        (Target::Openai, endpoint) => {
            let endpoint = endpoint.unwrap_or_else(|| "https://api.openai.com/v1".into());
            (Flavor::OpenAi, endpoint.trim_end_matches('/').to_string())
        }
        (_, None) => {
            return Err(TargetError::MissingEndpoint {
                target: if target == Target::Foundry {
                    "foundry"
                } else {
                    "azure"
                },
                variable,
            })
        }
        (Target::Foundry, Some(endpoint)) => {
            (Flavor::Foundry, with_suffix(&endpoint, "/openai/v1"))
        }
        (_, Some(endpoint)) => (Flavor::Azure, with_suffix(&endpoint, "/openai/v1")),
    };
    let base_url = parse_base(&endpoint)?;
    let (auth, note) = choose_auth(target, inputs)?;
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
    Ok((connection, note))
}

/// The credential a remote target uses, in the design's order: an explicit key (Azure
/// resources only), `AZURE_OPENAI_AD_TOKEN`, then the Entra ID chain; `--auth` insists on one
/// kind. The note says which was taken when the environment offers more than one.
fn choose_auth(
    target: Target,
    inputs: &TargetInputs<'_>,
) -> Result<(Auth, Option<String>), TargetError> {
    let key_variable = match target {
        Target::Openai => "OPENAI_API_KEY",
        _ => "AZURE_OPENAI_API_KEY",
    };
    let key = secret_from_env(inputs, key_variable)?;
    let token = secret_from_env(inputs, "AZURE_OPENAI_AD_TOKEN")?;
    let chain = |scope| Auth::Entra(Arc::new(EntraCredential::new(scope, inputs.env)));
    let choice = match (target, inputs.auth) {
        (Target::Openai, Some(AuthKind::Entra)) => {
            return Err(TargetError::AuthRefused(
                "--auth entra: OpenAI takes API keys only (OPENAI_API_KEY)",
            ))
        }
        (Target::Openai, _) => (key.map_or(Auth::None, Auth::Bearer), None),
        (Target::Foundry, Some(AuthKind::Key)) => {
            return Err(TargetError::AuthRefused(
                "--auth key: Foundry projects take Entra ID tokens only (their API keys get 403)",
            ))
        }
        (Target::Foundry, _) => {
            let note = key.as_ref().map(|_| {
                "note: AZURE_OPENAI_API_KEY is set, but Foundry projects take Entra ID tokens only: it is not used".to_string()
            });
            (token.map_or_else(|| chain(FOUNDRY_SCOPE), Auth::Bearer), note)
        }
        (_, Some(AuthKind::Key)) => match key {
            Some(key) => (Auth::ApiKey(key), None),
            None => {
                return Err(TargetError::MissingCredentials {
                    target: "azure",
                    variables: "AZURE_OPENAI_API_KEY (--auth key asks for a key)",
                })
            }
        },
        (_, Some(AuthKind::Entra)) => (token.map_or_else(|| chain(AZURE_SCOPE), Auth::Bearer), None),
        (_, None) => match (key, token) {
            (Some(key), Some(_)) => (
                Auth::ApiKey(key),
                Some("note: both AZURE_OPENAI_API_KEY and AZURE_OPENAI_AD_TOKEN are set: the key is used (--auth entra uses the token)".into()),
            ),
            (Some(key), None) => (Auth::ApiKey(key), None),
            (None, Some(token)) => (Auth::Bearer(token), None),
            (None, None) => (chain(AZURE_SCOPE), None),
        },
    };
    Ok(choice)
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

    /// The connection alone.
    fn remote(target: Target, inputs: &TargetInputs<'_>) -> Result<Connection, TargetError> {
        super::remote(target, inputs).map(|(connection, _)| connection)
    }

    fn inputs<'a>(
        env: &'a dyn Fn(&str) -> Option<String>,
        endpoint: Option<&'a str>,
    ) -> TargetInputs<'a> {
        TargetInputs {
            cli_target: None,
            cli_endpoint: endpoint,
            settings_target: None,
            auth: None,
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
    fn foundry_takes_entra_id_tokens_only() {
        let env = |k: &str| match k {
            "AZURE_AI_PROJECT_ENDPOINT" => {
                Some("https://a.services.ai.azure.com/api/projects/p".to_string())
            }
            "AZURE_OPENAI_API_KEY" => Some("k".to_string()),
            _ => None,
        };
        let chosen = super::remote(Target::Foundry, &inputs(&env, None));
        let Ok((connection, note)) = chosen else {
            panic!("a Foundry project is reached through the chain")
        };
        assert!(
            matches!(connection.auth, Auth::Entra(_)),
            "{:?}",
            connection.auth
        );
        assert!(note.is_some_and(|n| n.contains("not used")));
        let mut keyed = inputs(&env, None);
        keyed.auth = Some(AuthKind::Key);
        let refused = remote(Target::Foundry, &keyed).map_err(|e| e.to_string());
        assert!(refused
            .err()
            .unwrap_or_default()
            .contains("Entra ID tokens only"));
    }

    #[test]
    fn azure_takes_a_key_then_a_token_then_the_chain_and_auth_insists() {
        let endpoint = "https://res.openai.azure.com";
        let both = |k: &str| match k {
            "AZURE_OPENAI_API_KEY" => Some("k".to_string()),
            "AZURE_OPENAI_AD_TOKEN" => Some("t".to_string()),
            _ => None,
        };
        let chosen = super::remote(Target::Azure, &inputs(&both, Some(endpoint)));
        let Ok((connection, note)) = chosen else {
            panic!("a key is enough")
        };
        assert_eq!(connection.auth, Auth::ApiKey(Secret::new("k")));
        assert!(note.is_some_and(|n| n.contains("the key is used")));
        let mut entra = inputs(&both, Some(endpoint));
        entra.auth = Some(AuthKind::Entra);
        let token = remote(Target::Azure, &entra).map(|c| c.auth);
        assert_eq!(token.ok(), Some(Auth::Bearer(Secret::new("t"))));
        let none = |_: &str| None;
        let chained = remote(Target::Azure, &inputs(&none, Some(endpoint))).map(|c| c.auth);
        assert!(matches!(chained, Ok(Auth::Entra(_))));
        let mut keyed = inputs(&none, Some(endpoint));
        keyed.auth = Some(AuthKind::Key);
        assert!(
            remote(Target::Azure, &keyed).is_err(),
            "--auth key needs a key"
        );
    }
}
