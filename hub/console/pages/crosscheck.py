"""The cross-check's console pages (docs/crosscheck.md §9, docs/hub.md §15).

- ``GET /crosscheck``: findings per region and per source, open, answered and closed,
  with their ages; the imports (readers of records);
- ``GET /crosscheck/findings``: the findings, filtered and paged; reviewers accept or
  reject an answer, administrators withdraw a finding;
- ``GET|POST /crosscheck/upload`` and ``GET|POST /crosscheck/upload/{token}``: a
  register file (streamed to ``DATA/tmp``), then its column mapping (the source's saved
  one offered), then the import (administrators);
- ``GET /crosscheck/imports/{id}`` and ``POST …/check``: an import's progress and row
  problems; matching it (administrators);
- ``GET /crosscheck/proposals`` and their ``confirm``/``refuse``: fuzzy matches;
- ``POST /crosscheck/send``, ``POST /crosscheck/recheck``: send the open findings down;
  re-check now (administrators).

An upload is read as a stream: the page's script sends the file as the request body
(``X-CSRF-Token`` header), so a register of hundreds of megabytes never sits in
memory; without the script, a plain form posts small files (up to the console's 1 MiB
body limit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aiohttp import web
from multidict import MultiDictProxy

from hub.console.auth import account_of
from hub.console.crosscheckview import (
    FIELD_CHOICES,
    Background,
    accept,
    confirm,
    findings,
    home,
    import_page,
    known_sources,
    mapping_step,
    new_upload,
    proposals,
    recheck,
    refuse,
    reject,
    send,
    start_check,
    start_import,
    upload_path,
    withdraw_finding,
)
from hub.console.display import page
from hub.console.errors import FormError
from hub.console.pages.common import (
    MAX_ROW_ID,
    call,
    context,
    form_dict,
    form_message,
    int_query,
    permission,
)
from hub.crosscheck import MappingError, RegisterFileError, SourceKind
from hub.crosscheck.overview import MADE, FindingFilter
from node.web.kit import route_url

__all__ = ["CROSSCHECK_JOBS", "add_routes"]

#: The imports and checks running in this process (made with the console).
CROSSCHECK_JOBS: web.AppKey[Background] = web.AppKey("crosscheck_jobs", Background)
_PAGE: Final = 100
_CHUNK: Final = 1 << 20
_STATES: Final = ("open", "answered", "closed")
_KINDS: Final = tuple(k.value for k in SourceKind)


def _jobs(request: web.Request) -> Background:
    return request.config_dict[CROSSCHECK_JOBS]


def _back(request: web.Request, name: str, notice: str = "", **parts: object) -> web.HTTPSeeOther:
    query = {"notice": notice} if notice else None
    return web.HTTPSeeOther(route_url(request, name, query, **parts))


@permission("read_records")
async def overview(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck``."""
    view = await call(home, context(request), account_of(request))
    return page(request, "console/crosscheck.html", {"view": view, "now": context(request).now()})


