"""The privacy guard: an export that carries a direct identifier (HIPAA Safe Harbor, 45 CFR
164.514(b)(2)) is refused before anything is stored, naming the column and never echoing the value.

Three places are checked: the file's name (with a workbook's sheet or a zip's member, as the batch
history would keep it), its headers (by what they name, and by what they hold: a phone number used as a
header), and its cells (by pattern). tests/test_privacy.py holds the lists of what is refused and what
is accepted, each with its reason; docs/data-contract.md says the same in words.
"""

import re
import unicodedata
from typing import Protocol

import duckdb
import pyarrow as pa

from ketamine_outcomes.refused import RefusedFile


class Layout(Protocol):
    """What the checks read of a file's layout (ingest.contract.Layout has it): declared here, not
    imported, so the guard stays below ingest/ and metrics/ and care/ can use it without a cycle."""
    delimiter: str
    headers: list[str]
    canonical: list[str | None]


# --- Normalising ---------------------------------------------------------------------------------------
# An identifier written with look-alike characters is still one: full-width digits and ＠ (Unicode NFKC
# maps them to ASCII), a zero-width space inside a number, a no-break space or a line break between its
# groups, an en dash for a hyphen, %40 for @. Each value is normalised so before the patterns below run.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_SPACES = re.compile("[\t\n\v\f\r\u0085\u1680\u2028\u2029]")  # NFKC already maps NBSP and the other spaces
_DASHES = re.compile("[\u2010-\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63]")


# Bidi controls that make what follows display right to left (Unicode Bidi_Control): an override shows
# "9035-768-555" as 555-867-5309, an embedding or a right-to-left mark shows "5309 867 555" so.
_RIGHT_TO_LEFT = re.compile("[\u061c\u200f\u202b\u202e\u2067]")


def normalise(text: str) -> str:
    """A value as the identifier patterns read it: "５５５–１２３\u200b–４５６７" -> "555-123-4567". A
    value with a right-to-left control is read as stored and as it may display (its characters, or its
    groups of letters and digits, in reverse order), joined by a unit separator that no pattern crosses."""
    plain = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    plain = _DASHES.sub("-", _SPACES.sub(" ", plain)).replace("%40", "@")
    if not _RIGHT_TO_LEFT.search(text):
        return plain
    return "\x1f".join([plain, plain[::-1], "".join(reversed(re.split("([^0-9A-Za-z]+)", plain)))])


def _changing_characters() -> str:
    """An RE2 class of the non-ASCII characters normalise changes into something the patterns read
    (NFKC to ASCII, invisible, space or dash). Only a value holding one of them (or a line break, a tab
    or %40) goes through Python: the rest, nearly every value, is matched as it is."""
    wanted = [c for c in map(chr, range(0x80, 0x30000)) if unicodedata.category(c) != "Cs" and (
        _INVISIBLE.match(c) or _SPACES.match(c) or _DASHES.match(c)
        or any(ord(n) < 128 for n in unicodedata.normalize("NFKC", c)))]
    ranges, start = [], None
    for a, b in zip(wanted, wanted[1:] + ["\U0010ffff"]):
        start = start or a
        if ord(b) != ord(a) + 1:
            ranges.append(start if start == a else f"{start}-{a}")
            start = None
    return f"[{''.join(ranges)}]"


CHANGING = _changing_characters()


def normalised(cell: str) -> str:
    """SQL: the cell normalised (the Python function `normalise`, registered by `register_normalise`),
    computed only for a value that normalising can change."""
    return (f"(case when (strlen({cell}) = length({cell}) or not regexp_matches({cell}, $changing)) "
            f"and not contains({cell}, chr(10)) and not contains({cell}, chr(13)) and not contains({cell}, chr(9)) "
            f"and not contains({cell}, '%40') then {cell} else privacy_normalise({cell}) end)")


def _normalise_vector(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else normalise(v) for v in values.to_pylist()], pa.string())


