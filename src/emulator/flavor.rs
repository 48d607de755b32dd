//! Which service the request speaks to: OpenAI (`/v1`), an Azure OpenAI resource
//! (`/openai/v1`), or a Foundry project (`/api/projects/{project}/openai/v1`). OpenAI and the
//! resource share one store; each project has its own (the two Azure surfaces are separate
//! stores, as on the service). They differ in the details listed on [`Flavor`].

/// The service flavor of one request, chosen by its path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    OpenAi,
    Azure,
    /// A Foundry project: Entra ID only, no api-version, its own types and echo.
    Foundry,
}

/// Which store a request reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Surface {
    /// The resource's (and OpenAI's).
    Resource,
    /// A Foundry project's, by name.
    Project(String),
}

impl Flavor {
    /// The header that carries the request id on every response.
    pub(crate) fn request_id_header(self) -> &'static str {
        match self {
            Flavor::OpenAi => "x-request-id",
            Flavor::Azure | Flavor::Foundry => "apim-request-id",
        }
    }

    /// Create-eval answers 201 on OpenAI and 200 on Azure (each spec says so).
    pub(crate) fn create_eval_status(self) -> axum::http::StatusCode {
        match self {
            Flavor::OpenAi => axum::http::StatusCode::CREATED,
            Flavor::Azure | Flavor::Foundry => axum::http::StatusCode::OK,
        }
    }

    /// Whether the Azure error envelope and the Azure delete shapes apply.
    pub(crate) fn is_azure(self) -> bool {
        matches!(self, Flavor::Azure | Flavor::Foundry)
    }
}
