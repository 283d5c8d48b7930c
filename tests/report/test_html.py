"""The HTML report reads cleanly: tables scroll inside their box, every plot is embedded, no
cell says None/nan, formulas are MathML (no raw TeX), no reference points at notes a reader
cannot see, and the timestamp has no microseconds."""

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from specurate.report.html import formula_mathml, public_text, render_html, rich_text

FIXTURE = Path(__file__).parents[1] / "data" / "report_quick_results.json"

# a 1×1 PNG: render_html only embeds the bytes
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000001010000ffff05fe02fe"
    "0000000049454e44ae426082"
)


class Page(HTMLParser):
    """Visible text, table cells, and where every table and image sits."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self.cell: list[str] | None = None
        self.tables_outside_scroll = 0
        self.tables = 0
        self.images = 0
        self.figures = 0
        self.maths = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables += 1
            if not any(t == "div" and "scroll" in (a.get("class") or "") for t, a in self.stack):
                self.tables_outside_scroll += 1
        elif tag == "img":
            self.images += 1
            return  # a void element
        elif tag == "figure":
            self.figures += 1
        elif tag == "math":
            self.maths += 1
        elif tag in ("td", "th"):
            self.cell = []
        if tag not in ("meta", "br", "wbr", "input", "link"):
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.cells.append("".join(self.cell).strip())
            self.cell = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if any(t in ("style", "script", "title") for t, _ in self.stack):
            return
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    return p


def _plots(doc, tmp_path):
    plots = {}
    for key in doc["parts"]:
        path = tmp_path / f"{key}.png"
        path.write_bytes(PNG)
        plots[key] = path
    return plots


def check_clean(page: str) -> Page:
    """The checks every rendered report must pass; returns the parsed page."""
    p = parse(page)
    text = " ".join(p.text)
    assert p.tables > 0 and p.tables_outside_scroll == 0
    bad_cells = [c for c in p.cells if re.search(r"\b(None|nan|NaN|inf)\b", c)]
    assert not bad_cells, bad_cells
    for raw in ("^{", "_{", "theory.md", "Issue ", "README"):
        assert raw not in text, raw
    assert not re.search(r"\\[A-Za-z]+", text), re.findall(r"\\[A-Za-z]+", text)
    assert not re.search(r"\bOQ\d*\b", text)
    # shorthand scripts left as text: "t^ρ", "p_k", "k^-2"
    assert not re.search(r"\w\^|[A-Za-zλ]_[A-Za-z0-9]", text), re.findall(r"\S*[\^_]\S*", text)
    return p


@pytest.fixture(scope="module")
def quick_doc():
    return json.loads(FIXTURE.read_text())


def test_the_quick_run_report_is_clean(quick_doc, tmp_path):
    page = render_html(quick_doc, _plots(quick_doc, tmp_path))
    p = check_clean(page)
    # every part's plot is embedded once, in a figure
    assert p.images == p.figures == len(quick_doc["parts"])
    assert p.maths > 10  # formulas of the simulator's paper table, the symbols, the headers
    text = " ".join(p.text)
    assert "2026-12-01 02:46 UTC" in text and ".306329" not in page
    assert "spectral study of the built-in data" in text
    assert "specurate's derivation" in text  # theory.md §3, said in words
    # the symbols are defined before they are used
    assert text.index("Symbols") < text.index("Spectral exponents")
    # L ~ t^{-(a-1)ρ/b}: t with the exponent as a superscript
    assert "<msup><mi>t</mi><mrow><mo>−</mo><mrow><mo>(</mo><mi>a</mi>" in page


def test_the_data_name_titles_the_report(quick_doc, tmp_path):
    doc = {**quick_doc, "data_name": "MNIST <5k>"}
    page = render_html(doc, _plots(doc, tmp_path))
    assert "spectral study of MNIST &lt;5k&gt;" in page


def test_a_small_document_with_missing_values_renders_cleanly(quick_doc, tmp_path):
    spectrum = copy.deepcopy(quick_doc["parts"]["digits-linear"])
    spectrum.update({"a": None, "a_ci": [None, None], "learning_exponent": float("nan")})
    spectrum["b_ci_total"] = None
    reweight = copy.deepcopy(quick_doc["parts"]["reweight-digits-keep-hard"])
    reweight.update({"delta_b_ci": [float("nan"), 1.0], "k0": None, "narrowing": None})
    sim = copy.deepcopy(quick_doc["parts"]["simulate-digits"])
    sim["paper_vs_measured"][0].update(
        {"source": "theory.md §4", "note": "see OQ1 (theory.md §5); Issue 6's goal"}
    )
    doc = {
        "specurate_version": "x",
        "created": "2026-01-02T03:04:05.678901",
        "quick": False,
        "seed": 3,
        "notes": ["mnist5k skipped (README)"],
        "summary": [],
        "parts": {"spec": spectrum, "reweight-x": reweight, "sim": sim},
    }
    page = render_html(doc, {"spec": tmp_path / "missing.png"})  # a plot that was not made
    p = check_clean(page)
    assert p.images == 0
    text = " ".join(p.text)
    assert "2026-01-02 03:04 UTC" in text and "full run" in text
    assert "mnist5k skipped" in text and "open question" not in text.split("Symbols")[0]


@pytest.mark.parametrize(
    ("tex", "has"),
    [
        ("baseline loss exponent, L ~ t^{-(a-1)ρ/b}", ["baseline loss exponent, <math>"]),
        ("k* ~ t^ρ (operator budget)", ["<msup><mi>t</mi><mi>ρ</mi></msup>", "</math> (operator"]),
        ("L ≈ Σ_{k>k*} k^{-a}", ["<msub><mo>Σ</mo><mrow><mi>k</mi><mo>&gt;</mo>"]),
        ("p_k ∝ k^-1.5, energy", ["<mo>−</mo><mn>1.5</mn>", "</math>, energy"]),
        ("(p_k = 1/N)", ["(<math><msub><mi>p</mi><mi>k</mi></msub><mo>=</mo>", "</math>)"]),
        ("measured: L at t_max", ["<msub><mi>t</mi><mi>max</mi></msub>"]),
        ("e^{-3}/(1+t)^1, so", ["<msup><mrow><mo>(</mo><mn>1</mn><mo>+</mo><mi>t</mi>"]),
    ],
)
def test_formulas_become_mathml(tex, has):
    out = rich_text(tex)
    for piece in has:
        assert piece in out, out
    assert "^" not in out and "_" not in out


def test_plain_text_stays_text():
    assert rich_text("fixed κ = 1 leaves a floor & more") == "fixed κ = 1 leaves a floor &amp; more"
    assert rich_text("k* ≥ 3K₀ = 30") == "k* ≥ 3K₀ = 30"


def test_fractions_and_commands():
    out = formula_mathml(r"\frac{a-1}{b} \lambda_k")
    frac = "<mfrac><mrow><mi>a</mi><mo>−</mo><mn>1</mn></mrow><mrow><mi>b</mi></mrow></mfrac>"
    assert frac in out
    assert "<msub><mi>λ</mi><mi>k</mi></msub>" in out


def test_internal_references_are_removed():
    assert public_text("a floor (theory.md §3) here") == "a floor here"
    assert public_text("as in theory.md §3") == "as in specurate's derivation"
    assert public_text("gain (OQ1) and Issue 6's goal (README)") == "gain and the goal"