def register_normalise(con) -> None:
    """Make privacy_normalise available on this connection and its cursors (asking duckdb_functions()
    whether it is there costs 50 ms; trying costs nothing)."""
    try:
        con.create_function("privacy_normalise", _normalise_vector, [duckdb.sqltypes.VARCHAR],
                            duckdb.sqltypes.VARCHAR, type="arrow", side_effects=False)
    except (duckdb.NotImplementedException, duckdb.CatalogException):  # already there (this connection, a cursor)
        pass


# --- Values ------------------------------------------------------------------------------------------
# RE2 (DuckDB) and Python both read these, on normalised text. Digits never touch a longer run of
# digits, so dates, doses and long numeric ids do not match.
_SSN_AREA = "(00[1-9]|0[1-9][0-9]|[1-5][0-9]{2}|6[0-5][0-9]|66[0-57-9]|6[7-9][0-9]|[78][0-9]{2})"  # 666, 9xx unused
_SSN_REST = "(0[1-9]|[1-9][0-9])", "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"  # group 00, serial 0000 unused
_SSN = [_SSN_AREA, *_SSN_REST]
_LOCAL_PART = r"[A-Za-z0-9._%+-]*[A-Za-z][A-Za-z0-9._%+-]*"
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|"
           "ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP")
# Ten digits and nothing else around them: a phone number in free text, but an encounter number in a
# column that holds ids (session_id: 3012345678, 0701202412), where the formatted forms still count.
_BARE_NORTH_AMERICAN = r"(^|[^0-9A-Za-z+])(\+?1)?[2-9][0-9]{9}([^0-9]|$)"
_BARE_FRENCH = r"(^|[^0-9A-Za-z+])0[1-9][0-9]{8}([^0-9]|$)"
IDENTIFIER_VALUES = {
    "email addresses": (
        rf"{_LOCAL_PART}@[A-Za-z][A-Za-z0-9-]*"  # jane.doe@example.org, john@clinic
        # With spaces around the @ (then only before a dotted domain: "45 mg @ 10am" is a dose), or at an
        # IP address: jane @ example.com, j@1.2.3.4.
        rf"|{_LOCAL_PART} ?@ ?(([A-Za-z0-9-]+\.)+[A-Za-z]{{2,}}|[0-9]{{1,3}}(\.[0-9]{{1,3}}){{3}})"
        r"|[A-Za-z0-9._%+-]+ ?[(\[{<] ?(?i:at) ?[)\]}>] ?[A-Za-z0-9-]+"  # jane(at)example.com, jane [at] example
    ),
    "phone numbers": (
        # North American: the area code never starts with 0 or 1 (so the id 100-200-3000 is no phone);
        # 555-867-5309, (555) 867-5309, 555/867/5309, 555 - 867 - 5309, +1 555 867 5309, 5551234567,
        # +15551234567. A letter before ten digits makes an id (KP2345678901).
        r"(^|[^0-9+])(\+?1[ ./-]?)?(\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}( ?[./-] ?| ))"
        r"[0-9]{3}( ?[./-] ?| )[0-9]{4}([^0-9]|$)"
        rf"|{_BARE_NORTH_AMERICAN}"
        # International, written with its + or 00: +44 20 7946 0958, 0044 20 7946 0958, +33 1 23 45 67 89
        # (E.164: 8 to 15 digits; after 00 a space ends the country code, so the id 001 12 2024 is none).
        r"|(^|[^0-9A-Za-z+])\+[1-9]([ .()-]{0,2}[0-9]){7,14}([^0-9]|$)"
        r"|(^|[^0-9A-Za-z+])00[1-9][0-9]{0,2} ([ .()-]{0,2}[0-9]){7,13}([^0-9]|$)"
        # National, with its trunk 0 and spaces (UK): 020 7946 0958, 0161 496 0000, 07700 900123.
        r"|(^|[^0-9A-Za-z+])0[1-9][0-9]{1,3} [0-9]{3,4} ?[0-9]{3,4}([^0-9]|$)"
        # National (France): 0 and nine digits in pairs, run together or parted by one kind of separator:
        # 06 12 34 56 78, 06.12.34.56.78, 06-12-34-56-78, 0612345678 (a date 06.12.2024 has a 4-digit year).
        r"|(^|[^0-9A-Za-z+])0[1-9](( [0-9]{2}){4}|([.][0-9]{2}){4}|(-[0-9]{2}){4})([^0-9]|$)"
        rf"|{_BARE_FRENCH}"
    ),
    "social security numbers": (
        "(^|[^0-9])({0}-{1}-{2}|{0} {1} {2}|{0}[.]{1}[.]{2})([^0-9]|$)".format(*_SSN)
        + r"|(?i:ssn|social security( number| no)?) ?[:#]? ?[0-9]{9}([^0-9]|$)"  # labelled, without separators
        # Nine digits standing alone that an SSN could be (any column, ids included: prefix such ids,
        # P123456789): 123456789, but not 912345678 (area 9xx), 123.456789 or A123456789.
        + "|(^|[^0-9A-Za-z._/-])({0}{1}{2})([^0-9A-Za-z._/-]|$)".format(*_SSN)
    ),
    # Free text that says what it holds: "MRN 00123456", "M.R.N. 00123456", "MRN-00123456", "chart #4455",
    # "Medical record no. 123-456".
    "medical record numbers": (r"(?i:\bm\.?r\.?n\.?|\bchart|medical record)( ?(number|no\.?|#))? ?[:#.-]? ?"
                               r"[0-9][0-9-]{3,}"),
    # A labelled date of birth: "DOB 1961-04-12", "d.o.b.: 12/04/1961", "date of birth 1961".
    "dates of birth": r"(?i:\bd\.?o\.?b\b\.?|date of birth|birth ?date)( ?[:#=-])? ?[0-9]",
    # A street address (a number, capitalised words and a street word: "12 Elm Street", "4 Old Mill Rd")
    # or a 5-digit ZIP code after a place or a state ("Boston 02139", "MA 02139-4307"). Safe Harbor keeps
    # no geography below the state but a ZIP code's first 3 digits.
    "street addresses or ZIP codes": (
        r"\b[0-9]{1,5}[A-Za-z]? ([A-Z][A-Za-z'.-]* ){1,3}((?i:street|avenue|road|boulevard|lane|drive|court|"
        r"place|terrace|parkway|highway)|St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Pkwy|Hwy)\b"
        rf"|(\b[A-Z][a-z]{{2,}}|\b({_STATES})),? [0-9]{{5}}(-[0-9]{{4}})?([^0-9]|$)"
    ),
}
# A column of ids (session_id) holds ids: ten bare digits there are an encounter number, not a phone
# number (its formatted forms still are). A patient id is held to every pattern: a clinic that keys its
# patients by their phone number must not have it stored.
PHONE_IN_IDS = (IDENTIFIER_VALUES["phone numbers"].replace(f"|{_BARE_NORTH_AMERICAN}", "")
                .replace(f"|{_BARE_FRENCH}", ""))
