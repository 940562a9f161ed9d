"""The safety guide: at its address in each language, one tap from the form and the
receipt, showing the onion address when there is one; and every statement it makes
about what the portal keeps is proven by a test.

A test proves a statement by carrying ``@pytest.mark.proves("statement-id")``; the ids
are those of portal/public/guide.py. The mapping is read from the test files
themselves, so it follows a test wherever it moves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portal.models import StoredFile, Submission, ThreadMessage, TipsterSession
from portal.public import guide
from tests.public.helpers import HTML_LANG, png_bytes, post_tip

TESTS = Path(__file__).resolve().parents[1]
GUIDE = {"es": "/es/seguridad", "en": "/en/safety"}
#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"


def proofs(folder: Path = TESTS) -> dict[str, list[str]]:
    """Statement id -> the tests (``path::function``) under ``folder`` marked as
    proving it."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and ast.unparse(decorator.func) == "pytest.mark.proves"
                ):
                    for arg in decorator.args:
                        assert isinstance(arg, ast.Constant), f"{path}::{node.name}"
                        test_id = f"{path.relative_to(folder.parent)}::{node.name}"
                        found.setdefault(arg.value, []).append(test_id)
    return found


def test_every_statement_about_what_the_portal_keeps_is_proven_by_a_test():
    proven = proofs()
    unproven = sorted(set(guide.STATEMENTS) - set(proven))
    assert unproven == [], f"the guide promises what no test proves: {unproven}"
    unknown = sorted(set(proven) - set(guide.STATEMENTS))
    assert unknown == [], f"tests cite statements the guide does not make: {unknown}"


#: every column a tip (and its conversation) is stored in, and the guide statement that
#: says it is kept (or, for what editors set, what the portal generates and the state
#: of a conversation, why it says nothing about you)
STORED = {
    "submission": {
        "id": "generated",
        "created_at": "arrival-time",
        "locale": "arrival-time",
        "sealed": "stored-encrypted",  # note, links and contact, encrypted
        "note_index": "stored-encrypted",  # the notes again, encrypted, for search
        "link_count": "what-you-write",
        "key_id": "generated",
        "refused": "refused-not-kept",
        "is_read": "editors' marks",
        "is_starred": "editors' marks",
        "is_archived": "editors' marks",
        "is_closed": "editors' marks",
        "last_activity_at": "arrival-time",  # the tip's, or the latest later message's
        "lookup": "no-phrase",  # Argon2id of the phrase, then HMAC
        "tipster_key": "no-phrase",  # a public key derived the same way
    },
    "stored_file": {
        "id": "generated",
        "submission_id": "generated",
        "position": "files-cleaned",
        "stored_name": "generated",
        "kind": "files-cleaned",
        "format": "files-cleaned",
        "mime": "files-cleaned",
        "extension": "files-cleaned",
        "size": "files-cleaned",
        "key_id": "generated",
        "removed": "files-cleaned",
        "altered": "files-cleaned",  # which stream was converted, as the receipt says
        "thumbnail_name": "generated",  # the name of the photo's small encrypted copy
        "message_id": "generated",
    },
    "thread_message": {
        "id": "generated",
        "submission_id": "generated",
        "created_at": "arrival-time",
        "author": "conversation state",  # the sender's message, or a reply
        "editor": "editors' marks",  # who replied
        "sealed": "conversation-encrypted",
        "key_id": "generated",
        "link_count": "what-you-write",
        "refused": "refused-not-kept",
        "read_by_editors": "editors' marks",
        "read_by_tipster": "conversation state",
        "deleted_by_tipster": "conversation state",
    },
    "tipster_session": {
        "id": "generated",
        "sealed": "no-phrase",  # the key derived from the phrase, sealed for the cookie
        "last_seen": "conversation state",
    },
}


@pytest.mark.proves(
    "what-you-write",
    "files-cleaned",
    "refused-not-kept",
    "arrival-time",
    "no-ip-address",
    "no-browser",
    "no-referrer",
    "no-file-names",
)
def test_a_tip_is_stored_in_exactly_the_columns_the_guide_accounts_for():
    # A new column fails here until the guide says whether it is kept, and why.
    for model in (Submission, StoredFile, ThreadMessage, TipsterSession):
        table = model.__table__
        assert set(table.columns.keys()) == set(STORED[table.name]), table.name
    cited = {statement for table in STORED.values() for statement in table.values()}
    assert cited - {"generated", "editors' marks", "conversation state"} <= set(guide.STATEMENTS)


