"""Text from an export is data, never markup or a formula. Every place that shows export text or writes
a CSV goes through one of these functions.

- `markdown`: for st.markdown, st.caption, labels and help texts, where Streamlit renders markdown
  (links, images the browser fetches, `$maths$`, `:red[...]`, bold). Every ASCII punctuation mark is
  backslash-escaped (CommonMark treats an escaped mark as a literal character), and bare URLs and
  e-mail addresses, which GFM links even when escaped, are broken by an invisible word joiner.
- `plain`: for what Streamlit draws as plain text (a select box's options), where an escape would show.
- `plotly`: for Plotly trace names, axis labels, annotations and hover text, which render a subset of
  HTML (`<a href>`, `<b>`, `<br>`).
- `csv_text`: every CSV the product writes. A text cell starting with = + - @, a tab or a carriage
  return is prefixed with a single quote, so a spreadsheet shows it instead of running it as a formula
  (OWASP, CSV injection). Numbers, and text that is a plain number such as "-5", are left as they are.
  Lines end in CRLF (RFC 4180), which spreadsheets expect.
"""

import html
import re
import string

import pandas as pd

_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# GFM links bare URLs, www. addresses and e-mail addresses after the escapes are read, so escaping
# cannot stop them: an invisible WORD JOINER after the scheme's colon, after "www" and after "@" does.
_AUTOLINK = re.compile(r"\b(https?|ftp|mailto|xmpp):|\bwww(?=\.)|@", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def markdown(text) -> str:
    """Export text shown through Streamlit's markdown, as literal text."""
    flat = " ".join(str(text).split())  # a newline would start a new markdown block
    flat = _AUTOLINK.sub("\\g<0>" + _WORD_JOINER, flat)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def plain(text) -> str:
    """Export text shown where Streamlit draws text as it is (a select box's options): one line, without
    control, invisible or bidi characters (which could reorder what is shown), and without escapes (a
    backslash there is shown as one: `sessions\\.csv`)."""
    return _CONTROLS.sub("", " ".join(str(text).split()))


def plotly(text) -> str:
    """Export text shown in a Plotly label, legend or hover, as literal text."""
    return html.escape(str(text), quote=False)


def csv_cell(value):
    """One cell as it may be written to a CSV: formulas neutralised, everything else unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame, **options) -> str:
    """A DataFrame as CSV text (no index unless asked), with every text cell neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].map(csv_cell)
    safe.columns = [csv_cell(str(c)) for c in safe.columns]
    # RFC 4180 line ends: with them the writer also quotes a value that holds a carriage return.
    return safe.to_csv(**{"index": False, "lineterminator": "\r\n", **options})