ID_COLUMNS = ("session_id",)
# A patient id that reads as a person's name (RE2, on the normalised cell): two words of letters
# ("Jane Doe", "DOE, JANE", "jane.doe", "Mary-Jane O'Neil"), an initial and a word ("J. Doe", "Doe, J"),
# one word of three letters or more in one case or capitalised ("Smith", "smith", "SMITH": EHRs export
# surnames in capitals, and three capitals are initials) or two run together ("JaneDoe"). Pseudonymous ids
# hold digits or are codes: P-00123, A1B2C3, KP2345678901, SUBJ_0042, pt 001 and a single letter are not
# names.
_WORD = r"\pL[\pL'’-]*\pL"
_EDGE_BEFORE, _EDGE_AFTER = r"(^|[^\pL\pN])", r"([^\pL\pN]|$)"
NAME_LIKE = (rf"{_EDGE_BEFORE}{_WORD}[ ,._]+ ?{_WORD}{_EDGE_AFTER}"
             rf"|{_EDGE_BEFORE}\pL(\. ?| ){_WORD}{_EDGE_AFTER}"
             rf"|{_EDGE_BEFORE}{_WORD}, ?\pL\.?{_EDGE_AFTER}"
             r"|^ *(\p{Lu}\p{Ll}{2,}(\p{Lu}\p{Ll}+)?|\p{Ll}{3,}|\p{Lu}{3,}) *$")
