"""Staff pages, one module per task: the follow-up board, a participant's page and its actions,
the clinical record (baseline, procedure, adverse events), enrollment, the audit log, the staff
accounts, and the report and dataset downloads.

Views parse, call a service, render. Every page needs a signed-in user with the right role
(web.auth.access); every POST carries a CSRF token (CSRFProtect, app-wide).
"""
from web.staff import accounts, audit, board, clinical, downloads, enrollment, inbox, participants  # noqa: F401  (routes)
from web.staff import uploads  # noqa: F401  (routes: the paper-data import page)
from web.staff import answer_corrections  # noqa: F401  (routes: correcting an answer)
from web.staff.blueprint import bp

__all__ = ["bp"]
