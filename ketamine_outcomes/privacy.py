"""The privacy guard: a file that carries a direct identifier (HIPAA Safe Harbor) is refused before
anything is stored, naming the column and never echoing the value. Headers are checked by name
(definitions.IDENTIFIER_COLUMNS), cells by pattern (IDENTIFIER_VALUES)."""

import re

from .contract import Layout, RefusedFile
from .definitions import IDENTIFIER_COLUMNS, alias_key

# What looks like a direct identifier in a value. Phone numbers need separators, so that numeric
# pseudonymous ids and ISO dates do not match.
IDENTIFIER_VALUES = {
    "email addresses": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "social security numbers": r"(^|[^0-9])\d{3}-\d{2}-\d{4}([^0-9]|$)",
    "phone numbers": r"(^|[^0-9])(\+?1[ .-]?)?(\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}([^0-9]|$)",
}
NAME_COLUMNS_ALLOWED = ("sitename", "clinicname", "locationname", "instrumentname", "scalename", "drugname",
                        "medicationname", "filename", "eventname")


def _is_zip(key: str) -> bool:
    return "zip" in key or "postcode" in key or "postalcode" in key


def identifier_columns(layout: Layout) -> list[str]:
    """Headers that name a direct identifier (HIPAA Safe Harbor). Short words (ssn, mrn, dob) must be a
    whole word of the header; longer ones may be part of it. ZIP columns are checked by their values."""
    refused = []
    for header in layout.headers:
        key = alias_key(header)
        words = {alias_key(w) for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", header)}
        if _is_zip(key) or key in NAME_COLUMNS_ALLOWED:
            continue
        if any(word in key if len(word) > 4 else word in words or word == key for word in IDENTIFIER_COLUMNS) or (
            key.endswith("name") and key not in NAME_COLUMNS_ALLOWED
        ):
            refused.append(header)
    return refused


def check_identifier_values(con, layout: Layout, errors_table: str) -> None:
    """Refuse the file when any cell (or any malformed line) holds an email, phone number or SSN,
    or a ZIP column has more than 3 digits. Runs before anything is stored; never echoes the value.
    One pattern runs over each whole line first; only when it matches are columns told apart."""
    anything = "|".join(f"({p})" for p in IDENTIFIER_VALUES.values())
    cells = ", ".join(f"c{i}" for i in range(len(layout.headers)))
    (hit,) = con.execute(f"select bool_or(regexp_matches(concat_ws(chr(31), {cells}), $p)) from raw_file",
                         {"p": anything}).fetchall()[0]
    zips = [i for i, h in enumerate(layout.headers) if _is_zip(alias_key(h))]
    if hit or zips:
        _name_identifier_column(con, layout)
    line = con.execute(f"select min(line) from {errors_table} where regexp_matches(csv_line, $p)",
                       {"p": anything}).fetchall()[0][0]
    if line is not None:
        raise RefusedFile(f"line {line} holds a value that looks like an email, phone number or SSN. "
                          "Exports must be de-identified (HIPAA Safe Harbor).")


def _name_identifier_column(con, layout: Layout) -> None:
    """Which column holds the identifier, and from which line (the refusal message)."""
    patterns = {f"p{n}": p for n, p in enumerate(IDENTIFIER_VALUES.values())}
    checks, labels = [], []
    for i, header in enumerate(layout.headers):
        for n, label in enumerate(IDENTIFIER_VALUES):
            checks.append(f"min(line_number) filter (where regexp_matches(c{i}, $p{n}))")
            labels.append((header, label))
        if _is_zip(alias_key(header)):
            checks.append(f"min(line_number) filter (where regexp_matches(c{i}, $zip))")
            patterns["zip"] = r"\d{4}"
            labels.append((header, "ZIP codes longer than 3 digits"))
    first_lines = con.execute(f"select {', '.join(checks)} from raw_export_positional", patterns).fetchall()[0]
    for (header, label), line in zip(labels, first_lines):
        if line is not None:
            raise RefusedFile(
                f"column '{header}' holds values that look like {label} (first at line {line}). Exports must be "
                "de-identified (HIPAA Safe Harbor): remove or mask the column and export again."
            )