NAMES = "a person's name (patient ids must be pseudonymous codes, such as P-00123)"
# Words a clinic's codes are made of (a site's code and a number: "North Site 001", "Study Arm 2 017"). In a
# patient id that holds a digit each is read as a number before the name check, so a code word never makes
# half of a name's two words, and a name beside one is still found ("Patient Jane Doe 1"). Words that are
# also common surnames (Ward, Case, Bed) are not in the list: "Jane Ward 001" stays a name.
CODE_WORDS = r"(?i)\b(site|clinic|centre|center|study|arm|subject|patient|pt|cohort|group|trial|unit)\b"

# A whole cell "NNN-MM-YYYY" is a numbered, dated id (session 001-12-2024), not an SSN: a file of SSNs
# still shows one outside months 01-12 and years 1900-2099 at once (99.8% of SSNs are).
DATED_ID = r"^ *[0-9]{3}[- ](0[1-9]|1[0-2])[- ](19|20)[0-9]{2} *$"
# Safe Harbor keeps the first 3 digits of a ZIP code, except in these areas of 20,000 people or fewer
# (recorded as 000): HHS, Guidance on De-identification of PHI (2012), section 2.4, 2000 Census.
RESTRICTED_ZIP3 = ("036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
                   "879", "884", "890", "893")
ZIP_ALLOWED = r"^ *([0-9]{3})? *$"


def identifier_in_text(text: str) -> str | None:
    """What a piece of text (a file name, a header) looks like it holds, or None."""
    text = normalise(text)
    for label, pattern in IDENTIFIER_VALUES.items():
        if re.search(pattern, text) and not (label == "social security numbers" and re.search(DATED_ID, text)):
            return label
    return None


def safe_file_name(name: str) -> str:
    """A file name fit to keep (the audit trail): as given, or withheld when it holds an identifier."""
    found = identifier_in_text(name)
    return name if found is None else f"(a file name that looks like it holds {found}; withheld)"


def check_file_name(name: str) -> None:
    """Refuse an export whose name, as the batch history would keep it ("book.xlsx [Sheet]",
    "exports.zip/member.csv"), holds an identifier. Refused rather than stripped: such a name marks a
    file made for one patient, and a rename costs the analyst less than a history that hides what it holds."""
    found = identifier_in_text(name)
    if found:
        raise RefusedFile(f"its name (with any sheet or zip member) looks like it holds {found}. The batch history "
                          "keeps file names, so they must be de-identified too (HIPAA Safe Harbor): rename it "
                          "and upload again.")


# --- Headers -----------------------------------------------------------------------------------------
# A header is read as words: camelCase, punctuation and digits split it, runs of single letters join
# ("d.o.b." -> dob) and abbreviations expand ("Pt Nm" -> patient name, "Birth_Dt" -> birth date).
ABBREVIATIONS = {"pt": "patient", "nm": "name", "dt": "date", "no": "number", "num": "number", "nbr": "number",
                 "nr": "number", "addr": "address", "tel": "telephone", "acct": "account", "dob": "date of birth",
                 "yob": "year of birth", "mrn": "medical record number", "fname": "first name",
                 "lname": "last name", "zipcode": "zip code", "postcode": "postal code", "email": "e mail"}

