//! The ministry's dashboard at `/dashboard/`: German HTML pages over the reports, rendered on
//! the server (askama templates, plotters' SVG charts), working without JavaScript and
//! fetching nothing from elsewhere. It reads the reports through the functions the report API
//! answers with, so it shows the API's figures; each view downloads as the API's `csv-de`.
//!
//! Sign-in: `POST /dashboard/session` with the form field `token` (a JWT as the API takes it)
//! sets the cookie `fa_sitzung` (HttpOnly, SameSite=Strict, Path=/dashboard, Secure when the
//! request came over TLS) for the token's remaining lifetime; each request verifies the token
//! again, so the page never shows more than the token's role may see (`policy::READ_REPORTS`,
//! as the report API: an applicant gets 403). Without a valid cookie a view answers 401 with
//! the sign-in page. `docs/operations.md` says how production puts it behind the state's
//! identity provider.

mod chart;
mod page;
mod views;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;

use self::page::View;
use self::views::{Built, Query};
use super::caller::Caller;
use crate::auth::JwtVerifier;
use crate::auth::policy;
use crate::domain::Role;
use crate::error::ApiError;
use crate::reporting::table::Dialect;

/// The session cookie: the token itself, verified on every request.
const COOKIE: &str = "fa_sitzung";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::redirect("/dashboard", "/dashboard/"))
        .service(sign_in_page)
        .service(sign_in)
        .service(sign_out)
        .service(export_csv)
        .service(overview_view)
        .service(named_view);
}

/// The headers of every dashboard answer: no scripts, no framing, nothing from elsewhere, not
/// cached (the figures are the caller's to see).
fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // `same-origin`, not `no-referrer`: with the latter a browser sends `Origin: null` on
        // the sign-in form's POST, which `same_origin` must refuse.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn sign_in_answer(status: StatusCode, error: Option<String>) -> HttpResponse {
    html(status, page::render_sign_in(error))
}

/// The token of the session cookie, if the request has one.
fn session_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn verifier(req: &HttpRequest) -> Result<&JwtVerifier, ApiError> {
    req.app_data::<web::Data<JwtVerifier>>()
        .map(|v| v.get_ref())
        .ok_or_else(|| ApiError::internal("JwtVerifier missing from app data"))
}

/// The signed-in caller, or the answer instead: 401 with the sign-in page (no or a bad
/// session), 403 for a role that may not read reports.
fn session(req: &HttpRequest) -> Result<Caller, Box<HttpResponse>> {
    let Some(token) = session_token(req) else {
        return Err(Box::new(sign_in_answer(StatusCode::UNAUTHORIZED, None)));
    };
    let verifier = verifier(req).map_err(|e| Box::new(error_page(None, None, &e)))?;
    let principal = verifier.verify(&token).map_err(|e| {
        Box::new(sign_in_answer(
            StatusCode::UNAUTHORIZED,
            Some(format!(
                "Die Sitzung ist abgelaufen oder das Token wird nicht angenommen ({e}). Bitte \
                 melden Sie sich neu an."
            )),
        ))
    })?;
    let user = format!("{} ({})", principal.subject, role_de(principal.role));
    if !policy::READ_REPORTS.contains(&principal.role) {
        let e = ApiError::Forbidden(format!(
            "Ihre Rolle ({}) darf die Berichte nicht sehen; Antragsteller sehen ihre Vorhaben \
             über die API.",
            role_de(principal.role)
        ));
        return Err(Box::new(error_page(None, Some(user), &e)));
    }
    Caller::for_principal(req, principal).map_err(|e| Box::new(error_page(None, Some(user), &e)))
}

fn role_de(role: Role) -> &'static str {
    match role {
        Role::Applicant => "Antragsteller",
        Role::Caseworker => "Sachbearbeitung",
        Role::Approver => "Zeichnungsbefugte",
        Role::Ministry => "Finanzministerium",
        Role::Admin => "Betrieb",
    }
}

fn user_of(caller: &Caller) -> String {
    format!(
        "{} ({})",
        caller.principal.subject,
        role_de(caller.principal.role)
    )
}

