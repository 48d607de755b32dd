//! Entra ID tokens through Microsoft's `azure_identity` crate: the chain of credentials a CI
//! job or a developer's machine offers (a service principal, workload identity, Azure
//! Pipelines, managed identity where the host has one, then the Azure CLI and the Azure
//! Developer CLI), the first that gives a token kept for the whole command, its tokens cached
//! and fetched again shortly before they expire. The credentials speak HTTP through evalctl's
//! own reqwest client (`Transport`), with no proxy for the host's metadata endpoint.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret as AzureSecret, TokenCredential};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Request, RetryOptions,
    Transport,
};
use azure_identity::{
    AzureCliCredential, AzureDeveloperCliCredential, AzurePipelinesCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use tokio::sync::{Mutex, OnceCell};

/// A token is fetched again when it has less than this left.
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// The host's metadata endpoint answers within this, or there is none: a laptop or a CI
/// runner without one must not wait the crate's 100 s of retries.
const METADATA_PROBE: Duration = Duration::from_secs(1);
/// One credential's attempt at a token, at most (a CLI waiting on a prompt, a slow network).
const ATTEMPT: Duration = Duration::from_secs(60);

/// Where an Entra ID token comes from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ServicePrincipal,
    /// `AZURE_FEDERATED_TOKEN_FILE` (GitHub Actions OIDC, AKS).
    WorkloadIdentity,
    AzurePipelines,
    ManagedIdentity,
    /// `az login`.
    AzureCli,
    /// `azd auth login`.
    AzureDeveloperCli,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenSource::ServicePrincipal => "a service principal (AZURE_CLIENT_SECRET)",
            TokenSource::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            TokenSource::AzurePipelines => "Azure Pipelines",
            TokenSource::ManagedIdentity => "managed identity",
            TokenSource::AzureCli => "the Azure CLI (az login)",
            TokenSource::AzureDeveloperCli => "the Azure Developer CLI (azd auth login)",
        })
    }
}

/// One credential of the chain that gave no token, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untried {
    pub source: TokenSource,
    pub reason: String,
}

/// The variables the chain reads, taken from the environment when the command starts.
const VARIABLES: [&str; 12] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "SYSTEM_OIDCREQUESTURI",
    "AZURESUBSCRIPTION_TENANT_ID",
    "AZURESUBSCRIPTION_CLIENT_ID",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
    "SYSTEM_ACCESSTOKEN",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
];

/// Entra ID tokens for one scope: the chain is tried when the first request needs a token,
/// and the credential that gives one is kept for the rest of the command.
/// The variables the chain reads, by name: those set and not empty.
type Variables = BTreeMap<&'static str, String>;

pub struct EntraCredential {
    scope: &'static str,
    variables: Variables,
    chosen: OnceCell<Result<EntraToken, NoToken>>,
}

impl fmt::Debug for EntraCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntraCredential({}, {:?})", self.scope, self.source())
    }
}

/// No credential of the chain gave a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Entra ID credential gave a token for {scope}")]
pub struct NoToken {
    pub scope: &'static str,
    /// Every credential tried, in order, and why it gave none.
    pub tried: Vec<Untried>,
}

impl EntraCredential {
    pub fn new(scope: &'static str, env: &dyn Fn(&str) -> Option<String>) -> EntraCredential {
        let variables = VARIABLES
            .iter()
            .filter_map(|name| Some((*name, env(name).filter(|v| !v.trim().is_empty())?)))
            .collect();
        EntraCredential {
            scope,
            variables,
            chosen: OnceCell::new(),
        }
    }

    /// The token to send now, from the credential the chain chose.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<String, NoToken> {
        let chosen = self
            .chosen
            .get_or_init(|| async {
                first_token(self.scope, &self.variables, http)
                    .await
                    .map_err(|tried| NoToken {
                        scope: self.scope,
                        tried,
                    })
            })
            .await;
        let token = chosen.as_ref().map_err(Clone::clone)?;
        token.bearer().await.map_err(|reason| NoToken {
            scope: self.scope,
            tried: vec![Untried {
                source: token.source,
                reason,
            }],
        })
    }

    /// Where the tokens come from, once a first one was given.
    pub fn source(&self) -> Option<TokenSource> {
        self.chosen.get()?.as_ref().ok().map(|token| token.source)
    }
}

