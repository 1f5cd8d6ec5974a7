//! The OpenAPI 3.1 document, collected from the handlers' annotations.

use actix_web::App;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
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
        (name = "events", description = "The event feed: every change of every record the caller may read, in order, gap-free and resumable; webhooks deliver the same events"),
        (name = "webhooks", description = "Webhook subscriptions (admin): signed deliveries of the feed's events to other systems, at least once, in order per record, retried, with their history (docs/webhooks.md)"),
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
    document_routine_responses(&mut api);
    document_head(&mut api);
    describe_responses(&mut api);
    api
}

/// Gives every response a `description`, which OpenAPI 3.1 requires of a Response Object:
/// utoipa leaves the field out when an annotation or a routine row names none, and client
/// generators refuse such a document (openapi-python-client: "Field required",
/// `scripts/client-roundtrip.sh`). A routine error status gets its meaning, any other status
/// its reason phrase (`200` "OK", `201` "Created").
fn describe_responses(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.options.as_mut(),
            item.head.as_mut(),
            item.patch.as_mut(),
            item.trace.as_mut(),
        ];
        for op in operations.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = status_description(status);
                }
            }
        }
    }
}

/// The description of a response that has none: see `describe_responses`.
fn status_description(status: &str) -> String {
    let routine = match status {
        "400" => "the request cannot be read (body, query parameter or header)",
        "401" => "no valid bearer token",
        "403" => "the caller's role may not do this",
        "404" => "no such record, or none the caller may see",
        "412" => "`If-Match` does not name the current version: GET again",
        "422" => "the request was read but refused; `errors` names each field",
        "428" => "this write needs `If-Match` with the ETag of the last GET",
        _ => "",
    };
    if !routine.is_empty() {
        return routine.to_owned();
    }
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("the response")
        .to_owned()
}

/// HEAD next to every GET (`http::conventions::head_as_get`): the GET's parameters and
/// statuses with their headers, no body.
fn document_head(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        let Some(get) = &item.get else { continue };
        let mut head = get.clone();
        head.operation_id = get.operation_id.as_ref().map(|id| format!("{id}_head"));
        head.summary = Some(format!(
            "Headers of `GET`, no body{}",
            get.summary
                .as_ref()
                .map_or(String::new(), |s| format!(": {s}"))
        ));
        head.description = None;
        for response in head.responses.responses.values_mut() {
            if let RefOr::T(r) = response {
                r.content.clear();
                if r.description.is_empty() {
                    r.description = "as `GET`, without the body".into();
                }
            }
        }
        item.head = Some(head);
    }
}

/// The bearer token every operation of the API (`/api/v1/…`) requires (every handler takes a
/// `Caller`), and the responses every operation of a kind has, documented here once so that no
/// handler can forget them (and no handler repeats them). The rule, by what the operation
/// declares:
///
/// - a `security` requirement: 401 (the `Caller`/`Principal` extractor refuses a missing or bad
///   token), and 403 (`Caller::require` refuses a role the operation's policy does not name),
///   except for the reads of reference data every role may make (`OPEN_TO_EVERY_ROLE`; the
///   authorization matrix test checks both directions against the decided policy);
/// - input, that is a request body, a query parameter or a header parameter: 400 when it
///   cannot be read (a malformed `If-Match`, `If-None-Match` or `Idempotency-Key` too), and for
///   an `Idempotency-Key` 422 when the key was used with another request;
/// - a request body or a query parameter: 400 when it cannot be read
///   (`http::errors`: a body that is not JSON or does not fit the schema, an unknown or
///   unreadable query parameter) and 422 when it is read but refused (every body is validated
///   beyond its schema: `http::json::Json` refuses a NUL character in any string and each
///   handler checks its fields; each handler with a query checks its values: keys, years,
///   cursors, formats). Path parameters alone do not count: a malformed path parameter is a
///   404 or a hand-written 400, and such an operation documents its own 422 if it has one;
/// - a JSON request body: 413 (larger than the limit) and 415 (not `application/json`), both
///   from `http::errors::json_config`;
/// - a path parameter: 404 (no record has that key, or not one the caller may see);
/// - an `If-Match` header: 428 without it and 412 when it is stale (`http::etag`);
/// - a JSON request body: 408 when it does not arrive in time (`http::limits::body_deadline`);
/// - an expensive operation (`HEAVY_OPERATIONS`): 503 with `Retry-After` when no turn for
///   expensive work is free (`http::limits`).
///
/// A row an annotation writes itself (with its own description) is kept as written.
fn document_routine_responses(api: &mut utoipa::openapi::OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let open_get = OPEN_TO_EVERY_ROLE.contains(&path.as_str());
        let secured = path.starts_with("/api/v1/");
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.options.as_mut(),
            item.head.as_mut(),
            item.patch.as_mut(),
            item.trace.as_mut(),
        ];
        for (i, op) in operations.into_iter().enumerate() {
            let Some(op) = op else { continue };
            let open = open_get && i == 0;
            if secured {
                op.security = Some(vec![SecurityRequirement::new::<_, [&str; 0], &str>(
                    "bearer",
                    [],
                )]);
            }
            forbid_nul_in_parameters(op);
            let mut routine = routine_responses(op, open);
            if op
                .operation_id
                .as_deref()
                .is_some_and(|id| HEAVY_OPERATIONS.contains(&id))
            {
                routine.push((
                    "503",
                    "too much expensive work at the moment; try again after `Retry-After` seconds",
                ));
            }
            let responses = &mut op.responses.responses;
            for (status, description) in routine {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(problem(description)));
            }
        }
    }
}

