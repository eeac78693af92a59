"""The shipped JSON copy of the data files (data/parsed_toml.json) is what the TOML parser reads
from them, and it is used only for the very text it was written from.

If the first test fails after a data file changed, run ``python scripts/pattern_analysis.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from arc_preflight import codefamilies, datafiles
from arc_preflight import kb as kbmod
from arc_preflight.datafiles import DATA_DIR


@pytest.fixture()
def reread() -> Iterator[None]:
    """Each test reads the cache anew (the module keeps what it read)."""
    datafiles._parsed = None
    yield
    datafiles._parsed = None


def _has_dates(doc: object) -> bool:
    try:
        json.dumps(doc)
    except TypeError:
        return True
    return False


def test_every_data_file_json_can_hold_is_cached_as_parsed_now() -> None:
    shipped = json.loads((DATA_DIR / datafiles.PARSED_FILE).read_text(encoding="utf-8"))
    assert shipped["format"] == datafiles.PARSED_FORMAT
    files = shipped["files"]
    for path in sorted(DATA_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        doc = datafiles.loads(text)
        if _has_dates(doc):  # dated.toml: TOML dates have no JSON form
            assert path.name not in files
            continue
        assert path.name in files, "run scripts/pattern_analysis.py"
        entry = files[path.name]
        assert entry["key"] == datafiles.text_key(text), \
            f"{path.name} changed: run scripts/pattern_analysis.py"
        # the same value with its keys in the same order (json.dumps keeps the order it is given)
        assert json.dumps(json.loads(entry["json"])) == json.dumps(doc)
    assert {"causes.toml", "codes.toml", "endpoints.toml"} <= set(files)


def test_read_toml_equals_the_toml_parser_for_every_file(reread: None) -> None:
    for path in sorted(DATA_DIR.glob("*.toml")):
        read, parsed = datafiles.read_toml(path.name), datafiles.loads(path.read_text("utf-8"))
        assert read == parsed
        if not _has_dates(parsed):
            assert json.dumps(read) == json.dumps(parsed), f"{path.name}: key order differs"


def test_the_first_read_in_a_process_comes_from_the_cache(monkeypatch: pytest.MonkeyPatch,
                                                         reread: None) -> None:
    def refuse(text: str) -> None:
        raise AssertionError("parsed as TOML")

    expected = datafiles.loads((DATA_DIR / "naming.toml").read_text(encoding="utf-8"))
    monkeypatch.setattr(datafiles.tomllib, "loads", refuse)
    assert datafiles.read_toml("naming.toml") == expected
    with pytest.raises(AssertionError, match="parsed as TOML"):
        datafiles.read_toml("naming.toml")  # the JSON text is not kept after its one use


def test_an_edited_text_is_parsed_not_taken_from_the_cache(reread: None) -> None:
    text = (DATA_DIR / "issuers.toml").read_text(encoding="utf-8")
    edited = text.replace("expected = [", 'expected = ["Edited Issuer CA", ', 1)
    assert edited != text
    doc = datafiles.parse_packaged(edited, "issuers.toml")
    assert doc["expected"][0] == "Edited Issuer CA"
    assert doc == datafiles.loads(edited)


def test_other_text_under_a_files_name_leaves_its_entry_for_the_file(
        monkeypatch: pytest.MonkeyPatch, reread: None) -> None:
    text = (DATA_DIR / "issuers.toml").read_text(encoding="utf-8")
    datafiles.parse_packaged(text + "\n# a test's own copy\n", "issuers.toml")

    def refuse(text: str) -> None:
        raise AssertionError("parsed as TOML")

    monkeypatch.setattr(datafiles.tomllib, "loads", refuse)
    assert datafiles.read_toml("issuers.toml")["expected"]


def test_each_call_returns_its_own_object(reread: None) -> None:
    first = datafiles.read_toml("issuers.toml")
    first["expected"].append("mutated")
    assert "mutated" not in datafiles.read_toml("issuers.toml")["expected"]


@pytest.mark.parametrize("content", [
    "", "{not json", "[]", '{"format": 99, "files": {}}', '{"format": 1, "files": []}',
    '{"format": 1, "files": {"issuers.toml": {"key": "KEY", "json": "{broken"}}}',
    '{"format": 1, "files": {"issuers.toml": {"key": "KEY", "json": "[1, 2]"}}}',
    '{"format": 1, "files": {"issuers.toml": "nonsense"}}',
])
def test_a_damaged_cache_changes_nothing(content: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, reread: None) -> None:
    text = (DATA_DIR / "issuers.toml").read_text(encoding="utf-8")
    (tmp_path / datafiles.PARSED_FILE).write_text(
        content.replace("KEY", datafiles.text_key(text)), encoding="utf-8")
    monkeypatch.setattr(datafiles, "DATA_DIR", tmp_path)
    assert datafiles.parse_packaged(text, "issuers.toml") == datafiles.loads(text)


def test_text_that_is_not_utf8_is_refused_as_the_toml_parser_refuses_it() -> None:
    with pytest.raises(kbmod.KnowledgeBaseError):
        kbmod.parse('[[cause]]\nid = "\udcff"\n')


def test_the_knowledge_base_from_the_cache_is_the_one_from_toml(
        kb: kbmod.KnowledgeBase, monkeypatch: pytest.MonkeyPatch, reread: None) -> None:
    monkeypatch.setattr(datafiles, "parse_packaged", lambda text, name: datafiles.loads(text))
    families = codefamilies.parse(codefamilies.DATA_FILE.read_text(encoding="utf-8"))
    from_toml = kbmod.parse(kbmod.DATA_FILE.read_text(encoding="utf-8"),
                            codefamilies.patterns_by_cause(families), lazy=True)
    assert from_toml.causes == kb.causes
    assert families == codefamilies.load()