/// The credential that gave a token, kept for the command, with its token cached.
struct EntraToken {
    pub source: TokenSource,
    scope: &'static str,
    credential: Arc<dyn TokenCredential>,
    cached: Mutex<Option<AccessToken>>,
}

impl EntraToken {
    /// The token to send now: the cached one, or a new one when it expires soon.
    async fn bearer(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        let fresh = cached.as_ref().is_some_and(|token| !expires_soon(token));
        if !fresh {
            *cached = Some(attempt(self.credential.as_ref(), self.scope).await?);
        }
        Ok(cached
            .as_ref()
            .map(|token| token.token.secret().to_string())
            .unwrap_or_default())
    }
}

fn expires_soon(token: &AccessToken) -> bool {
    let left = token.expires_on - time::OffsetDateTime::now_utc();
    left < time::Duration::try_from(REFRESH_BEFORE).unwrap_or(time::Duration::ZERO)
}

/// A token from one credential, bounded in time, or why there is none.
async fn attempt(credential: &dyn TokenCredential, scope: &str) -> Result<AccessToken, String> {
    match tokio::time::timeout(ATTEMPT, credential.get_token(&[scope], None)).await {
        Ok(Ok(token)) => Ok(token),
        Ok(Err(error)) => Err(describe(&error)),
        Err(_) => Err(format!("no token within {}s", ATTEMPT.as_secs())),
    }
}

/// The first credential of the chain that gives a token for `scope`, or why each failed.
async fn first_token(
    scope: &'static str,
    variables: &Variables,
    http: &reqwest::Client,
) -> Result<EntraToken, Vec<Untried>> {
    let mut untried = Vec::new();
    for (source, credential) in chain(variables, http).await {
        let credential = match credential {
            Ok(credential) => credential,
            Err(reason) => {
                untried.push(Untried { source, reason });
                continue;
            }
        };
        match attempt(credential.as_ref(), scope).await {
            Ok(token) => {
                return Ok(EntraToken {
                    source,
                    scope,
                    credential,
                    cached: Mutex::new(Some(token)),
                })
            }
            Err(reason) => untried.push(Untried { source, reason }),
        }
    }
    Err(untried)
}

type Link = (TokenSource, Result<Arc<dyn TokenCredential>, String>);

/// The credentials in the order they are tried; those the environment does not configure
/// say so instead.
async fn chain(variables: &Variables, http: &reqwest::Client) -> Vec<Link> {
    let set = |name: &str| {
        variables
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    // A credential that cannot reach Entra ID fails in seconds, not the crate's minute, so
    // the next one is tried while the user still waits.
    let options = || ClientOptions {
        transport: Some(Transport::new(Arc::new(ReqwestTransport(http.clone())))),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            ..ExponentialRetryOptions::default()
        }),
        ..ClientOptions::default()
    };
    let built = |result: azure_core::Result<Arc<dyn TokenCredential>>| {
        result.map_err(|error| describe(&error))
    };
    let mut links: Vec<Link> = Vec::new();

    let service_principal = match (
        set("AZURE_TENANT_ID"),
        set("AZURE_CLIENT_ID"),
        set("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant), Some(client), Some(secret)) => built(
            ClientSecretCredential::new(
                &tenant,
                client,
                AzureSecret::new(secret),
                Some(ClientSecretCredentialOptions {
                    client_options: options(),
                }),
            )
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        _ => Err(not_set(
            variables,
            &["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"],
        )),
    };
    links.push((TokenSource::ServicePrincipal, service_principal));

    let workload = match set("AZURE_FEDERATED_TOKEN_FILE") {
        Some(file) => built(
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: options(),
                },
                client_id: set("AZURE_CLIENT_ID"),
                tenant_id: set("AZURE_TENANT_ID"),
                token_file_path: Some(file.into()),
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        None => Err(not_set(variables, &["AZURE_FEDERATED_TOKEN_FILE"])),
    };
    links.push((TokenSource::WorkloadIdentity, workload));

    let pipelines = match (
        set("SYSTEM_OIDCREQUESTURI"),
        set("AZURESUBSCRIPTION_TENANT_ID"),
        set("AZURESUBSCRIPTION_CLIENT_ID"),
        set("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
        set("SYSTEM_ACCESSTOKEN"),
    ) {
        (Some(_), Some(tenant), Some(client), Some(connection), Some(token)) => built(
            AzurePipelinesCredential::new(
                tenant,
                client,
                &connection,
                AzureSecret::new(token),
                Some(azure_identity::AzurePipelinesCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: options(),
                    },
                }),
            )
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        _ => Err(not_set(
            variables,
            &[
                "SYSTEM_OIDCREQUESTURI",
                "AZURESUBSCRIPTION_TENANT_ID",
                "AZURESUBSCRIPTION_CLIENT_ID",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
                "SYSTEM_ACCESSTOKEN",
            ],
        )),
    };
    links.push((TokenSource::AzurePipelines, pipelines));

    let managed = match host_has_managed_identity(variables, http).await {
        true => built(
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                client_options: options(),
                ..ManagedIdentityCredentialOptions::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        false => Err(
            "this host offers none (no IDENTITY_ENDPOINT, and no metadata endpoint answered)"
                .into(),
        ),
    };
    links.push((TokenSource::ManagedIdentity, managed));

    links.push((
        TokenSource::AzureCli,
        built(AzureCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)),
    ));
    links.push((
        TokenSource::AzureDeveloperCli,
        built(AzureDeveloperCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)),
    ));
    links
}