# Phrases that name an identifier wherever they stand in a header: (label, phrases).
IDENTIFYING_PHRASES = (
    ("a date of birth", ("date of birth", "birth date", "birth day", "birthday", "birthdate", "born",
                         "year of birth", "birth year", "place of birth", "birth place", "birthplace")),
    ("a name", ("first name", "last name", "full name", "middle name", "given name", "family name", "maiden name",
                "firstname", "lastname", "fullname", "surname", "forename", "middlename", "givenname", "initials")),
    ("a social security number", ("ssn", "social security")),
    ("a medical record number", ("medical record", "chart number", "chart id", "health record")),
    ("an account, plan or licence number", (
        "account number", "member id", "member number", "policy number", "insurance id", "insurance number",
        "subscriber id", "subscriber number", "beneficiary", "medicare number", "medicaid number", "medicare id",
        "medicaid id", "licence number", "license number", "driver licence", "driver license", "passport",
        "serial number", "licence plate", "license plate", "vehicle")),
    ("a relative or contact", ("next of kin", "emergency contact", "guardian", "spouse", "employer")),
    ("a network address", ("ip address", "mac address", "url", "web address", "website")),
    ("a photograph or biometric", ("photo", "photograph", "picture", "fingerprint", "biometric", "voiceprint",
                                   "voice print", "retina scan")),
)
# Words that name an identifier when they are what the header is about, its last word ("Patient
# Phone", "Home Address", "Phone Number"), not a word that qualifies another ("phone_visit",
# "mobile_unit", "email_reminder_sent").
IDENTIFYING_HEADS = {
    "name": "a name", "names": "a name", "phone": "a phone number", "telephone": "a phone number",
    "mobile": "a phone number", "cell": "a phone number", "cellphone": "a phone number", "fax": "a phone number",
    "mail": "an e-mail address", "address": "an address", "street": "an address", "city": "an address",
    "town": "an address", "county": "an address", "precinct": "an address",
}
# Trailing words that leave the head as it is: "Phone Number", "Phone 2", "Email (work)", "Address Line 1".
TRAILING = {"number", "id", "home", "work", "personal", "primary", "secondary", "main", "other", "line", "1", "2",
            "3", "one", "two"}
# Whose it is, when not the patient's: a site's, a clinician's or an instrument's name, phone or
# address is not patient information (Safe Harbor lists the individual's and their relatives',
# employers' and household members').
NOT_THE_PATIENT = {"site", "clinic", "location", "facility", "practice", "center", "centre", "clinician", "provider",
                   "prescriber", "physician", "doctor", "nurse", "staff", "therapist", "instrument", "measure",
                   "scale", "questionnaire", "drug", "medication", "file", "event", "protocol", "program",
                   "programme", "study", "sheet", "state", "country", "route", "status", "session", "visit",
                   "appointment", "diagnosis", "indication"}
ZIP_WORDS = {"zip", "zip3", "zip5", "postal"}
# Heads also found at the end of one run-together word; short or common endings (city: ethnicity,
# mobile: automobile) are not split.
SPLIT_HEADS = ("telephone", "address", "phone", "email", "name")


def header_words(header: str) -> list[str]:
    """The words a header is made of, abbreviations expanded: "Pt Nm" -> ["patient", "name"],
    "Post Code" -> ["postal", "code"] (alone, "post" is after treatment: "PHQ-9 post")."""
    text = header.replace("#", " number ")
    text = re.sub(r"([a-z])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", text)  # BirthDate, SSNLast4
    words, letters = [], ""
    for token in re.findall(r"[a-z]+|[0-9]+", text.lower()):
        if len(token) == 1 and token.isalpha():  # d.o.b. -> dob
            letters += token
            continue
        words += [letters, token] if letters else [token]
        letters = ""
    words += [letters] if letters else []
    return re.sub(r"\bpost code\b", "postal code", " ".join(ABBREVIATIONS.get(w, w) for w in words)).split()


def is_zip_column(header: str) -> bool:
    return bool(ZIP_WORDS & set(header_words(header)))


def identifier_header(header: str) -> str | None:
    """What a header names or holds when it is a direct identifier ("names a date of birth"), else None."""
    held = identifier_in_text(header)
    if held:
        return f"holds what looks like {held}"
    words = header_words(header)
    phrase, joined = f" {' '.join(words)} ", "".join(words)
    for label, phrases in IDENTIFYING_PHRASES:
        if any(f" {p} " in phrase or (len(p) >= 8 and " " not in p and p in joined) for p in phrases):
            return f"names {label}"
    if "of" in words:  # "Name of Patient" is about a patient's name, "Name of Site" about a site's
        at = words.index("of")
        words = words[at + 1:] + words[:at]
    while len(words) > 1 and words[-1] in TRAILING:
        words = words[:-1]
    if not words:
        return None
    for head in SPLIT_HEADS:  # one run-together word: "patientphone", "sitename"
        if words[-1].endswith(head) and words[-1] != head:
            words = words[:-1] + [words[-1][: -len(head)], *ABBREVIATIONS.get(head, head).split()]
            break
    owner = words[-2] if len(words) > 1 else None
    if words[-1] in IDENTIFYING_HEADS and owner not in NOT_THE_PATIENT:
        return f"names {IDENTIFYING_HEADS[words[-1]]}"
    return None


