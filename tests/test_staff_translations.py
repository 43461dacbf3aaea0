"""Staff pages: every string goes through gettext, and the pages read in the staff language.

Staff pages stay English, but a site can translate them (FLASK_STAFF_LANGUAGE). Three checks keep
it so: the staff and report templates hold no literal text a person reads, the staff views never
flash or show a bare English literal, and a pseudo-localised staff language renders the fixed
strings translated. Staff pages follow the staff language, never a participant's or the browser's.
"""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

from app import create_app
from tests.conftest import Trial
from tests.staff_support import Staff, create_staff
from tests.test_translations import PSEUDO, extracted, pseudo_translations, unwrapped  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
STAFF_TEMPLATES = sorted([*(ROOT / "templates" / "staff").glob("*.html"),
                          *(ROOT / "templates" / "report").glob("*.html")])
STAFF_VIEWS = sorted([*(ROOT / "web" / "staff").glob("*.py"), *(ROOT / "web" / "auth").glob("*.py"),
                      ROOT / "web" / "report.py", ROOT / "web" / "__init__.py"])
WORD = re.compile(r"[A-Za-z]{2,}")
PHRASE = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")   # two words: prose, never a code or a URL endpoint
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext"}


# --- The templates hold no literal text -----------------------------------------------------

class ReadText(HTMLParser):
    """Text a person reads or hears in a page's literal markup: text nodes, and the attributes
    read aloud or shown (a confirm dialog's too). Left out: script and style; code (a command
    line); sub, part of a symbol (r<sub>rb</sub>)."""

    SPOKEN = frozenset({"aria-label", "aria-valuetext", "title", "alt", "placeholder", "data-confirm"})
    NOT_PROSE = frozenset({"script", "style", "code", "sub"})

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.NOT_PROSE:
            self._skipping.append(tag)
        self.texts += [value for name, value in attrs if name in self.SPOKEN and value]

    def handle_endtag(self, tag):
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.texts.append(data)


def _rendered(node):
    """The expressions whose value an output node shows as it is."""
    yield node
    if isinstance(node, nodes.CondExpr):
        yield from _rendered(node.expr1)
        if node.expr2 is not None:
            yield from _rendered(node.expr2)
    elif isinstance(node, nodes.Filter) and node.node is not None:
        yield from _rendered(node.node)
    elif isinstance(node, (nodes.Concat, nodes.Output)):
        for child in node.nodes:
            yield from _rendered(child)
    elif isinstance(node, (nodes.And, nodes.Or)):
        yield from _rendered(node.left)
        yield from _rendered(node.right)


def untranslated(source: str) -> list[str]:
    """Literal text in a template that bypasses gettext: in its markup (the template data, read as
    HTML in order), shown as a string constant, or a phrase in any constant (a macro's argument)."""
    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(source)
    parser = ReadText()
    for data in tree.find_all(nodes.TemplateData):
        parser.feed(data.data)
    parser.close()
    found = [text.strip() for text in parser.texts if WORD.search(text)]
    msgids = {id(arg) for call in tree.find_all(nodes.Call)
              if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT for arg in call.args}
    literal = [const for const in tree.find_all(nodes.Const)
               if isinstance(const.value, str) and id(const) not in msgids]
    shown = {id(node) for output in tree.find_all(nodes.Output) for node in _rendered(output)}
    found += [const.value for const in literal
              if (id(const) in shown and WORD.search(const.value)) or PHRASE.search(const.value)]
    return found