/// Why a credential the environment configures only in part was not tried.
fn not_set(variables: &Variables, names: &[&str]) -> String {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !variables.contains_key(name))
        .collect();
    format!("not configured ({} not set)", missing.join(", "))
}

/// Whether the host offers a managed identity: App Service and its kin say so in the
/// environment; a VM's metadata endpoint must answer within a second.
async fn host_has_managed_identity(variables: &Variables, http: &reqwest::Client) -> bool {
    if variables.contains_key("IDENTITY_ENDPOINT") && variables.contains_key("IDENTITY_HEADER") {
        return true;
    }
    let probe = http
        .get("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01")
        .header("metadata", "true")
        .timeout(METADATA_PROBE)
        .send();
    // The metadata service answers in JSON, even to this request without a resource; a
    // proxy or a firewall that answers for the address does not.
    match tokio::time::timeout(METADATA_PROBE, probe).await {
        Ok(Ok(response)) => response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json")),
        _ => false,
    }
}

/// An error of the crate as one line: its message without the link to the troubleshooting
/// guide, then each cause it does not already say.
fn describe(error: &azure_core::Error) -> String {
    let mut text = error.to_string();
    if let Some(at) = text.find("\nTo troubleshoot") {
        text.truncate(at);
    }
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let said = inner.to_string();
        let said = said.trim();
        if !said.is_empty() && !text.contains(said) {
            text.push_str(": ");
            text.push_str(said);
        }
        cause = inner.source();
    }
    text.replace('\n', " ").trim().to_string()
}

/// The crate's HTTP client, made of evalctl's: one TLS stack, rustls, no second reqwest.
#[derive(Debug)]
struct ReqwestTransport(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for ReqwestTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        use azure_core::error::{Error, ErrorKind};
        use azure_core::http::headers::Headers;
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| Error::new(ErrorKind::Other, e))?;
        let mut outgoing = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            outgoing = outgoing.header(name.as_str(), value.as_str());
        }
        if let azure_core::http::Body::Bytes(bytes) = request.body() {
            outgoing = outgoing.body(bytes.clone());
        }
        // A refused connection is a connection error, anything else in flight is I/O: the
        // crate's retries tell them apart.
        let response = outgoing.send().await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            Error::new(kind, e)
        })?;
        let status = response.status().as_u16().into();
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                headers.insert(name.as_str().to_owned(), value.to_owned());
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::new(ErrorKind::Io, e))?;
        Ok(AsyncRawResponse::from_bytes(status, headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_only_in_its_last_minutes() {
        let token = |seconds: i64| AccessToken {
            token: AzureSecret::new("t"),
            expires_on: time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds),
        };
        assert!(!expires_soon(&token(3600)));
        assert!(expires_soon(&token(240)));
        assert!(expires_soon(&token(-10)));
    }
}