def identifier_columns(headers: list[str]) -> list[tuple[int, str, str]]:
    """(position, header, why) for each header that names or holds a direct identifier. ZIP columns are
    judged by their values (Safe Harbor keeps 3 digits)."""
    found = []
    for i, header in enumerate(headers):
        why = identifier_header(header)
        if why and not (is_zip_column(header) and why.startswith("names")):
            found.append((i, header, why))
    return found


def check_headers(headers: list[str]) -> None:
    """Refuse a header that names or holds an identifier: named when it names one, by its position
    only when it holds one (a header that is a phone number is not repeated)."""
    found = identifier_columns(headers)
    if not found:
        return
    refs = [f"'{header}'" if why.startswith("names") else str(i + 1) for i, header, why in found]
    whys = [why if why.startswith("names") else f"header {why}" for _, _, why in found]
    reasons = f"it{'s' if whys[0].startswith('header') else ''} {whys[0]}" if len(found) == 1 else "; ".join(
        f"{ref} {why}" for ref, why in zip(refs, whys))
    raise RefusedFile(f"column{'s' if len(found) > 1 else ''} {', '.join(refs)} look{'' if len(found) > 1 else 's'} "
                      f"like a direct identifier: {reasons} (HIPAA Safe Harbor). Remove "
                      f"{'them' if len(found) > 1 else 'it'} and export again.")


# --- Cells -------------------------------------------------------------------------------------------
_PARAMETERS = {"email addresses": "email", "phone numbers": "phone", "social security numbers": "ssn",
               "medical record numbers": "mrn", "dates of birth": "dob", "street addresses or ZIP codes": "address"}


def _looks_identifying(cell: str, phone: str = "phone") -> str:
    """SQL: whether a normalised cell looks like any identifier above (a dated id is no SSN). `phone`: the phone
    pattern's parameter ("phone_in_ids" in a column of ids, where ten bare digits are an encounter number)."""
    return "(" + " or ".join(f"(regexp_matches({cell}, $ssn) and not regexp_matches({cell}, $dated_id))"
                             if name == "ssn" else f"regexp_matches({cell}, ${phone if name == 'phone' else name})"
                             for name in _PARAMETERS.values()) + ")"


def _patterns() -> dict[str, str]:
    return ({_PARAMETERS[label]: pattern for label, pattern in IDENTIFIER_VALUES.items()}
            | {"dated_id": DATED_ID, "changing": CHANGING})


def _patient_id_position(layout: Layout) -> int | None:
    return layout.canonical.index("patient_id") if "patient_id" in layout.canonical else None


def check_identifier_values(con, layout: Layout, errors_table: str, lines: str = "raw_file") -> None:
    """Refuse the file when any cell (or any field of a malformed line), normalised, holds an email,
    phone number, SSN, labelled medical record number or date of birth, street address or ZIP code, or
    a ZIP column holds more than 3 digits or a restricted 3-digit area. Runs before anything is stored;
    never echoes the value. The column checks run first over each column's distinct values (a site, a
    route, a date or a dose repeats on most lines); only when one matches are the lines searched for the
    first that holds it. `lines`: the lines to scan (ingest leaves out the ones stored before)."""
    register_normalise(con)
    checks, parameters = column_checks(layout)
    zips = [i for i, h in enumerate(layout.headers) if is_zip_column(h)]
    if zips or _any_cell_matches(con, layout, checks, parameters, lines):
        _name_identifier_column(con, layout)
    # A malformed line's fields are held to what the column they stand under is held to: in a column of ids ten
    # bare digits are an encounter number there too (its formatted forms still a phone number); anywhere else, and
    # past the last column, the strict patterns. Its text is never stored (only its number and why), so a stricter
    # rule would only refuse a clean export for a code on a line it rejects anyway.
    ids = [i + 1 for i, column in enumerate(layout.canonical) if column in ID_COLUMNS]
    field = normalised("f")
    line = con.execute(
        f"select min(line) from {errors_table} where len(list_filter(string_split(csv_line, $delim), "
        f"lambda f, i: case when list_contains($id_positions, i) then {_looks_identifying(field, 'phone_in_ids')} "
        f"else {_looks_identifying(field)} end)) > 0",
        {"delim": layout.delimiter, "id_positions": ids, "phone_in_ids": PHONE_IN_IDS, **_patterns()}).fetchall()[0][0]
    if line is not None:
        raise RefusedFile(f"line {line} holds a value that looks like an email, phone number, SSN, MRN, date of "
                          "birth or street address. Exports must be de-identified (HIPAA Safe Harbor).")