@pytest.mark.parametrize("path", STAFF_TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_staff_templates_have_no_literal_text(path):
    assert untranslated(path.read_text()) == []


@pytest.mark.parametrize("source, found", [
    ("<p>Hello {{ name }}</p>", ["Hello"]),
    ("<nav aria-label=\"Staff menu\">{{ _('Board') }}</nav>", ["Staff menu"]),
    ("<a href=\"#\" title=\"{{ x }} waiting\">{{ _('Inbox') }}</a>", ["waiting"]),
    ("<b>{{ 'Stop' if x else _('Go') }}</b>", ["Stop"]),
    ("{{ heading('Baseline characteristics', p) }}", ["Baseline characteristics"]),
    ("<p>{{ _('Hello %(name)s', name=name) }} <code>flask demo</code> r<sub>rb</sub></p>", []),
])
def test_the_template_check_can_fail(source, found):
    assert untranslated(source) == found


# --- The views flash and show no bare literal -------------------------------------------------

def _bare(node) -> bool:
    """A string literal, an f-string, or one of them picked by a condition or glued on."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.IfExp):
        return _bare(node.body) or _bare(node.orelse)
    if isinstance(node, ast.BinOp):
        return _bare(node.left) or _bare(node.right)
    return False


def bare_messages(source: str, where: str) -> list[str]:
    """flash(text, ...) and message_page(status, title, message) given English as it is."""
    found = []
    for call in ast.walk(ast.parse(source, where)):
        if not isinstance(call, ast.Call):
            continue
        name = getattr(call.func, "id", getattr(call.func, "attr", None))
        texts = {"flash": (call.args[:1], {"message"}), "message_page": (call.args[1:3], {"title", "message"})}
        if name in texts:
            positional, keywords = texts[name]
            shown = [*positional, *(k.value for k in call.keywords if k.arg in keywords)]
            found += [f"{where}:{call.lineno} {name}" for arg in shown if _bare(arg)]
    return found


def test_staff_views_show_no_bare_literal():
    found = [problem for path in STAFF_VIEWS
             for problem in bare_messages(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_view_check_can_fail():
    sneaky = ("def f(n, ok):\n"
              "    flash('Saved.', 'success')\n"
              "    flash(f'{n} saved.' if ok else _('No.'))\n"
              "    flash(_('Saved: %(n)s', n=n))\n"
              "    return message_page(403, 'Not allowed', message='Saved: ' + n)\n")
    assert bare_messages(sneaky, "web/staff/sneaky.py") == [
        "web/staff/sneaky.py:2 flash", "web/staff/sneaky.py:3 flash", "web/staff/sneaky.py:5 message_page",
        "web/staff/sneaky.py:5 message_page"]


# --- Staff pages in the staff language --------------------------------------------------------

def leftover(html: str, data: list[str]) -> list[str]:
    """Words on a page outside the pseudo-locale's markers, once the page's data (``data``: the
    user's email, the protocol's labels) is taken out."""
    parser = ReadText()
    parser.feed(html)
    text = unwrapped("\n".join(parser.texts))
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "")
    return WORD.findall(text)


@pytest.fixture
def pseudo_staff(db_path, clock, pseudo_translations):  # noqa: F811  (the fixture imported above)
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                      "BASE_URL": "https://pro.example.org", "STAFF_LANGUAGE": PSEUDO,
                      "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_translations)})
    create_staff(app, clock)
    return app


def test_the_sign_in_page_reads_in_the_staff_language(pseudo_staff):
    client = pseudo_staff.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"   # the browser's language is not the staff's
    page = client.get("/staff/login").get_data(as_text=True)
    assert f'<html lang="{PSEUDO}" dir="ltr">' in page
    assert "<title>⟦Sign in⟧ · ⟦Follow-up⟧</title>" in page
    assert '<label for="email">⟦Email⟧</label>' in page
    assert leftover(page, []) == []
    wrong = Staff(client).login(password="not the password").get_data(as_text=True)
    assert "⟦Email or password is incorrect.⟧" in wrong


def test_the_empty_board_reads_in_the_staff_language(pseudo_staff):
    client = pseudo_staff.test_client()
    Staff(client).login("nurse")
    page = client.get("/staff/").get_data(as_text=True)
    assert f'<html lang="{PSEUDO}" dir="ltr">' in page
    for fixed in ("⟦Sign out⟧", "⟦Board⟧", "⟦Inbox⟧", "⟦Follow-up board⟧", "⟦No participants.⟧",
                  "⟦Nurse⟧", "⟦Reply waiting⟧", "⟦Completion per timepoint⟧", "⟦none due yet⟧",
                  'aria-label="⟦Staff menu⟧"'):
        assert fixed in page
    protocol = pseudo_staff.extensions["protocol"]
    data = ["nurse@hospital.example", *(tp.label for tp in protocol.timepoints),
            *(tp.short for tp in protocol.timepoints)]
    assert leftover(page, data) == []


def test_the_cli_report_file_is_in_the_staff_language(pseudo_staff, tmp_path):
    out = tmp_path / "report.html"
    result = pseudo_staff.test_cli_runner().invoke(args=["report", "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert f'<html lang="{PSEUDO}" dir="ltr">' in html and "⟦Participant flow (CONSORT)⟧" in html
    assert "Report written to" in result.output   # the CLI itself stays English


@pytest.fixture
def bilingual(db_path, clock) -> Trial:
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                      "BASE_URL": "https://pro.example.org", "LANGUAGES": ["en", "ar"]})
    create_staff(app, clock)
    return Trial(app, clock)


def test_staff_pages_stay_english_for_an_arabic_participant_and_browser(bilingual):
    bilingual.enroll("P-001", language="ar")
    token = bilingual.link("P-001")
    client = bilingual.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ar"
    assert '<html lang="en" dir="ltr">' in client.get("/staff/login").get_data(as_text=True)
    Staff(client).login("nurse")
    page = client.get("/staff/participants/P-001").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page
    assert "Sign out" in page and "Send the link" in page and "Arabic (العربية)" in page
    missing = client.get("/staff/nowhere")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    # The participant's own pages still follow their language.
    assert '<html lang="ar" dir="rtl">' in client.get(f"/f/{token}/vas").get_data(as_text=True)
    assert "Page not found" not in client.get("/nowhere").get_data(as_text=True)


def test_a_right_to_left_staff_language_turns_the_staff_pages(db_path, clock):
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "STAFF_LANGUAGE": "ar"})
    page = app.test_client().get("/staff/login").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page


# --- Bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("fr", "FLASK_STAFF_LANGUAGE is 'fr', but .*fr/LC_MESSAGES/messages.po does not exist"),
    ('["en", "ar"]', "FLASK_STAFF_LANGUAGE must be one language code"),
])
def test_a_staff_language_without_a_catalogue_stops_start_up(monkeypatch, db_path, value, message):
    monkeypatch.setenv("FLASK_STAFF_LANGUAGE", value)
    with pytest.raises(RuntimeError, match=message):
        create_app({"TESTING": True, "DATABASE": str(db_path)})


def test_an_uncompiled_staff_catalogue_stops_start_up(db_path, tmp_path):
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").write_text("")
    with pytest.raises(RuntimeError, match="FLASK_STAFF_LANGUAGE is 'fr', but its catalogue is not compiled"):
        create_app({"TESTING": True, "DATABASE": str(db_path), "STAFF_LANGUAGE": "fr",
                    "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path)})
