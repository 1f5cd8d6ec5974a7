//! The OpenAPI 3.1 document, collected from the handlers' annotations.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "foerderakte",
        description = "System of record for Thuringian municipal e-government grants \
            (ThürEGovRL, § 24 ThürFAG): applications, decision notices, payments and exact \
            reporting. Money is a JSON string with exactly two decimals (`\"310620.00\"`, euros); \
            errors are RFC 9457 `application/problem+json`; authentication is a bearer JWT \
            with the claims `sub`, `role` and, for applicants, `ags`.",
        license(name = "EUPL-1.2"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "register", description = "The municipality register (Destatis GV100AD)"),
        (name = "programmes", description = "Funding programmes and their funding objects"),
        (name = "applications", description = "Funding applications (cases) and their lifecycle. \
            A computed grant is always rounded down to the cent."),
        (name = "notices", description = "Decision notices (Bescheide): prepared by a caseworker, signed by another person; interest on reclaims"),
        (name = "payments", description = "Payment requests (Mittelabruf) and payouts, four eyes"),
        (name = "reports", description = "Reports for the finance ministry: volumes, pipeline, budget, processing times; JSON, CSV or German CSV"),
        (name = "audit", description = "The append-only, hash-chained audit log"),
        (name = "operations", description = "Health and metrics, unauthenticated"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document for the routes in `http::routes`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::http::routes)
        .split_for_parts();
    document_json_body_errors(&mut api);
    api
}

/// Every JSON request body goes through `http::errors::json_config`, which answers 413 for a
/// body over the limit and 415 for one that is not `application/json` (or has no content type
/// at all). Documented here once for every operation that takes a JSON body, so that no handler
/// can forget them.
fn document_json_body_errors(api: &mut utoipa::openapi::OpenApi) {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for item in api.paths.paths.values_mut() {
        let operations = [
            item.put.as_mut(),
            item.post.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for op in operations.into_iter().flatten() {
            let takes_json = match &op.request_body {
                Some(RefOr::T(body)) => body.content.contains_key("application/json"),
                _ => false,
            };
            if !takes_json {
                continue;
            }
            let responses = &mut op.responses.responses;
            for (status, description) in [
                ("413", "the body is larger than the service accepts"),
                ("415", "the body is not `application/json`"),
            ] {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(problem(description)));
            }
        }
    }
}

/// The document as committed in `openapi/openapi.json` (pretty JSON, trailing newline).
pub fn document_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