/// The pattern of a free string parameter: any text without the NUL character, which
/// `http::middleware::refuse_nul` refuses with 400 in a path or a query (no key, id, code or
/// filter contains one). Documented so that a client (or a fuzzer) knows the rule.
const NO_NUL: &str = "^[^\\x00]*$";

/// Gives each string parameter of the path or the query that has neither a pattern nor a
/// format the pattern `NO_NUL`, and each optional header the type string (not string-or-null).
fn forbid_nul_in_parameters(op: &mut Operation) {
    for param in op.parameters.iter_mut().flatten() {
        let RefOr::T(param) = param else { continue };
        if matches!(param.parameter_in, ParameterIn::Header)
            && let Some(RefOr::T(Schema::Object(schema))) = param.schema.as_mut()
            && schema.schema_type == SchemaType::Array(vec![Type::String, Type::Null])
        {
            // An optional header is absent or a string, never `null` (utoipa writes an
            // `Option<String>` as string-or-null, and a fuzzer sends the text "null").
            schema.schema_type = SchemaType::Type(Type::String);
        }
        if !matches!(param.parameter_in, ParameterIn::Path | ParameterIn::Query) {
            continue;
        }
        if let Some(RefOr::T(Schema::Object(schema))) = param.schema.as_mut() {
            let is_string = matches!(schema.schema_type, SchemaType::Type(Type::String));
            if is_string && schema.pattern.is_none() && schema.format.is_none() {
                schema.pattern = Some(NO_NUL.to_owned());
            }
        }
    }
}

/// The operations that take a turn for expensive work (`Caller::heavy`).
const HEAVY_OPERATIONS: [&str; 7] = [
    "notice_document",
    "open_data_grants",
    "report_volumes",
    "report_pipeline",
    "report_budget",
    "report_processing_times",
    "verify_audit_log",
];

/// The paths whose `GET` every role may call (`auth::policy::ANY_ROLE`): the register, the
/// programmes, the base rates, the delivery rules, and the event feed (which shows each role
/// the records it may read).
const OPEN_TO_EVERY_ROLE: [&str; 7] = [
    "/api/v1/base-rates",
    "/api/v1/delivery-rules",
    "/api/v1/events",
    "/api/v1/municipalities",
    "/api/v1/municipalities/{ags}",
    "/api/v1/programmes",
    "/api/v1/programmes/{code}",
];

/// The routine (status, description) rows of one operation, by the rule above (`open`: every
/// role may call it).
fn routine_responses(op: &Operation, open: bool) -> Vec<(&'static str, &'static str)> {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let takes_json = match &op.request_body {
        Some(RefOr::T(body)) => body.content.contains_key("application/json"),
        _ => false,
    };
    let has = |wanted: &dyn Fn(&utoipa::openapi::path::Parameter) -> bool| {
        op.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => wanted(p),
            RefOr::Ref(_) => false,
        })
    };
    let has_query = has(&|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_path = has(&|p| matches!(p.parameter_in, ParameterIn::Path));
    let if_match = has(&|p| {
        matches!(p.parameter_in, ParameterIn::Header) && p.name.eq_ignore_ascii_case("If-Match")
    });
    let has_header = has(&|p| matches!(p.parameter_in, ParameterIn::Header));
    let idempotent = has(&|p| {
        matches!(p.parameter_in, ParameterIn::Header)
            && p.name.eq_ignore_ascii_case("Idempotency-Key")
    });
    let mut rows = Vec::new();
    if has_body || has_query || has_header {
        rows.push(("400", ""));
    }
    if secured {
        rows.push(("401", ""));
        if !open {
            rows.push(("403", ""));
        }
    }
    if takes_json {
        rows.push(("413", "the body is larger than the service accepts"));
        rows.push(("415", "the body is not `application/json`"));
        rows.push(("408", "the body did not arrive in time"));
    }
    if has_path {
        rows.push(("404", ""));
    }
    if if_match {
        rows.push(("412", ""));
        rows.push(("428", ""));
    }
    if has_body || has_query || idempotent {
        rows.push(("422", ""));
    }
    rows
}

/// A problem+json response, as the annotations write one.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// The document as committed in `openapi/openapi.json` (pretty JSON, trailing newline).
pub fn document_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