/// An error as a page: the view's navigation, the message, the status of the error.
fn error_page(view: Option<View>, user: Option<String>, e: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let status = e.status_code();
    let message = match e {
        ApiError::Validation(fields) => {
            let list: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", field_de(&f.field), f.message))
                .collect();
            format!("Die Auswahl ist nicht gültig. {}", list.join("; "))
        }
        ApiError::Busy { .. } => {
            "Gerade laufen zu viele Auswertungen; bitte in einigen Sekunden neu laden.".into()
        }
        e if status.is_server_error() => {
            log::error!("dashboard: {e}");
            "Ein interner Fehler ist aufgetreten; er ist protokolliert.".into()
        }
        e => e.to_string(),
    };
    let title = match status {
        StatusCode::FORBIDDEN => "Kein Zugriff",
        s if s.is_server_error() => "Fehler",
        _ => view.map_or("Fehler", View::title),
    };
    let mut p = page::Page::new("");
    p.error = Some(message);
    // The views' navigation for a signed-in reader; none for whom they are all closed.
    let nav = if user.is_some() && status != StatusCode::FORBIDDEN {
        page::nav(view)
    } else {
        Vec::new()
    };
    let mut resp = html(status, page::render(&p, title, user, nav));
    if let ApiError::Busy { retry_after, .. } = e {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    resp
}

fn field_de(field: &str) -> &str {
    match field {
        "from" => "Von",
        "to" => "Bis",
        "programme" => "Programm",
        "kreis" => "Kreis",
        "basis" => "Jahr nach",
        "as_of" => "Stichtag",
        "year" => "Jahr",
        other => other,
    }
}

#[get("/dashboard/anmelden")]
async fn sign_in_page() -> HttpResponse {
    sign_in_answer(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

/// Opens a session: the token is verified as the API verifies it, and kept in the cookie for
/// as long as it is valid. A form posted from another site is refused (its `Origin` is not
/// this service), so nobody can sign a browser into someone else's session.
#[post("/dashboard/session")]
async fn sign_in(req: HttpRequest, form: web::Form<SignIn>) -> HttpResponse {
    if !same_origin(&req) {
        return sign_in_answer(
            StatusCode::FORBIDDEN,
            Some("Die Anmeldung kam von einer anderen Seite.".into()),
        );
    }
    let token = form.into_inner().token.trim().to_owned();
    let verifier = match verifier(&req) {
        Ok(v) => v,
        Err(e) => return error_page(None, None, &e),
    };
    let expires = match verifier.verify_until(&token) {
        Ok((_, exp)) => exp,
        Err(e) => {
            return sign_in_answer(
                StatusCode::UNAUTHORIZED,
                Some(format!("Das Token wird nicht angenommen: {e}.")),
            );
        }
    };
    let now = jsonwebtoken::get_current_timestamp();
    let max_age = expires.saturating_sub(now);
    let cookie = format!(
        "{COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        secure(&req)
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dashboard/"))
        .insert_header((header::SET_COOKIE, cookie))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Ends the session: the cookie is cleared.
#[post("/dashboard/session/ende")]
async fn sign_out(req: HttpRequest) -> HttpResponse {
    let cookie = format!(
        "{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(&req)
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dashboard/anmelden"))
        .insert_header((header::SET_COOKIE, cookie))
        .finish()
}

fn secure(req: &HttpRequest) -> &'static str {
    if req.connection_info().scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

/// Whether a form post comes from this service's own page: the browser says so
/// (`Sec-Fetch-Site: same-origin`, or `none` for a user's own navigation), or its `Origin`
/// names this host; a post without either (an old browser, a script) is accepted. `Origin:
/// null` is refused: any page can make a browser send it.
fn same_origin(req: &HttpRequest) -> bool {
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = req.connection_info().host().to_owned();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host))
}

fn query_of(req: &HttpRequest) -> Result<Query, ApiError> {
    web::Query::<Query>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::BadRequest(format!("die Adresse ist nicht lesbar: {e}")))
}

/// The programme codes, for the filter.
async fn programme_codes(caller: &Caller) -> Result<Vec<String>, ApiError> {
    caller
        .db(|conn, _| {
            let list = crate::persistence::programmes::list(conn)?;
            Ok(list.into_iter().map(|(p, _)| p.code).collect())
        })
        .await
}

async fn build(view: View, caller: &Caller, q: &Query) -> Result<Built, ApiError> {
    let programmes = programme_codes(caller).await?;
    match view {
        View::Overview => views::overview(caller, q, &programmes).await,
        View::Regions => views::regions(caller, q, &programmes).await,
        View::Pipeline => views::pipeline(caller, q, &programmes).await,
        View::Budget => views::budget(caller, q).await,
        View::Processing => views::processing(caller, q).await,
    }
}

async fn show(req: HttpRequest, view: View) -> HttpResponse {
    let caller = match session(&req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let user = user_of(&caller);
    let built = match query_of(&req) {
        Ok(q) => build(view, &caller, &q).await,
        Err(e) => Err(e),
    };
    match built {
        Ok(b) => html(
            StatusCode::OK,
            page::render(&b.page, view.title(), Some(user), page::nav(Some(view))),
        ),
        Err(e) => error_page(Some(view), Some(user), &e),
    }
}

#[get("/dashboard/")]
async fn overview_view(req: HttpRequest) -> HttpResponse {
    show(req, View::Overview).await
}

#[get("/dashboard/{view}")]
async fn named_view(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match View::from_slug(&path) {
        Some(v) if v != View::Overview => show(req, v).await,
        _ => not_found(&req),
    }
}

fn not_found(req: &HttpRequest) -> HttpResponse {
    let user = session(req).ok().map(|c| user_of(&c));
    error_page(
        None,
        user,
        &ApiError::NotFound("Diese Ansicht gibt es nicht.".into()),
    )
}

/// A view's figures as the German CSV of the report API (`format=csv-de`).
#[get("/dashboard/export/{view}")]
async fn export_csv(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(view) = View::ALL.into_iter().find(|v| v.export_name() == *path) else {
        return not_found(&req);
    };
    let caller = match session(&req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let built = match query_of(&req) {
        Ok(q) => build(view, &caller, &q).await,
        Err(e) => Err(e),
    };
    let answer = built.and_then(|b| {
        let csv = crate::http::reports::Format::Csv(Dialect::German);
        crate::http::reports::respond(csv, &(), view.export_name(), b.csv)
    });
    answer.unwrap_or_else(|e| error_page(Some(view), Some(user_of(&caller)), &e))
}
