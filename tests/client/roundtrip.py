"""A generated client's round trip: create, submit and read a case through the Python client that
openapi-python-client generates from openapi/openapi.json. Started by scripts/client-roundtrip.sh,
which generates the package `foerderakte_client`, puts it on PYTHONPATH and sets:

  BASE_URL          the server, e.g. http://127.0.0.1:40123
  APPLICANT_TOKEN   an applicant of Eisenach (16063105)
  CASEWORKER_TOKEN  a caseworker

Only the generated client is used (its API functions and models), no hand-written HTTP. Each
check prints one line, `ok` or `FAIL`; the last line is `client round trip: N passed, M failed`
and the exit status is 1 if any check failed.
"""

import datetime
import os
import sys
import uuid

import httpx

from foerderakte_client import AuthenticatedClient
from foerderakte_client.api.applications import (
    create_application,
    get_application,
    list_applications,
    transition_application,
)
from foerderakte_client.api.programmes import get_programme
from foerderakte_client.models import (
    ApplicationDto,
    CostCategory,
    CostLineInput,
    NewApplication,
    ProgrammeDto,
    TransitionBody,
)
from foerderakte_client.types import UNSET

LEAD = "16063105"  # Eisenach, Stadt (Wartburgkreis)
PROGRAMME = "THUEREGOVRL-2024"

passed = 0
failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
        if detail:
            print(f"       {detail}")
    return ok


def need(name):
    value = os.environ.get(name)
    if not value:
        print(f"roundtrip.py: {name} is not set (run scripts/client-roundtrip.sh)", file=sys.stderr)
        sys.exit(2)
    return value


def client(token):
    # A debug build on a shared machine: be patient. Statuses the document does not name raise.
    return AuthenticatedClient(
        base_url=need("BASE_URL"),
        token=token,
        timeout=httpx.Timeout(60.0),
        raise_on_unexpected_status=True,
    )