@permission("read_records")
async def finding_list(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck/findings?state=&source=&region=&kind=&made=&page=``."""
    query = request.query
    state = query.get("state") if query.get("state") in _STATES else None
    number = int_query(request, "page", MAX_ROW_ID // _PAGE) or 1
    made = query.get("made", "here")
    flt = FindingFilter(state=state, source=query.get("source", "")[:100] or None,
                        region=query.get("region", "")[:12] or None,
                        kind=query.get("kind", "")[:24] or None,
                        made=made if made in MADE else "here",
                        offset=(number - 1) * _PAGE, limit=_PAGE)  # fmt: skip
    found = await call(findings, context(request), account_of(request), flt)
    return page(request, "console/crosscheck_findings.html",
                {"found": found, "filter": flt, "page_number": number, "page_size": _PAGE,
                 "site": context(request).site,
                 "error": request.query.get("error")})  # fmt: skip


def _finding(request: web.Request) -> str:
    return request.match_info["finding"]


@permission("review")
async def accept_answer(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/findings/{finding}/accept``: the answer settles it."""
    await request.post()
    await call(accept, context(request), account_of(request), _finding(request))
    raise _back(request, "crosscheck_findings", "crosscheck_accepted")


@permission("review")
async def reject_answer(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/findings/{finding}/reject``: with a reason; it goes down again."""
    form = form_dict(await request.post())
    try:
        await call(reject, context(request), account_of(request), _finding(request),
                   form.get("reason", ""))  # fmt: skip
    except FormError as exc:
        url = route_url(request, "crosscheck_findings", {"error": form_message(request, exc)})
        raise web.HTTPSeeOther(url) from None
    raise _back(request, "crosscheck_findings", "crosscheck_rejected")


@permission("manage_crosscheck")
async def withdraw(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/findings/{finding}/withdraw``."""
    await request.post()
    await call(withdraw_finding, context(request), account_of(request), _finding(request))
    raise _back(request, "crosscheck_findings", "crosscheck_withdrawn")


@permission("manage_crosscheck")
async def send_down(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/send``: seal the open findings not sent yet for the children."""
    await request.post()
    await call(send, context(request), account_of(request))
    raise _back(request, "crosscheck", "crosscheck_sent")


@permission("manage_crosscheck")
async def recheck_now(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/recheck``."""
    await request.post()
    await call(recheck, context(request), account_of(request))
    raise _back(request, "crosscheck", "crosscheck_rechecked")


# -- upload and mapping ------------------------------------------------------------------------


@permission("manage_crosscheck")
async def upload_form(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck/upload``."""
    sources = await call(known_sources, context(request))
    return page(request, "console/crosscheck_upload.html",
                {"sources": sources, "kinds": _KINDS, "form": dict(request.query),
                 "error": request.query.get("error")})  # fmt: skip


def _upload_fields(request: web.Request, form: MultiDictProxy[Any] | None) -> dict[str, str]:
    fields = dict(form_dict(form)) if form is not None else {}
    for name in ("source", "kind", "as_of", "file_name"):
        fields.setdefault(name, request.query.get(name, "")[:200])
    return fields


async def _receive(request: web.Request, target: object, limit: int) -> dict[str, str]:
    """The upload into ``target`` (an open binary file); the form's text fields."""
    if request.content_type == "multipart/form-data":
        form = await request.post()  # read (and size-limited) by the kit's CSRF check
        upload = form.get("file")
        data = upload.file.read() if isinstance(upload, web.FileField) else b""
        target.write(data)  # type: ignore[attr-defined]
        fields = _upload_fields(request, form)
        if isinstance(upload, web.FileField):
            fields["file_name"] = upload.filename[:200]
        return fields
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise FormError("file: larger than the console takes", key="crosscheck.too_large")
        target.write(chunk)  # type: ignore[attr-defined]
    return _upload_fields(request, None)


def _not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise FormError("file: expected a register file", key="crosscheck.no_file")


@permission("manage_crosscheck")
async def upload(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/upload``: keep the file, then ask for (or confirm) its mapping."""
    ctx = context(request)
    token, path = new_upload(ctx)
    limit = ctx.config.crosscheck.max_upload_mib << 20
    fields = _upload_fields(request, None)
    try:
        with path.open("wb") as target:
            fields = await _receive(request, target, limit)
        _not_empty(path)
        await call(mapping_step, ctx, account_of(request), token, fields)
    except (FormError, RegisterFileError, MappingError) as exc:
        path.unlink(missing_ok=True)
        message = form_message(request, exc) if isinstance(exc, FormError) else exc.message
        query = {k: v for k, v in fields.items() if v and k != "file_name"}
        url = route_url(request, "crosscheck_upload", {**query, "error": message[:300]})
        raise web.HTTPSeeOther(url) from None
    query = {k: v for k, v in fields.items() if v}
    raise web.HTTPSeeOther(route_url(request, "crosscheck_mapping", query, token=token))


async def _mapping_page(
    request: web.Request, token: str, fields: dict[str, str], *, error: str | None = None,
    status: int = 200,
) -> web.StreamResponse:  # fmt: skip
    step = await call(mapping_step, context(request), account_of(request), token, fields)
    return page(request, "console/crosscheck_mapping.html",
                {"step": step, "fields": FIELD_CHOICES, "kinds": _KINDS, "error": error},
                status=status)  # fmt: skip


@permission("manage_crosscheck")
async def mapping(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck/upload/{token}?source=&kind=&as_of=&file_name=``: the mapping form."""
    token = request.match_info["token"]
    upload_path(context(request), token)
    try:
        return await _mapping_page(request, token, _upload_fields(request, None))
    except (FormError, RegisterFileError) as exc:
        message = form_message(request, exc) if isinstance(exc, FormError) else exc.message
        url = route_url(request, "crosscheck_upload", {"error": message[:300]})
        raise web.HTTPSeeOther(url) from None


@permission("manage_crosscheck")
async def start(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/upload/{token}``: import with the mapping chosen (saved for next time)."""
    ctx = context(request)
    token = request.match_info["token"]
    fields = form_dict(await request.post())
    step = await call(mapping_step, ctx, account_of(request), token, fields)
    try:
        dataset_id = start_import(ctx, account_of(request), _jobs(request), token=token,
                                  form=fields, headers=step.headers)  # fmt: skip
    except (FormError, MappingError) as exc:
        message = form_message(request, exc) if isinstance(exc, FormError) else exc.message
        return await _mapping_page(request, token, fields, error=message, status=422)
    raise _back(request, "crosscheck_import", "crosscheck_importing", dataset=dataset_id)


@permission("manage_crosscheck")
async def import_status(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck/imports/{dataset}``: running, failed or done, with its row problems."""
    jobs = _jobs(request)
    dataset = request.match_info["dataset"]
    view = await call(import_page, context(request), account_of(request), jobs, dataset)
    check_error = jobs.outcomes.get(f"check:{dataset}")
    return page(request, "console/crosscheck_import.html",
                {"view": view, "check_error": check_error})  # fmt: skip


@permission("manage_crosscheck")
async def check(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/imports/{dataset}/check``: match it, then send what it finds down."""
    await request.post()
    dataset = request.match_info["dataset"]
    start_check(context(request), account_of(request), _jobs(request), dataset)
    raise _back(request, "crosscheck_import", "crosscheck_checking", dataset=dataset)


# -- proposals ---------------------------------------------------------------------------------


@permission("manage_crosscheck")
async def proposal_list(request: web.Request) -> web.StreamResponse:
    """``GET /crosscheck/proposals``."""
    shown = await call(proposals, context(request), account_of(request))
    return page(request, "console/crosscheck_proposals.html", {"proposals": shown})


def _proposal(request: web.Request) -> tuple[str, int, str]:
    info = request.match_info
    return info["dataset"], int(info["row"]), info["record"]


@permission("manage_crosscheck")
async def confirm_one(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/proposals/{dataset}/{row}/{record}/confirm``."""
    await request.post()
    await call(confirm, context(request), account_of(request), *_proposal(request))
    raise _back(request, "crosscheck_proposals", "crosscheck_confirmed")


@permission("manage_crosscheck")
async def refuse_one(request: web.Request) -> web.StreamResponse:
    """``POST /crosscheck/proposals/{dataset}/{row}/{record}/refuse``."""
    await request.post()
    await call(refuse, context(request), account_of(request), *_proposal(request))
    raise _back(request, "crosscheck_proposals", "crosscheck_refused")


def add_routes(router: web.UrlDispatcher) -> None:
    hex32 = "{%s:[0-9a-f]{32}}"
    router.add_get("/crosscheck", overview, name="crosscheck")
    router.add_get("/crosscheck/findings", finding_list, name="crosscheck_findings")
    for action, handler in (("accept", accept_answer), ("reject", reject_answer),
                            ("withdraw", withdraw)):  # fmt: skip
        router.add_post(f"/crosscheck/findings/{hex32 % 'finding'}/{action}", handler,
                        name=f"crosscheck_{action}")  # fmt: skip
    router.add_post("/crosscheck/send", send_down, name="crosscheck_send")
    router.add_post("/crosscheck/recheck", recheck_now, name="crosscheck_recheck")
    router.add_get("/crosscheck/upload", upload_form, name="crosscheck_upload")
    router.add_post("/crosscheck/upload", upload, name="crosscheck_upload_post")
    router.add_get(f"/crosscheck/upload/{hex32 % 'token'}", mapping, name="crosscheck_mapping")
    router.add_post(f"/crosscheck/upload/{hex32 % 'token'}", start, name="crosscheck_start")
    router.add_get(f"/crosscheck/imports/{hex32 % 'dataset'}", import_status,
                   name="crosscheck_import")  # fmt: skip
    router.add_post(f"/crosscheck/imports/{hex32 % 'dataset'}/check", check,
                    name="crosscheck_check")  # fmt: skip
    router.add_get("/crosscheck/proposals", proposal_list, name="crosscheck_proposals")
    proposal = (f"/crosscheck/proposals/{hex32 % 'dataset'}/{{row:[0-9]{{1,12}}}}"
                "/{record:[0-9a-f-]{36}}")  # fmt: skip
    router.add_post(proposal + "/confirm", confirm_one, name="crosscheck_confirm")
    router.add_post(proposal + "/refuse", refuse_one, name="crosscheck_refuse")
