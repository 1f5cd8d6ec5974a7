//! The words of the demo history: who acts, what the projects are called, what is written
//! in reasons. German, as the competence centre and the municipalities write.

use crate::domain::application::CostCategory;

/// The applicant subject of a municipality: its IT lead.
pub(crate) fn applicant(ags: &str) -> String {
    format!("it.leitung@{ags}")
}

/// Who the competence centre writes to about a municipality's application: its IT lead.
pub(crate) fn contact(ags: &str) -> String {
    format!("{}, IT-Leitung", applicant(ags))
}

/// The postal address of a municipality's administration: "Stadtverwaltung Erfurt" and the
/// postcode and place (the register has no streets).
pub(crate) fn postal_address(name: &str, kind: &str, postcode: Option<&str>) -> String {
    let office = match kind {
        "gemeinde" => "Gemeindeverwaltung",
        _ => "Stadtverwaltung",
    };
    let place = short_name(name);
    match postcode {
        Some(p) => format!("{office} {place}\n{p} {place}"),
        None => format!("{office} {place}\n{place}"),
    }
}

/// Caseworkers of the competence centre (Kompetenzzentrum Verwaltung 4.0).
pub(crate) const CASEWORKERS: [&str; 8] = [
    "sabine.koch",
    "thomas.wagner",
    "julia.neumann",
    "michael.schubert",
    "katrin.zimmermann",
    "stefan.kraus",
    "anja.lehmann",
    "daniel.fuchs",
];

/// Approvers (signing authority).
pub(crate) const APPROVERS: [&str; 3] = ["birgit.hartmann", "ralf.schreiber", "monika.vogel"];

/// The operator who sets the budgets.
pub(crate) const BUDGET_ADMIN: &str = "petra.lange";

/// "Erfurt, Stadt" → "Erfurt".
pub(crate) fn short_name(name: &str) -> &str {
    name.strip_suffix(", Stadt").unwrap_or(name)
}

/// "Stadt Erfurt" or "Gemeinde Geratal".
pub(crate) fn body(name: &str, kind: &str) -> String {
    match kind {
        "gemeinde" => format!("Gemeinde {}", short_name(name)),
        _ => format!("Stadt {}", short_name(name)),
    }
}

/// Project titles per funding object; `{}` is the municipality.
pub(crate) fn titles(object: &str) -> &'static [&'static str] {
    match object {
        "a" => &[
            "Einführung eines Dokumentenmanagementsystems und der E-Akte in der Verwaltung der {}",
            "E-Akte für das Bürgerbüro und das Ordnungsamt der {}",
            "Digitale Schriftgutverwaltung (DMS) der {}",
            "Ausbau der E-Akte auf alle Fachämter der {}",
        ],
        "b" => &[
            "Online-Dienste nach dem Onlinezugangsgesetz für die {}",
            "Digitaler Bauantrag und Fachverfahren Bauordnung der {}",
            "Elektronisches Gewerbeverfahren und Online-Anträge der {}",
            "Bürgerportal mit Servicekonto-Anbindung der {}",
        ],
        "c" => &[
            "Schnittstelle zwischen Fachverfahren und DMS der {}",
            "Anbindung des Einwohnermeldeverfahrens an die E-Akte der {}",
            "XTA/OSCI-Anbindung der Fachverfahren der {}",
        ],
        "d" => &[
            "Aufbau eines Informationssicherheitsmanagements (ISMS) der {}",
            "ISMS nach BSI IT-Grundschutz für die {}",
            "Informationssicherheitskonzept und Notfallmanagement der {}",
        ],
        "e" => &[
            "Einführung der E-Rechnung in der {}",
            "Digitale Agenda der {}",
            "E-Government-Strategie der {}",
        ],
        "f" => &[
            "Qualifizierung zur/zum Informationssicherheitsbeauftragten der {}",
            "Schulungsprogramm E-Akte und Online-Dienste der {}",
            "Qualifizierung der Beschäftigten für die digitale Verwaltung der {}",
        ],
        "koop" => &[
            "Interkommunale Zusammenarbeit: gemeinsamer IT-Betrieb mit der {} als Trägerin",
            "Gemeinsames Rechenzentrum und IT-Service, federführend die {}",
            "Interkommunales Bürgerservice-Zentrum unter Federführung der {}",
            "Gemeinsame Informationssicherheitsbeauftragte, federführend die {}",
        ],
        _ => &[
            "Machbarkeitsstudie gemeinsame Verwaltungs-IT, federführend die {}",
            "Machbarkeitsstudie interkommunales Bürgerbüro der {}",
            "Machbarkeitsstudie gemeinsame Standesamts- und Meldebehörde der {}",
        ],
    }
}

pub(crate) const PHRASES: [&str; 10] = [
    "Die Verwaltung digitalisiert ihre Vorgangsbearbeitung durchgängig.",
    "Ziel ist die medienbruchfreie Bearbeitung vom Antrag bis zum Bescheid.",
    "Das Vorhaben wird mit dem Thüringer Landesrechenzentrum abgestimmt.",
    "Die Beschäftigten werden vor der Einführung geschult.",
    "Die Lösung wird im Betrieb nach BSI IT-Grundschutz abgesichert.",
    "Vorhandene Fachverfahren werden über standardisierte Schnittstellen angebunden.",
    "Bürgerinnen und Bürger erhalten ein Online-Angebot rund um die Uhr.",
    "Die Umsetzung erfolgt in Stufen über zwei Haushaltsjahre.",
    "Die Leistungen werden nach UVgO vergeben; drei Angebote liegen vor.",
    "Der Datenschutzbeauftragte ist in die Planung eingebunden.",
];

