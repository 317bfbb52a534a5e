"""Guards that export text stays text: markdown shows it literally, Plotly labels do not render its
HTML, and every CSV the product writes neutralises formulas without touching numbers."""

import csv
import io

import pandas as pd
import pytest

from ketamine_outcomes import safe_text


@pytest.mark.parametrize("text, shown", [
    ("**Northside**", r"\*\*Northside\*\*"),
    # A bare URL or e-mail address is linked by GFM even escaped: a word joiner (U+2060) breaks it.
    ("[click](http://evil.example)", "\\[click\\]\\(http\\:\u2060\\/\\/evil\\.example\\)"),
    ("![](HTTPS://evil.example/x.png)", "\\!\\[\\]\\(HTTPS\\:\u2060\\/\\/evil\\.example\\/x\\.png\\)"),
    ("www.evil.example", "www\u2060\\.evil\\.example"),
    ("jane@clinic.example", "jane\\@\u2060clinic\\.example"),
    ("$x^2$", r"\$x\^2\$"),
    (":red[alarm]", r"\:red\[alarm\]"),
    ("<b>bold</b>", r"\<b\>bold\<\/b\>"),
    ("line one\n# heading", r"line one \# heading"),
    ("Northside", "Northside"),
])
def test_markdown_escapes_every_markup_character(text, shown):
    assert safe_text.markdown(text) == shown


def test_plotly_labels_do_not_render_html():
    assert safe_text.plotly('<a href="http://x">Site</a> & <b>B</b>') == \
        '&lt;a href="http://x"&gt;Site&lt;/a&gt; &amp; &lt;b&gt;B&lt;/b&gt;'


def test_csv_text_neutralises_formulas_and_keeps_numbers():
    frame = pd.DataFrame({
        "site": ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTab", "\rCR", "Northside",
                 "-5", None],
        "n_series": [1, -2, 3, 4, 5, 6, 7, 8, 9],
        "rate": [0.5, -0.25, None, 1.0, 0.0, 0.1, 0.2, 0.3, 0.4],
    })
    rows = list(csv.DictReader(io.StringIO(safe_text.csv_text(frame))))
    assert [r["site"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1)",
                                         "'\tTab", "'\rCR", "Northside", "-5", ""]
    assert [r["n_series"] for r in rows] == [str(n) for n in range(1, 10)][:1] + ["-2"] + [str(n) for n in range(3, 10)]
    assert rows[1]["rate"] == "-0.25"
