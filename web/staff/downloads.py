"""The comparison report and the scored dataset, as pages and downloads."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, abort, after_this_request, render_template, request, send_file, url_for
from flask_babel import gettext as _

from reports import standards
from reports.export import DOWNLOADS
from services import dataset as dataset_service
from web.auth.access import REPORTS, current_user, requires
from web.context import now, protocol
from web.database import connector, get_db
from web.errors import message_page
from web.staff.blueprint import actor, bp

# The report holds matplotlib's SVG, which styles with attributes: allow inline styles there only
# (it carries no user-supplied markup: every value is escaped or a number). The page adds the staff
# stylesheet, script and sign-out form.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
REPORT_PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src data:; "
                   "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@bp.get("/report")
@requires(REPORTS)
def report():
    """The comparison report as a page, with JSON and HTML downloads (?download=json|html)."""
    download = request.args.get("download")
    if download not in (None, "json", "html"):
        abort(404)
    from web import report as report_view  # numpy, scipy and statsmodels load only when a report is made

    data, observations = report_view.build()
    stamp = now().strftime("%Y%m%d-%H%M")
    if download:
        dataset_service.audit_report_download(get_db(), download, actor=actor(), now=now())
    if download == "json":
        return Response(report_view.as_json(data), mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="report-{stamp}.json"'})
    links = {} if download else {_("Download HTML (to print or keep)"): url_for(".report", download="html"),
                                 _("Download JSON (for scripts)"): url_for(".report", download="json")}
    html = report_view.as_html(data, observations, links, page=not download)
    headers = {"Content-Security-Policy": REPORT_CSP if download else REPORT_PAGE_CSP}
    if download == "html":
        headers["Content-Disposition"] = f'attachment; filename="report-{stamp}.html"'
    return Response(html, mimetype="text/html", headers=headers)


@bp.get("/dataset")
@requires(REPORTS)
def dataset_page():
    return render_template("staff/dataset.html", downloads=DOWNLOADS, standards=standards.FORMAT_TABLE,
                           identifiable_standards=standards.IDENTIFIABLE)


@bp.get("/dataset/download")
@requires(REPORTS)
def dataset_download():
    fmt = request.args.get("format", "")
    identifiable = request.args.get("identifiable") == "1"
    download = DOWNLOADS.get(fmt) or standards.DOWNLOADS.get(fmt)
    if download is None or (identifiable and fmt in standards.DOWNLOADS and fmt not in standards.IDENTIFIABLE):
        abort(404)   # no such download (SDTM QS has no identifiable form)
    if identifiable and current_user()["role"] != "admin":
        return message_page(403, _("Not allowed"), _("Only an administrator can export identifiable data."))
    name = f"scored-dataset{'-identifiable' if identifiable else ''}-{now():%Y%m%d}.{download.suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    db = get_db()
    if download.text:
        chunks = dataset_service.stream_text(db, connector(), protocol(), fmt, actor=actor(), now=now(),
                                             identifiable=identifiable)
        # A codebook is small: sent whole (and so gzipped); data is streamed a participant at a time.
        return Response("".join(chunks) if download.codebook else chunks, mimetype=download.mimetype,
                        headers=headers)
    handle = tempfile.NamedTemporaryFile(suffix="." + download.suffix, delete=False)
    handle.close()
    path = Path(handle.name)
    dataset_service.export_dataset(db, protocol(), fmt, path, actor=actor(), now=now(), identifiable=identifiable)

    @after_this_request
    def remove(response):
        path.unlink(missing_ok=True)
        return response

    return send_file(path, mimetype=download.mimetype, as_attachment=True, download_name=name)