def main():
    applicant = client(need("APPLICANT_TOKEN"))
    caseworker = client(need("CASEWORKER_TOKEN"))
    today = datetime.date.today()

    # The programme, as any role reads it: the typed model of the reference data.
    r = get_programme.sync_detailed(PROGRAMME, client=applicant)
    check(
        r.status_code == 200 and isinstance(r.parsed, ProgrammeDto) and r.parsed.code == PROGRAMME,
        f"GET programme {PROGRAMME}: 200, a ProgrammeDto",
        f"{r.status_code} {r.content[:300]!r}",
    )

    # 1. The applicant of Eisenach opens a draft (the example of docs/api-guide.md, in the future):
    #    eligible 52,500.50 (80 % of it is 42,000.40), total 52,800.50 = 10,800.50 own + 42,000.00.
    draft = NewApplication(
        programme=PROGRAMME,
        funding_object="c",
        lead_ags=LEAD,
        title="Schnittstelle DMS – Fachverfahren Bauamt (generierter Client)",
        description="Anbindung des Bauamts an DMS und Online-Dienste",
        project_start=today + datetime.timedelta(days=60),
        project_end=today + datetime.timedelta(days=360),
        cost_lines=[
            CostLineInput(category=CostCategory.SOFTWARE, description="Schnittstellenmodul", amount="40000.00", eligible=True),
            CostLineInput(category=CostCategory.SERVICES, description="Einführung und Schulung", amount="12500.50", eligible=True),
            CostLineInput(category=CostCategory.OTHER, description="Bewirtung", amount="300.00", eligible=False),
        ],
        own_contribution="10800.50",
        third_party_funds="0.00",
        requested_grant="42000.00",
        partners=[],
        contact="Ingo Beispiel, Leiter IT",
        postal_address="Stadtverwaltung Eisenach\nMarkt 1\n99817 Eisenach",
    )
    key = f"client-roundtrip-{uuid.uuid4()}"
    r = create_application.sync_detailed(client=applicant, body=draft, idempotency_key=key)
    created = r.parsed
    if not check(
        r.status_code == 201 and isinstance(created, ApplicationDto),
        "POST /applications as applicant: 201, an ApplicationDto",
        f"{r.status_code} {r.content[:500]!r}",
    ):
        return
    etag = r.headers.get("etag")
    check(
        created.status == "draft" and created.version == 1 and etag == '"1"',
        f"the draft {created.case_number}: status draft, version 1, ETag \"1\"",
        f"status {created.status}, version {created.version}, ETag {etag}",
    )
    check(
        (created.total_cost, created.eligible_total, created.requested_grant, created.own_contribution)
        == ("52800.50", "52500.50", "42000.00", "10800.50"),
        "the draft's amounts: total 52800.50, eligible 52500.50, requested 42000.00, own 10800.50",
        f"{created.total_cost} {created.eligible_total} {created.requested_grant} {created.own_contribution}",
    )

    # The same request with the same Idempotency-Key is answered with the same case.
    r = create_application.sync_detailed(client=applicant, body=draft, idempotency_key=key)
    check(
        r.status_code == 201 and isinstance(r.parsed, ApplicationDto) and r.parsed.id == created.id
        and r.headers.get("idempotent-replayed") == "true",
        "the same POST with the same Idempotency-Key: the same case, Idempotent-Replayed: true",
        f"{r.status_code} {r.headers.get('idempotent-replayed')} {r.content[:300]!r}",
    )

    # 2. The applicant submits it, with the ETag of the draft in If-Match.
    r = transition_application.sync_detailed(
        created.id, client=applicant, body=TransitionBody(action="submit"), if_match=etag
    )
    submitted = r.parsed
    if not check(
        r.status_code == 200 and isinstance(submitted, ApplicationDto),
        "POST /applications/{id}/transitions submit as applicant: 200, an ApplicationDto",
        f"{r.status_code} {r.content[:500]!r}",
    ):
        return
    check(
        submitted.status == "submitted" and submitted.version == 2 and submitted.processing_clock_running
        and submitted.submitted_at not in (None, UNSET),
        "submitted: status submitted, version 2, the processing clock running, submitted_at set",
        f"status {submitted.status}, version {submitted.version}, clock {submitted.processing_clock_running}, "
        f"submitted_at {submitted.submitted_at}",
    )

    # A second submit with the old ETag is refused (412): the client sends If-Match as given.
    r = transition_application.sync_detailed(
        created.id, client=applicant, body=TransitionBody(action="submit"), if_match=etag
    )
    check(r.status_code == 412, "submit again with the stale ETag: 412", f"{r.status_code} {r.content[:300]!r}")

    # 3. The caseworker reads it back, and finds it in the list of submitted cases.
    r = get_application.sync_detailed(created.id, client=caseworker)
    read = r.parsed
    if not check(
        r.status_code == 200 and isinstance(read, ApplicationDto),
        "GET /applications/{id} as caseworker: 200, an ApplicationDto",
        f"{r.status_code} {r.content[:500]!r}",
    ):
        return
    check(
        read.id == created.id and read.case_number == created.case_number and read.status == "submitted"
        and read.version == 2 and r.headers.get("etag") == '"2"',
        f"read back {read.case_number}: status submitted, version 2, ETag \"2\"",
        f"status {read.status}, version {read.version}, ETag {r.headers.get('etag')}",
    )
    check(
        (read.total_cost, read.eligible_total, read.requested_grant, read.own_contribution,
         read.third_party_funds, read.paid_amount)
        == ("52800.50", "52500.50", "42000.00", "10800.50", "0.00", "0.00")
        and read.granted_amount in (None, UNSET),
        "read back amounts: total 52800.50, eligible 52500.50, requested 42000.00, own 10800.50, "
        "third party 0.00, paid 0.00, nothing granted",
        f"{read.total_cost} {read.eligible_total} {read.requested_grant} {read.own_contribution} "
        f"{read.third_party_funds} {read.paid_amount} {read.granted_amount}",
    )
    check(
        [(c.category, c.amount, c.eligible) for c in read.cost_lines]
        == [("software", "40000.00", True), ("services", "12500.50", True), ("other", "300.00", False)],
        "read back cost lines: the three lines as sent",
        repr([(c.category, c.amount, c.eligible) for c in read.cost_lines]),
    )
    r = list_applications.sync_detailed(client=caseworker, status="submitted", ags=LEAD, limit=50)
    ids = [item.id for item in r.parsed.items] if r.status_code == 200 and r.parsed is not None else []
    check(
        created.id in ids,
        "GET /applications?status=submitted&ags=16063105 as caseworker lists it",
        f"{r.status_code} {ids}",
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # an undocumented status, a response the models cannot read
        check(False, f"the round trip stopped: {type(e).__name__}: {e}")
    print(f"client round trip: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