def column_checks(layout: Layout) -> tuple[list[tuple[int, str, str, str]], dict]:
    """Each column's checks: [(position, header, what it looks like, SQL condition on its normalised
    cell `c<position>`)], and the patterns they read as parameters."""
    checks, parameters = [], _patterns()
    for i, header in enumerate(layout.headers):
        for label, name in _PARAMETERS.items():
            dated = f" and not regexp_matches(c{i}, $dated_id)" if name == "ssn" else ""  # 001-12-2024 is an id
            if name == "phone" and layout.canonical[i] in ID_COLUMNS:
                name, parameters["phone_in_ids"] = "phone_in_ids", PHONE_IN_IDS
            checks.append((i, header, label, f"regexp_matches(c{i}, ${name}){dated}"))
        # After the specific patterns, so jane@example.org is named an email address, not a name.
        if layout.canonical[i] == "patient_id":
            coded = f"case when regexp_matches(c{i}, '[0-9]') then regexp_replace(c{i}, $code_words, ' 0 ', 'g') else c{i} end"
            checks.append((i, header, NAMES, f"regexp_matches({coded}, $name)"))
            parameters |= {"name": NAME_LIKE, "code_words": CODE_WORDS}
        if is_zip_column(header):
            checks.append((i, header, "postal codes beyond a ZIP code's first 3 digits",
                           f"not regexp_matches(c{i}, $zip)"))
            checks.append((i, header, "3-digit ZIP areas of 20,000 people or fewer (to be given as 000)",
                           f"list_contains($restricted, trim(c{i}))"))
            parameters |= {"zip": ZIP_ALLOWED, "restricted": list(RESTRICTED_ZIP3)}
    return checks, parameters


# What a value must hold for any name alternative of NAME_LIKE to match it: a separator between two words
# (" ,._"), a lower-case letter (a capitalised word alone) or a word all in capitals alone. Ids such as KP000001
# or P-00123 hold none of them.
NAME_NEEDS = r"[ ,._]|\p{Ll}|^ *\p{Lu}{3,} *$"


def could_match(layout: Layout, i: int, parameters: dict) -> str | None:
    """One RE2 pattern that every value some check of column i holds for also matches (the value patterns
    joined, the name check by what a name needs), or None when no such pattern is written (a ZIP column).
    RE2 runs the joined patterns as one automaton: at 100k patients, 0.04 s over 613,660 distinct session
    ids against 0.18 s for the six patterns one by one; the name pattern's Unicode classes cost 5 us a
    value (0.5 s over 100,000 patient ids) and its necessary part 0.1 us. Nearly every value fails it, and
    only the few that pass are held to the checks themselves, so nothing refused before passes now."""
    if is_zip_column(layout.headers[i]):
        return None
    names = [n if not (n == "phone" and layout.canonical[i] in ID_COLUMNS) else "phone_in_ids"
             for n in _PARAMETERS.values()]
    alternatives = [parameters[n] for n in names] + ([NAME_NEEDS] if layout.canonical[i] == "patient_id" else [])
    return "|".join(f"(?:{a})" for a in alternatives)


