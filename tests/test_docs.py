"""Guards 'clinical definitions live once and are shown': docs/metrics.md defines every column every
mart exposes, states every setting and instrument cut-off exactly as definitions.py does, and
catalogues every SQL file, each of which opens with a comment saying what it is."""

import re

import duckdb
import pytest

from conftest import ROOT
from ketamine_outcomes import definitions
from ketamine_outcomes.metrics import marts

METRICS_DOC = (ROOT / "docs" / "metrics.md").read_text()
DOCUMENTED = set(re.findall(r"`([a-z0-9_]+)`", METRICS_DOC))


def run_mart(con, name):
    options = {} if name in marts.WITHOUT_INSTRUMENT else {"instrument": "PHQ-9"}
    return getattr(marts, name)(con, **options)


@pytest.mark.parametrize("mart", marts.MARTS)
def test_every_mart_column_is_defined(sample_db, mart):
    con = duckdb.connect(str(sample_db), read_only=True)
    columns = set(run_mart(con, mart).columns)
    con.close()
    assert f"### `{mart}`" in METRICS_DOC
    assert columns - DOCUMENTED == set()


@pytest.mark.parametrize("setting", definitions.SETTINGS.values(), ids=lambda s: s.name)
def test_every_setting_is_documented_with_its_default_and_range(setting):
    value = int(setting.value) if float(setting.value).is_integer() else setting.value
    kind = "whole number" if setting.integer else "number"
    assert f"| `{setting.name}` | {value} | {setting.minimum:g}-{setting.maximum:g} ({kind}) |" in METRICS_DOC


@pytest.mark.parametrize("instrument", definitions.INSTRUMENTS.values(), ids=lambda i: i.name)
def test_instrument_row_matches_the_code(instrument):
    # A safety measure (CADSS) has no reliable change: it is not an outcome.
    change = instrument.reliable_change or ("Jacobson-Truax when a reliability is configured" if instrument.is_outcome
                                            else "-")
    row = f"| {instrument.name} | {instrument.min_score}-{instrument.max_score} | {instrument.remission_label} | {change} |"
    assert row in METRICS_DOC
    bands = ", ".join(f"{low} {label}" for low, label in instrument.bands) or "none"
    assert f"| {bands} |" in METRICS_DOC
    line = next(ln for ln in METRICS_DOC.splitlines() if ln.startswith(row))
    assert line.endswith(f"| {instrument.mcid} (Löwe 2004) |" if instrument.mcid else "| - |")  # the MCID column


@pytest.mark.parametrize("path", sorted((ROOT / "queries").rglob("*.sql")), ids=lambda p: p.name)
def test_every_query_file_is_catalogued_and_opens_with_its_purpose(path):
    relative = path.relative_to(ROOT).as_posix()
    assert f"`{relative}`" in METRICS_DOC
    assert path.read_text().startswith("-- ")


def test_every_definitions_link_opens_a_card_and_every_card_names_real_settings():
    from ketamine_outcomes.dashboard import glossary

    pages = "".join(p.read_text() for p in (ROOT / "dashboard" / "app_pages").glob("*.py"))
    topics = re.findall(r'definitions_link\(f?"([^"{]+)"\)', pages)
    assert topics and [t for t in topics if glossary.card_for(t) is None] == []
    assert {s for card in glossary.CARDS for s in card.settings} - set(definitions.SETTINGS) == set()


def test_the_role_tables_say_what_the_code_lets_each_role_do():
    # The walk: the README said "no downloads" for a viewer (it has the suppressed meeting pack) and "no
    # downloads" for a director (it has every suppressed table's CSV). Both tables and the sidebar's help now
    # read one set of words kept beside ROLES; tests/test_pages.py checks each role's download buttons.
    from ketamine_outcomes.access import roles

    readme, deploy = (ROOT / "README.md").read_text(), (ROOT / "docs" / "deploy.md").read_text()
    assert set(roles.DESCRIPTIONS) == set(roles.ROLES)
    for name, words in roles.DESCRIPTIONS.items():
        assert f"| `{name}` | {words} |" in readme, name
        assert f"| {name} | {words} |" in deploy, name
    assert "no downloads" not in readme and "no upload, downloads or settings" not in readme