def test_the_proof_finder_reads_markers(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.proves('no-browser', 'no-referrer')\n"
        "def test_a():\n    pass\n\n@pytest.mark.slow\ndef test_b():\n    pass\n"
    )
    assert proofs(tmp_path / "tests") == {
        "no-browser": ["tests/test_x.py::test_a"],
        "no-referrer": ["tests/test_x.py::test_a"],
    }


@pytest.mark.parametrize("lang", ["es", "en"])
def test_guide_shows_only_statements_that_tests_prove(client, lang):
    page = client.get(GUIDE[lang]).get_data(as_text=True)
    section = re.search(r'<section id="what-we-keep".*?</section>', page, re.DOTALL)
    assert section, "the guide has a section on what the portal keeps"
    items = re.findall(r"<li( id=\"([\w-]+)\")?>", section.group(0))
    assert [item_id for _, item_id in items] == list(guide.STATEMENTS)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_guide_is_at_its_address_in_each_language(client, lang):
    response = client.get(GUIDE[lang])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    other = "en" if lang == "es" else "es"
    assert f'<link rel="alternate" hreflang="{HTML_LANG[other]}" href="{GUIDE[other]}">' in page
    # The other language's address leads to this language's guide.
    wrong = GUIDE[other].replace(f"/{other}/", f"/{lang}/")
    redirect = client.get(wrong)
    assert redirect.status_code == 302 and redirect.location == GUIDE[lang]


GUIDE_WORDS = {
    "en": [
        "journalists",
        "We do not share tips with the police",
        "IP address",
        "The names of your files.",
        "faces",
        "license plates",
        "reflections",
        "voices",
        "notifications",
        "Crop the picture, or cover those parts",
        "Turn off location in your camera app",
        "backed up to the cloud",
        "Tor Browser",
        "Onion Browser",
        "private (incognito) window",
        "history",
        "wait a while before sending",
        "Do not tell anyone",
        "Coming back to your tip",
        "nobody here knows it",
        "never what you sent",
    ],
    "es": [
        "periodistas",
        "No compartimos las denuncias con la policía",
        "dirección IP",
        "Los nombres de tus archivos.",
        "caras",
        "placas de vehículos",
        "reflejos",
        "voces",
        "notificaciones",
        "Recorta la imagen, o tapa esas partes",
        "Desactiva la ubicación en la app de la cámara",
        "respaldada en la nube",
        "Tor Browser",
        "Onion Browser",
        "ventana privada (de incógnito)",
        "historial",
        "espera un tiempo antes de enviarla",
        "No le digas a nadie",
        "Volver a tu denuncia",
        "nadie aquí la conoce",
        "nunca lo que enviaste",
    ],
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_guide_says_what_a_frightened_tipster_needs(client, lang):
    text = " ".join(client.get(GUIDE[lang]).get_data(as_text=True).split())
    for words in GUIDE_WORDS[lang]:
        assert words in text, words
    assert ".onion" not in text  # no onion service configured


@pytest.mark.parametrize("lang", ["es", "en"])
def test_form_and_receipt_link_the_guide(client, lang):
    link = f'<a href="{GUIDE[lang]}">'
    assert link in client.get(f"/{lang}/").get_data(as_text=True)
    receipt = post_tip(client, lang, note="n", files=[(png_bytes(), "a.png")])
    assert receipt.status_code == 200 and link in receipt.get_data(as_text=True)
    nothing_saved = post_tip(client, lang, files=[(b"MZ" + bytes(100), "a.exe")])
    assert link in nothing_saved.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_onion_address_is_shown_on_the_form_and_the_guide_when_set(make_app, lang):
    client = make_app(onion_address=ONION).test_client()
    form = client.get(f"/{lang}/")
    assert ONION in form.get_data(as_text=True)
    safety = client.get(GUIDE[lang])
    assert f'href="http://{ONION}{GUIDE[lang]}"' in safety.get_data(as_text=True)
    assert safety.headers["Onion-Location"] == f"http://{ONION}{GUIDE[lang]}"
    # On the onion service itself the form does not repeat it.
    on_onion = client.get(f"/{lang}/", headers={"Host": ONION})
    assert ONION not in on_onion.get_data(as_text=True)