def _any_cell_matches(con, layout: Layout, checks: list[tuple[int, str, str, str]], parameters: dict,
                      lines: str) -> bool:
    """Whether any column check holds for any of the column's distinct values (normalised after the
    distinct: normalising is a function of the value). A value is held to the checks only when it
    matches the column's joined pattern (could_match), which each check implies."""
    by_column: dict[int, list[str]] = {}
    for i, _, _, condition in checks:
        by_column.setdefault(i, []).append(condition)
    if not by_column:
        return False
    parts = []
    for i, conditions in by_column.items():
        could = could_match(layout, i, parameters)
        if could is not None:
            parameters = parameters | {f"could_{i}": could}
        # The joined pattern filters the rows first; the checks are an aggregate over what passes.
        parts.append(f"select bool_or({' or '.join(conditions)}) as hit from "
                     f"(select {normalised(f'c{i}')} as c{i} from (select distinct c{i} from {lines}))"
                     + (f" where regexp_matches(c{i}, $could_{i})" if could is not None else ""))
    (hit,) = con.execute(f"select coalesce(bool_or(hit), false) from ({' union all '.join(parts)})",
                         parameters | {"changing": CHANGING}).fetchall()[0]
    return bool(hit)


def _name_identifier_column(con, layout: Layout) -> None:
    """Which column holds the identifier, and from which line (the refusal message)."""
    found, parameters = column_checks(layout)
    labels = [(header, label) for _, header, label, _ in found]
    checks = [f"min(line_number) filter (where {condition})" for _, _, _, condition in found]
    cells = ", ".join(f"{normalised(f'c{i}')} as c{i}" for i in range(len(layout.headers)))
    first_lines = con.execute(f"with cells as materialized (select line_number, {cells} from raw_export_positional) "
                              f"select {', '.join(checks)} from cells", parameters).fetchall()[0]
    for (header, label), line in zip(labels, first_lines):
        if line is not None:
            raise RefusedFile(
                f"column '{header}' holds values that look like {label} (first at line {line}). Exports must be "
                "de-identified (HIPAA Safe Harbor): remove or mask the column and export again."
            )


# --- Quasi-identifiers in a view ---------------------------------------------------------------------
# Ethnicity and area deprivation are not identifiers alone, but with site, age band and sex they single
# people out: a 70-year-old of one ethnicity at one small site may be one patient (k-anonymity: Sweeney
# 2002; HHS 2012 guidance, section 2.2, "expert determination" of combinations). A view (its filters and
# its split together) may use them so:
# - one equity field at a time: ethnicity and deprivation decile never together;
# - an equity field not with both site and age band (with one of them, or with sex, it may);
# - each equity category held by fewer patients than min_cell_size is shown as 'other' (cohort_series),
#   and cells under it are suppressed like every count.
EQUITY_FIELDS = {"ethnicity": "ethnicities", "deprivation_decile": "deprivation_deciles"}
QUASI_FILTERS = {"site": "sites", "age_band": "age_bands", "sex": "sexes", **EQUITY_FIELDS}
NOT_WITH_EQUITY = ("site", "age_band")


class DisallowedView(ValueError):
    """A view that combines quasi-identifiers beyond what the privacy guard allows."""


def quasi_identifiers_in_view(cohort, by: str | None) -> set[str]:
    """The quasi-identifiers a view narrows or splits by: its filters in force and its split."""
    used = {field for field, attribute in QUASI_FILTERS.items() if getattr(cohort, attribute, ())}
    return used | ({by} if by in QUASI_FILTERS else set())


def check_equity_view(cohort, by: str | None = None) -> None:
    """Refuse (DisallowedView) a view whose filters and split combine the equity fields beyond the rules
    above, saying which rule and what to drop."""
    used = quasi_identifiers_in_view(cohort, by)
    equity = sorted(used & set(EQUITY_FIELDS))
    if len(equity) > 1:
        raise DisallowedView("ethnicity and area deprivation cannot be used together in one view (filter or "
                             "split): together they single patients out. Use one of them.")
    if equity and set(NOT_WITH_EQUITY) <= used:
        raise DisallowedView(f"{equity[0].replace('_', ' ')} cannot be combined with both site and age band in one "
                             "view (filter or split): together they single patients out. Drop the site or the age "
                             "band filter or split.")
