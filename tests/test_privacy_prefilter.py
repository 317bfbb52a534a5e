"""Guards the identifier check's shortcut (issue 26): a column's values are held to the identifier
checks only when they match one joined pattern (privacy.could_match), which every check implies. If
the shortcut ever let through a value that a check refuses, the guard would store what it refused
before. Each test evaluates the checks themselves and the shortcut on the same values, in DuckDB."""

import random
import re

import duckdb
import pytest

from ketamine_outcomes import privacy
from ketamine_outcomes.ingest.contract import read_layout
from test_privacy import ACCEPTED, REFUSED

SESSIONS_HEADER = "patient_id,session_day,route,session_id,comment,Postcode"


def checks_and_shortcut(values: list[str], header: str = SESSIONS_HEADER) -> list[tuple[str, int, bool, bool]]:
    """(value, column, whether any check holds for it there, whether the column's shortcut lets it through)
    for each value put in each column of `header`, normalised as the guard normalises."""
    layout = read_layout(header)
    checks, parameters = privacy.column_checks(layout)
    con = duckdb.connect()
    privacy.register_normalise(con)
    rows = []
    for i in range(len(layout.headers)):
        conditions = " or ".join(c for column, _, _, c in checks if column == i)
        could = privacy.could_match(layout, i, parameters)
        used = {k: v for k, v in parameters.items() if re.search(rf"\${k}\b", conditions)} | {"values": values}
        shortcut = "regexp_matches(c{0}, $could)".format(i) if could is not None else "true"
        if could is not None:
            used["could"] = could
        if "$changing" in privacy.normalised("x"):
            used["changing"] = privacy.CHANGING
        found = con.execute(
            f"select v, ({conditions}), {shortcut} from (select v, {privacy.normalised('v')} as c{i} "
            "from (select unnest($values) as v))", used).fetchall()
        rows += [(v, i, bool(hit), bool(through)) for v, hit, through in found]
    con.close()
    return rows


def cells_of(cases) -> list[str]:
    """Every field of the cases' CSV texts after their header."""
    return sorted({field.strip('"') for case in cases for line in case.text.splitlines()[1:]
                   for field in line.split(",")})


def test_every_value_a_check_refuses_passes_the_shortcut_in_every_column():
    rows = checks_and_shortcut(cells_of(REFUSED + ACCEPTED) + ["Jane Doe", "DOE, JANE", "J. Doe", "Smith",
                                                                 "jane.doe", "JANE_DOE", "José García",
                                                                 "Ｊａｎｅ Ｄｏｅ", "Mary-Jane O'Neil"])
    refused = [(v, i) for v, i, hit, _ in rows if hit]
    # The lists hold identifiers of every kind: names as patient ids, phones, e-mails, SSNs, addresses.
    assert ("Jane Doe", 0) in refused and ("jane@example.org", 4) in refused and ("5551234567", 4) in refused
    assert [(v, i) for v, i, hit, through in rows if hit and not through] == []


def test_pseudonymous_ids_do_not_pass_the_name_shortcut():
    """What the shortcut is for: a clinic's codes skip the name pattern (its cost is in its Unicode classes)."""
    rows = checks_and_shortcut(["KP000001", "P-00123", "A1B2C3", "SUBJ0042", "1234567890", "S0000001"])
    assert [(v, hit, through) for v, i, hit, through in rows if i == 0] == [
        ("KP000001", False, False), ("P-00123", False, False), ("A1B2C3", False, False), ("SUBJ0042", False, False),
        ("1234567890", False, False), ("S0000001", False, False)]


@pytest.mark.parametrize("seed", range(4))
def test_random_values_never_match_a_check_but_not_the_shortcut(seed):
    """Random texts made of what identifiers are made of (letters of several scripts and cases, digits,
    the separators the patterns read, look-alike characters that normalising changes)."""
    alphabet = list("aAbBjJdDeEoOzZ0123456789 ,._-@()/+#:'") + ["\u00e9", "\u00c9", "\u2019", "\uff2a", "\uff45",
                                                                "\u200b", "\u2013", "\u00a0", "\u0416", "\u0436"]
    words = ["Jane", "Doe", "MRN", "DOB", "Street", "St", "Boston", "MA", "ssn", "at", "555", "867", "5309", "02139"]
    generator = random.Random(seed)
    values = ["".join(generator.choice(alphabet + words) for _ in range(generator.randint(1, 9)))
              for _ in range(4000)]
    rows = checks_and_shortcut(values)
    assert sum(hit for _, _, hit, _ in rows) > 100  # the draw holds identifiers, not only harmless text
    assert [(v, i) for v, i, hit, through in rows if hit and not through] == []