/// A sentence the applicant adds to the description when editing the draft.
pub(crate) const EDIT_PHRASE: &str = "Der Projektzeitraum wurde mit dem Haushaltsplan abgestimmt.";

/// Eligible cost lines per funding object: category and description.
pub(crate) fn eligible_lines(object: &str) -> &'static [(CostCategory, &'static str)] {
    use CostCategory::*;
    match object {
        "a" => &[
            (Software, "DMS-Lizenzen und E-Akte-Module"),
            (Services, "Einrichtung, Migration und Projektbegleitung"),
            (Training, "Schulung der Beschäftigten"),
        ],
        "b" => &[
            (Software, "Lizenzen Online-Dienste und Fachverfahren"),
            (Services, "Konfiguration und Anbindung an das Servicekonto"),
            (Training, "Schulung Sachbearbeitung"),
        ],
        "c" => &[
            (Software, "Schnittstellenmodul"),
            (Services, "Implementierung und Test der Schnittstelle"),
        ],
        "d" => &[
            (Services, "Beratung ISMS und Sicherheitskonzept"),
            (Training, "Sensibilisierung der Beschäftigten"),
        ],
        "e" => &[
            (Software, "E-Rechnungs-Eingangsplattform"),
            (Services, "Strategieberatung und Workshops"),
        ],
        "f" => &[(Training, "Lehrgang und Zertifizierung")],
        "koop" => &[
            (Personnel, "Personalausgaben der gemeinsamen Stelle"),
            (
                Hardware,
                "Server und Netzwerktechnik des gemeinsamen Betriebs",
            ),
            (Services, "Aufbau der gemeinsamen Organisation"),
        ],
        _ => &[(Fees, "Honorar der Machbarkeitsstudie")],
    }
}

/// Cost lines the programmes do not fund.
pub(crate) const INELIGIBLE_LINES: [(CostCategory, &str); 3] = [
    (
        CostCategory::Hardware,
        "Ersatzbeschaffung Arbeitsplatzrechner",
    ),
    (CostCategory::Other, "Bewirtung Auftaktveranstaltung"),
    (CostCategory::Other, "Umzug der Registratur"),
];

/// Why a line is recognised with less than applied for.
pub(crate) const CUT_REASONS: [&str; 4] = [
    "Nur das wirtschaftlichste Angebot ist zuwendungsfähig (Nr. 1.1 ANBest-K).",
    "Wartungskosten nach Ablauf der Einführung sind nicht zuwendungsfähig.",
    "Eigene Personalausgaben sind nach der Richtlinie nicht förderfähig.",
    "Lizenzen über den Bewilligungszeitraum hinaus sind nicht zuwendungsfähig.",
];

pub(crate) const INFO_REQUESTS: [&str; 5] = [
    "Bitte reichen Sie drei Vergleichsangebote für die Softwarelizenzen nach.",
    "Bitte legen Sie den Beschluss des Gemeinderats zum Eigenanteil vor.",
    "Bitte erläutern Sie die Personalkosten im Kostenplan.",
    "Es fehlt die Stellungnahme der oder des Datenschutzbeauftragten.",
    "Bitte ergänzen Sie die Kooperationsvereinbarung mit den Partnern.",
];

pub(crate) const REJECTIONS: [&str; 4] = [
    "Die Haushaltsmittel des Programmjahres sind ausgeschöpft; das Vorhaben konnte nicht \
     berücksichtigt werden.",
    "Das Vorhaben ist eine Ersatzbeschaffung und kein Fördergegenstand nach Nr. 2 der \
     Richtlinie.",
    "Die Wirtschaftlichkeit des Vorhabens ist trotz Nachforderung nicht nachgewiesen.",
    "Das Vorhaben wird bereits aus einem anderen Programm gefördert (Doppelförderung).",
];

pub(crate) const WITHDRAWALS: [&str; 4] = [
    "Das Vorhaben wird aus Eigenmitteln umgesetzt.",
    "Der Gemeinderat hat das Vorhaben zurückgestellt.",
    "Das Vorhaben geht in einem gemeinsamen Antrag mit dem Landkreis auf.",
    "Der Antrag wird im nächsten Jahr mit geändertem Umfang neu gestellt.",
];

pub(crate) const EARLY_START: &str = "Dem vorzeitigen Vorhabenbeginn wird zugestimmt; ein Anspruch \
     auf Förderung entsteht daraus nicht.";

pub(crate) const AMENDMENTS: [&str; 2] = [
    "Der Leistungsumfang wurde auf Antrag verringert; die Zuwendung wird angepasst.",
    "Ein Teil der Leistungen wird durch den Landkreis erbracht; die Zuwendung wird angepasst.",
];

pub(crate) const RETURN_PROOF: &str =
    "Der Verwendungsnachweis ist unvollständig: es fehlen die Belege zu den Schulungskosten.";

pub(crate) const REVOCATION: &str = "Der Zuwendungszweck wurde nicht erreicht: das System wurde \
     nicht in Betrieb genommen (§ 49 Abs. 3 Nr. 1 ThürVwVfG). Die Zuwendung wird teilweise \
     widerrufen.";

pub(crate) const TRANCHE: &str = "Mittelabruf nach Baufortschritt";
pub(crate) const FINAL_PAYMENT: &str = "Schlusszahlung nach Schlussbescheid";
pub(crate) const BUDGET_REASON: &str = "Haushaltsplan";
/// Why the history's administrator opens and closes funding objects (`seed::programme_steps`).
pub(crate) const OBJECTS_OPENED: &str = "Fördergegenstände antragsfähig";
pub(crate) const OBJECTS_CLOSED: &str = "Fördergegenstände nicht mehr antragsfähig";
