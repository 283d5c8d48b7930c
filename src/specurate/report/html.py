"""The self-contained HTML report of ``specurate run`` (tables, and plots embedded as PNG).

:func:`render_html` takes the study's ``results.json`` document and the plot of every part; it
reads nothing else and writes nothing. The page is a list of sections (:func:`render_html`
builds it in reading order), so a new section is one more string in that list.

Text that reaches the page from the library (claims and notes of the simulator's paper table,
task descriptions, verdicts) is written for terminals: formulas in a TeX-like shorthand
(``L ~ t^{-(a-1)ρ/b}``, ``p_k ∝ k^-1.5``) and references to the project's own notes. At render
time :func:`rich_text` turns the formulas into MathML and :func:`public_text` replaces the
references a reader of the report cannot follow.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from specurate.report.experiments import separation_cell, separation_label
from specurate.report.style import fmt, fmt_ci, fmt_est, fmt_speedup
from specurate.report.tables import rule_verdict

__all__ = ["formula_mathml", "public_text", "render_html", "rich_text"]

#: the paper the report tests (its sections are cited as "paper §1", "paper A.3")
PAPER = (
    "Zhang &amp; Du, <i>Data Curation Through the Lens of Spectral Dynamics</i>, arXiv 2512.02409"
)

# ------------------------------------------------------------------------------ formulas
_COMMANDS = {
    "sum": "Σ",
    "lambda": "λ",
    "rho": "ρ",
    "kappa": "κ",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "theta": "θ",
    "omega": "ω",
    "cdot": "·",
    "times": "×",
    "infty": "∞",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "propto": "∝",
    "approx": "≈",
    "sim": "∼",
    "to": "→",
    "in": "∈",
    "notin": "∉",
    "sqrt": "√",
    "preceq": "⪯",
    "ln": "ln",
    "log": "log",
    "exp": "exp",
    "max": "max",
    "min": "min",
}
_FUNCTIONS = {"ln", "log", "exp", "max", "min", "sup", "inf"}
_LARGE = {"Σ", "∑", "∏"}
_OPERATOR_TEXT = {"-": "−", "~": "∼", "*": "∗"}
_SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def _el(tag: str, *children: str) -> str:
    return f"<{tag}>{''.join(children)}</{tag}>"


def _mo(c: str) -> str:
    return _el("mo", html.escape(_OPERATOR_TEXT.get(c, c)))


class _Formula:
    """A recursive-descent reader of the TeX-like shorthand: atoms (letters, numbers,
    operators, ``{…}`` and ``(…)`` groups, ``\\commands``) each with an optional sub- and
    superscript (``_x``, ``^x``; a script is a group, a signed number, a letter run or one
    character)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.s[j] if j < len(self.s) else ""

    def sequence(self, close: str = "") -> str:
        out: list[str] = []
        while self.i < len(self.s) and self.peek() != close:
            if self.peek().isspace():
                self.i += 1
                continue
            if self.peek() in "})" and self.peek() != close:  # unbalanced: show it as it is
                out.append(_mo(self.peek()))
                self.i += 1
                continue
            out.append(self.item())
        return "".join(out)

    def item(self) -> str:
        base = self.atom()
        sub = sup = None
        while self.peek() in ("^", "_") and self.peek():
            mark = self.peek()
            self.i += 1
            arg = self.script()
            if mark == "_" and sub is None:
                sub = arg
            elif mark == "^" and sup is None:
                sup = arg
            else:  # a second script of the same kind: nest it
                base = _el("msub" if mark == "_" else "msup", _el("mrow", base), arg)
        if sub is not None and sup is not None:
            return _el("msubsup", base, sub, sup)
        if sub is not None:
            return _el("msub", base, sub)
        if sup is not None:
            return _el("msup", base, sup)
        return base

    def group(self, close: str) -> str:
        self.i += 1
        inner = self.sequence(close)
        if self.peek() == close:
            self.i += 1
        return inner

    def command(self) -> str:
        self.i += 1
        m = re.match(r"[A-Za-z]+", self.s[self.i :])
        if not m:  # an escaped character: \{ \% …
            c = self.peek()
            self.i += 1
            return _mo(c)
        name = m.group(0)
        self.i += len(name)
        if name == "frac":
            num = self.group("}") if self.peek() == "{" else self.atom()
            den = self.group("}") if self.peek() == "{" else self.atom()
            return _el("mfrac", _el("mrow", num), _el("mrow", den))
        if name in ("mathrm", "text", "operatorname"):
            txt = self.s[self.i + 1 : self.s.find("}", self.i)] if self.peek() == "{" else ""
            self.i += len(txt) + 2 if self.peek() == "{" else 0
            return _el("mi", html.escape(txt)) if txt else ""
        sym = _COMMANDS.get(name, name)
        if sym not in _LARGE and (sym in _FUNCTIONS or sym.isalpha()):
            return _el("mi", html.escape(sym))
        return _mo(sym)

    def number(self) -> str:
        m = re.match(r"[0-9]*\.?[0-9]+", self.s[self.i :])
        assert m is not None
        self.i += len(m.group(0))
        return _el("mn", m.group(0))

    def identifier(self) -> str:
        m = re.match(r"[A-Za-z]+", self.s[self.i :])
        if m and (m.group(0) in _FUNCTIONS or len(m.group(0)) >= 3):  # ln, "steps"
            self.i += len(m.group(0))
            return _el("mi", m.group(0))
        if self.peek() in _LARGE:
            self.i += 1
            return _mo(self.s[self.i - 1])
        mi = _el("mi", html.escape(self.peek()))
        self.i += 1
        digits = ""
        while self.peek() and self.peek() in _SUBSCRIPT_DIGITS:  # K₀: K with subscript 0
            digits += str(_SUBSCRIPT_DIGITS.index(self.peek()))
            self.i += 1
        if digits:
            mi = _el("msub", mi, _el("mn", digits))
        if self.peek() == "*" and self.peek(1) not in ("^", "_"):  # k*: the starred k
            self.i += 1
            return _el("msup", mi, _mo("*"))
        return mi

    def atom(self) -> str:
        c = self.peek()
        if c == "{":
            return _el("mrow", self.group("}"))
        if c == "(":
            inner = self.group(")")
            return _el("mrow", _mo("("), inner, _mo(")"))
        if c == "\\":
            return self.command()
        if c.isdigit() or (c == "." and self.peek(1).isdigit()):
            return self.number()
        if c.isalpha():
            return self.identifier()
        self.i += 1
        return _mo(c)

    def script(self) -> str:
        c = self.peek()
        if c == "{":
            return _el("mrow", self.group("}"))
        m = re.match(r"([-−+]?)([0-9]*\.?[0-9]+)", self.s[self.i :])
        if m:
            self.i += len(m.group(0))
            sign = _mo(m.group(1)) if m.group(1) else ""
            return _el("mrow", sign, _el("mn", m.group(2))) if sign else _el("mn", m.group(2))
        m = re.match(r"[A-Za-z]{2,}", self.s[self.i :])
        if m:  # t_max: the whole word is the script
            self.i += len(m.group(0))
            return _el("mi", m.group(0))
        return self.atom() if c else ""


def formula_mathml(tex: str) -> str:
    """MathML (Core) of one formula in the TeX-like shorthand, e.g. ``t^{-(a-1)ρ/b}``."""
    return f"<math>{_Formula(tex).sequence()}</math>"


_m = formula_mathml

_RELATIONS = {"~", "∼", "=", "→", "≈", "∝", "<", ">", "≤", "≥", "⪯", "≠"}
_OPERATORS = _RELATIONS | {"Σ", "+", "−", "-", "/", "·", "×", "∈", "∉"}
_SCRIPTED = re.compile(r"[\^_]|\\[A-Za-z]")
_OPERAND = re.compile(r"[A-Za-z0-9.*+\-−/()·√₀-₉\u0370-\u03ff]+")
_TRAILING = ",;:."


def _split_token(tok: str) -> tuple[str, str, str]:
    """(leading text, formula candidate, trailing text): punctuation and unbalanced
    parentheses around a word are text."""
    lead = trail = ""
    while tok and tok[-1] in _TRAILING:
        trail = tok[-1] + trail
        tok = tok[:-1]
    while tok.startswith("(") and tok.count("(") > tok.count(")"):
        lead += "("
        tok = tok[1:]
    while tok.endswith(")") and tok.count(")") > tok.count("("):
        trail = ")" + trail
        tok = tok[:-1]
    return lead, tok, trail


def _kind(core: str) -> str:
    """'script' (has a TeX script or command), 'op', 'operand' (a symbol or number) or 'word'."""
    if not core:
        return "word"
    if _SCRIPTED.search(core):
        return "script"
    if core in _OPERATORS:
        return "op"
    if _OPERAND.fullmatch(core) and not re.search(r"[A-Za-z]{2}", core):
        return "operand"
    return "word"


def rich_text(text: Any) -> str:
    """HTML of a line of text whose formulas are in the TeX-like shorthand: every run of
    symbols that holds a script (``L ~ t^{-(a-1)ρ/b}``, ``p_k ∝ k^-1.5``) becomes MathML, the
    rest is escaped text. References a reader cannot follow are replaced first
    (:func:`public_text`)."""
    # tokens: (leading text, core, trailing text, kind); whitespace is a token of its own
    toks: list[tuple[str, str, str, str]] = []
    for piece in re.split(r"(\s+)", public_text(str(text))):
        if not piece or piece.isspace():
            toks.append(("", piece, "", "space"))
        else:
            lead, core, trail = _split_token(piece)
            toks.append((lead, core, trail, _kind(core)))

    def symbol(k: int) -> bool:
        return toks[k][3] in ("script", "op", "operand")

    def relation(k: int) -> bool:
        return toks[k][3] == "op" and toks[k][1] in _RELATIONS

    def plain(k: int) -> str:
        return html.escape("".join(toks[k][:3]))

    out: list[str] = []
    i, n = 0, len(toks)
    while i < n:
        if not symbol(i):
            out.append(plain(i))
            i += 1
            continue
        # the run of symbols from i: over spaces, until a word or a token with punctuation
        last = i
        while not toks[last][2]:
            k = last + 1
            while k < n and toks[k][3] == "space":
                k += 1
            if k < n and symbol(k) and not toks[k][0]:
                last = k
            else:
                break
        run = [k for k in range(i, last + 1) if symbol(k)]
        while run and relation(run[0]):  # a relation at either end stays text
            run.pop(0)
        while run and relation(run[-1]):
            run.pop()
        if not any(toks[k][3] == "script" for k in run):
            out.append(plain(i))
            i += 1
            continue
        first, end = run[0], run[-1]
        out.extend(plain(k) for k in range(i, first))
        formula = "".join(toks[k][1] for k in range(first, end + 1))
        out.append(html.escape(toks[first][0]) + _m(formula) + html.escape(toks[end][2]))
        i = end + 1
    return "".join(out)


# ------------------------------------------------------------------------------ references
_PRIVATE_REFS: tuple[tuple[re.Pattern[str], str], ...] = (
    # parenthesised pointers to the project's own notes: dropped
    (
        re.compile(
            r"\s*\((?:see\s+)?(?:the\s+)?(?:theory\.md|README|DEVELOPERS|BENCHMARKS|CHANGELOG)"
            r"(?:\.md)?[^()]*\)"
        ),
        "",
    ),
    (re.compile(r"\s*\((?:the\s+)?(?:paper's\s+)?OQ\d+\)"), ""),
    (re.compile(r"\s*\(Issue \d+\)"), ""),
    # the same pointers in running text: said in words
    (re.compile(r"\btheory\.md(?:\s*§\s*[\d.]+(?:\s*,\s*§\s*[\d.]+)*)?"), "specurate's derivation"),
    (re.compile(r"\b(?:the\s+)?(?:paper's\s+)?OQ\d+\b"), "an open question of the paper"),
    (re.compile(r"\bIssue \d+'s\s+"), "the "),
    (re.compile(r"\bIssue \d+\b"), "an earlier change"),
    (re.compile(r"\s*\((?:see\s+)?(?:the\s+)?README\)"), ""),
)


def public_text(text: str) -> str:
    """``text`` without references to the project's internal notes (theory.md sections, open
    questions "OQ1", issue numbers, the README): dropped when parenthesised, said in words
    otherwise."""
    for pattern, repl in _PRIVATE_REFS:
        text = pattern.sub(repl, text)
    return text


def _source(src: Any) -> str:
    """Where a claim of the simulator's paper table comes from, for a reader of the report."""
    s = str(src or "").strip()
    if not s:
        return "—"
    if s.startswith("theory.md"):
        return "specurate's derivation"
    if re.fullmatch(r"[§A-Z0-9./\s]+", s):
        return f"paper {s}"
    return public_text(s)


# ------------------------------------------------------------------------------ page parts
def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def _figure(path: Path | None, caption: str = "") -> str:
    if path is None or not path.exists():
        return ""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{_img(path)}{cap}</figure>"


def _table(head: str, rows: str) -> str:
    """A table in its horizontal scroll box (narrow windows scroll the table, not the page)."""
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>{rows}</tbody></table></div>'


def _created(value: Any) -> str:
    """The run's ISO timestamp as ``YYYY-MM-DD HH:MM UTC`` (as given when not ISO)."""
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return html.escape(str(value))
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _yes(v: Any, yes: str = "yes", no: str = "NO") -> str:
    return "—" if v is None else (yes if v else no)


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
line-height:1.45;color:#222}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.6em;font-size:1.3em}
.scroll{overflow-x:auto;max-width:100%;margin:1em 0}
table{border-collapse:collapse;font-size:90%}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}
th{white-space:normal;vertical-align:bottom;background:#f6f6f6;font-weight:600}
th{min-width:3.5em}
td:first-child,th:first-child,th.text,th.left,td.left{text-align:left}
td:first-child{min-width:7em}td.text{text-align:left;min-width:12em}
.nw{white-space:nowrap}
img{max-width:100%;height:auto;display:block}
figure{margin:1em 0;max-width:100%}
figcaption{font-size:90%;color:#555;margin-top:.3em}
.note{color:#555;font-size:90%}
dl.symbols{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;font-size:92%}
dl.symbols dt{font-weight:600}dl.symbols dd{margin:0}
math{font-size:1.05em}
@media (max-width:900px){body{margin:1em auto}figure{width:100%;margin:1em 0}}
@media (max-width:520px){dl.symbols{grid-template-columns:1fr}dl.symbols dd{margin:0 0 .4em 1em}}
"""


def _header_html(doc: dict[str, Any], ci: float) -> str:
    data_name = html.escape(str(doc.get("data_name") or "the built-in data"))
    notes = "".join(
        f'<p class="note"><b>{rich_text(n)}</b></p>' for n in doc.get("notes", []) or []
    )
    return f"""<h1>specurate: spectral study of {data_name}</h1>
<p class="note">specurate {html.escape(str(doc.get("specurate_version", "")))} ·
{_created(doc.get("created"))} · {"quick" if doc.get("quick") else "full"} run ·
seed {html.escape(str(doc.get("seed", "—")))} · CIs: {round(ci * 100)}%, {_ci_method(doc)}.
"The paper": {PAPER}; its sections are cited as "paper §1", "paper A.3".</p>
{notes}"""


def _ci_method(doc: dict[str, Any]) -> str:
    """How the report's intervals were made, from the parts' own records."""
    rw = {r.get("ci_method") for r in doc["parts"].values() if "delta_b" in r}
    spectra = "spectra by a delete-one-group jackknife (fit range re-selected in every replicate)"
    if not rw:
        return spectra
    if rw == {"jackknife"}:
        return (
            spectra
            + ", weightings by the same jackknife, paired (T and T_w lose the same examples)"
        )
    return spectra + ", weightings by a paired bootstrap over examples"


def _findings_html(doc: dict[str, Any]) -> str:
    """ "What this data says": one plain sentence per finding, formulas as MathML
    (:func:`specurate.report.findings.findings`)."""
    from specurate.report.findings import findings

    # data names are file names ("my_data.parquet"), not formulas: kept out of rich_text
    names = {str(doc.get("data_name") or "")} | {
        str(r.get("data")) for r in doc["parts"].values() if r.get("data")
    }
    names.discard("")
    split = re.compile("(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + ")")

    def sentence(text: str) -> str:
        if not names:
            return rich_text(text)
        pieces = split.split(text)  # odd positions: a data name
        return "".join(
            f"<code>{html.escape(x)}</code>" if i % 2 else rich_text(x)
            for i, x in enumerate(pieces)
        )

    items = "".join(f"<li>{sentence(t)}</li>" for t in findings(doc))
    if not items:
        return ""
    return f'<h2 id="findings">What this data says</h2>\n<ul class="findings">{items}</ul>'


def _symbols_html() -> str:
    """The symbols every section uses, defined once."""
    items = (
        (_m("k"), "rank of a mode (eigen-direction of the data), 1 = largest eigenvalue"),
        (_m("λ_k"), "k-th eigenvalue of the data's kernel operator T"),
        (_m("b"), f"spectral exponent: {_m('λ_k ∝ k^{-b}')}"),
        (
            _m("a"),
            f"target exponent: the target's energy on mode k, {_m('λ_k w_k^2 ∝ k^{-a}')} "
            f"({_m('w_k')}: the target's coefficient on mode k)",
        ),
        (
            _m("L, t"),
            f"test loss and training time (passes or steps); uniform training gives "
            f"{_m('L ∝ t^{-(a-1)/b}')}",
        ),
        (
            _m("k^*"),
            f"the learning frontier: how many modes are learned at time t (a mode counts once "
            f"its loss fell by the factor {_m('e^{-2κ}')})",
        ),
        (_m("κ"), "the learning threshold of the frontier and of the oracle's rule"),
        (
            _m("ρ"),
            f"the frontier's speed: the eigenvalue of the last learned mode falls as "
            f"{_m('t^{-ρ}')}, so {_m('k^* ∝ t^{ρ/b}')}; ρ = 1 for gradient flow",
        ),
        (
            _m("w, C"),
            "a curation weighting of the examples (mean weight 1) and its largest weight",
        ),
        (_m("T_w"), "the operator of the weighted data (same eigen-directions, new eigenvalues)"),
        (
            _m("K₀"),
            f"end of the finite region: beyond rank K₀ the ratio {_m('λ_k(T_w)/λ_k(T)')} "
            f"is flat (a constant speed-up, no change of exponent)",
        ),
        (_m("α"), f"a measured loss exponent, {_m('L ∝ t^{-α}')}"),
        (_m("N, p_k"), "number of modes of a simulated or mode-local task, and mode k's frequency"),
    )
    rows = "".join(f"<dt>{s}</dt><dd>{d}</dd>" for s, d in items)
    return f'<h2>Symbols</h2>\n<dl class="symbols">{rows}</dl>'


#: "p = 8e-09" in a spectrum's shape note is the model comparison's p-value
_P_VALUE = re.compile(r"(?<![\w-])p = ")


def _spectra_html(parts: dict[str, Any]) -> str:
    rows: list[str] = []
    shape_notes: list[str] = []
    for key, r in parts.items():
        if key.startswith("reweight") or r.get("kind", "spectrum") != "spectrum" or "b" not in r:
            continue
        truth = r.get("truth") or {}
        t = ", ".join(f"{k}={fmt(v, 'g')}" for k, v in truth.items()) or "—"
        fr = r.get("fit_range") or (None, None)
        rows.append(
            f"<tr><td>{html.escape(str(r.get('title', key)))}</td>"
            f"<td>{html.escape(str(r.get('kernel', '—')))}</td>"
            f"<td>{fmt(r.get('b'), '.3f')}</td><td>{fmt_ci(r.get('b_ci'))}</td>"
            f"<td>{fmt_ci(r.get('b_ci_total'))}</td>"
            f"<td>{fmt(fr[0], 'g')}–{fmt(fr[1], 'g')}</td>"
            f"<td>{fmt(r.get('a'), '.3f')}</td><td>{fmt_ci(r.get('a_ci'))}</td>"
            f"<td>{fmt(r.get('learning_exponent'), '.3f')}</td>"
            f"<td>{html.escape(str(r.get('shape') or '—'))}</td><td>{t}</td></tr>"
        )
        if r.get("shape_note") and not r.get("single_power_law", True):
            shape_notes.append(
                f"<li>{html.escape(str(r.get('title', key)))}: "
                f"{rich_text(_P_VALUE.sub('p-value = ', r['shape_note']))}</li>"
            )
    if not rows:
        return ""
    head = (
        "<tr><th>data</th><th>kernel</th><th>b</th><th>b CI</th>"
        "<th>b CI incl. fit-range spread</th><th>fit range (ranks)</th><th>a</th>"
        "<th>a CI</th><th>(a−1)/b</th><th>shape</th><th>planted</th></tr>"
    )
    notes = f"<ul>{''.join(shape_notes)}</ul>" if shape_notes else ""
    return f"""<h2>Spectral exponents</h2>
<p>Eigenvalues {_m("λ_k ∝ k^{-b}")}; target energy per mode {_m("λ_k w_k^2 ∝ k^{-a}")};
gradient flow then predicts a loss {_m("L(t) ∼ t^{-(a-1)/b}")}. "planted": the exponents a
synthetic data set was generated with.</p>
{_table(head, "".join(rows))}
{notes}"""


def _reweight_html(parts: dict[str, Any]) -> str:
    """One row per weighting: b and b_w on the SAME rank range (the one b_w − b uses), so the
    row's numbers agree with each other; the data set's own b (its spectrum's range) is in the
    spectra table."""
    rows = []
    for key, r in parts.items():
        if not key.startswith("reweight") or "delta_b" not in r:
            continue
        rng = r.get("common_range") or r.get("fit_range_w")
        rows.append(
            f"<tr><td>{html.escape(str(r.get('title', key)))}</td><td>{fmt(r.get('C'), '.2f')}</td>"
            f"<td>{'—' if not rng else f'{rng[0]}–{rng[1]}'}</td>"
            f"<td>{fmt(r.get('b_common', r.get('b')), '.3f')}</td>"
            f"<td>{fmt(r.get('b_w'), '.3f')}</td>"
            f"<td>{fmt(r.get('delta_b'), '+.3f')}</td>"
            f"<td>{fmt_ci(r.get('delta_b_ci'))}</td>"
            f"<td>{_yes(r.get('loewner_upper_ok'))}</td>"
            f"<td>{fmt(r.get('max_eig_ratio'), '.3f')}</td>"
            f"<td>{fmt(r.get('tail_ratio'), '.3f')}</td>"
            f"<td>{fmt(r.get('k0'), 'g')}</td><td>{fmt(r.get('frontier_gain'), '.3f')}</td>"
            f"<td>{_yes(r.get('narrowing'), 'YES', 'no')}</td></tr>"
        )
    if not rows:
        return ""
    head = (
        f"<tr><th>weighting</th><th>C</th><th>ranks</th><th>b on these ranks</th>"
        f"<th>{_m('b_w')}</th><th>{_m('b_w - b')}</th><th>CI</th><th>Loewner bound</th>"
        "<th>max ratio</th><th>tail ratio</th><th>K₀</th><th>frontier gain</th>"
        "<th>narrowing</th></tr>"
    )
    method = next((r.get("ci_method") for r in parts.values() if "delta_b" in r), None)
    how = (
        "a paired delete-one-group jackknife (the same groups of examples dropped from T and "
        "T_w; the spectra's method)"
        if method == "jackknife"
        else "a paired bootstrap over examples"
    )
    return f"""<h2>Curation weights as operators ({_m("T_w = M_{√w} T M_{√w}")})</h2>
<p>Theorem 1 of the paper: for {_m("0 ≤ w ≤ C")}, {_m("λ_k(T_w) ≤ C λ_k")} for all k
("Loewner bound": the measured spectra obey it). b and {_m("b_w")} are fitted on the same ranks
(the original spectrum's fit range, cut where the weighted spectrum stops being resolved), so
{_m("b_w - b")} compares like with like; its interval comes from {how}. K₀ is the largest rank
where {_m("λ_k(T_w)/λ_k")} departs from its tail value by more than the tolerance; "frontier
gain" is the largest speed-up of the frontier inside ranks 1..K₀ relative to the tail;
"narrowing" flags {_m("b_w - b > 0")} beyond its CI.</p>
{_table(head, "".join(rows))}"""


def _plots_html(parts: dict[str, Any], plots: dict[str, Path]) -> str:
    figs = "\n".join(
        _figure(plots.get(k), html.escape(str(parts[k].get("title", k))))
        for k in parts
        if parts[k].get("kind") not in ("training", "separation", "simulate")
    )
    return f"<h2>Spectra and reweighting: plots</h2>\n{figs}" if figs.strip() else ""


def render_html(doc: dict[str, Any], plots: dict[str, Path]) -> str:
    """Self-contained HTML report of a study (tables + embedded PNG plots)."""
    parts = doc["parts"]
    ci = next((r["ci"] for r in parts.values() if isinstance(r.get("ci"), float)), 0.9)
    # the page, top to bottom: one HTML string per section (a new section is one more entry)
    sections: list[str] = [_header_html(doc, ci), _findings_html(doc), _symbols_html()]
    sections += [
        _separation_html(r, plots.get(k)) for k, r in parts.items() if r.get("kind") == "separation"
    ]
    sections += [_spectra_html(parts), _reweight_html(parts)]
    sections += [
        _simulate_html(r, plots.get(k)) for k, r in parts.items() if r.get("kind") == "simulate"
    ]
    sections += [
        _training_html(r, plots.get(k)) for k, r in parts.items() if r.get("kind") == "training"
    ]
    sections.append(_plots_html(parts, plots))
    title = f"specurate report: {doc.get('data_name') or 'built-in data'}"
    return _page(title, sections)


def _page(title: str, sections: list[str]) -> str:
    body = "\n".join(s for s in sections if s)
    # an interval "[lo, hi]" never breaks inside (a cell breaks before it instead)
    body = re.sub(r"\[([^\[\]<>\n]{1,60})\]", r'<span class="nw">[\1]</span>', body)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
{body}
</body></html>
"""


def _simulate_html(r: dict[str, Any], plot: Path | None = None) -> str:
    """Paper-vs-measured and policy tables of a simulator part."""

    def alternative(p: dict[str, Any]) -> str:
        if p.get("alternative") is None:
            return "—"
        return f"{rich_text(p.get('alternative_formula') or '')}: {fmt(p['alternative'], '.4g')}"

    paper = "".join(
        f'<tr><td class="text">{rich_text(p["claim"])}</td>'
        f'<td class="left">{_source(p.get("source"))}</td>'
        f"<td>{fmt(p.get('paper'), '.4g')}</td><td>{fmt(p.get('measured'), '.4g')}</td>"
        f'<td>{_yes(p.get("agrees"))}</td><td class="text">{alternative(p)}</td>'
        f'<td class="text">{rich_text(p.get("note") or "") or "—"}</td></tr>'
        for p in r["paper_vs_measured"]
    )
    targets = r["target_losses"]
    head = "".join(f"<th>speed-up @ L = {fmt(t, '.3g')}</th>" for t in targets)
    pol = "".join(
        f"<tr><td>{html.escape(p['label'])}</td><td>{fmt(p['loss_exponent'], '.4f')}</td>"
        + "".join(f"<td>{fmt(v)}</td>" for v in p["speedup_at_target"].values())
        + f"<td>{fmt(p['largest_weight'])}</td><td>{fmt(p['weight_growth_exponent'], '.2f')}</td>"
        f"<td>{fmt(p['exponent_gain_recovered'], '.2f')}</td>"
        f"<td>{fmt(p['time_gain_recovered'], '.2f')}</td></tr>"
        for p in r["policies"]
    )
    paper_head = (
        '<tr><th>claim</th><th class="left">source</th><th>paper\'s value</th><th>measured</th>'
        '<th>agrees</th><th class="text">alternative</th><th class="text">note</th></tr>'
    )
    pol_head = (
        f"<tr><th>policy</th><th>loss exponent</th>{head}<th>largest weight</th>"
        "<th>weight growth exponent</th><th>exponent gain recovered</th>"
        "<th>log-time gain recovered</th></tr>"
    )
    return f"""<h2>Learning dynamics under curation: simulated on {html.escape(r["data"])}'s
exponents (a = {fmt(r["measured_a"], ".3f")}, b = {fmt(r["measured_b"], ".3f")},
{html.escape(str(r["budget"]))} budget)</h2>
<p>Exact mode-space simulation (<code>specurate simulate --compare</code>) of gradient flow
(ρ = 1). First, each formula of the paper against the simulator's measurement ("alternative":
a formula that matches where the paper's does not). Then, per policy: its loss exponent, its
compute speed-up over uniform sampling at the baseline's losses, the largest mode weight it
used and that weight's growth exponent, and the fraction of the oracle's exponent / log-time
gain it recovers.</p>
{_table(paper_head, paper)}
{_table(pol_head, pol)}
{_figure(plot)}"""


def _training_html(r: dict[str, Any], plot: Path | None) -> str:
    """Passes-to-target table and figure of a real-training part."""

    def ci(v: Any, lo: Any, hi: Any, spec: str = ".3g") -> str:
        return fmt_est(v, lo, hi, spec, spec)

    rows = "".join(
        f"<tr><td>{html.escape(x['strategy'])}</td><td>{fmt(x['n_seeds'], 'g')}</td>"
        f"<td>{ci(x['test_loss'], x['test_loss_lo'], x['test_loss_hi'])}</td>"
        f"<td>{ci(x['test_acc'], x['test_acc_lo'], x['test_acc_hi'])}</td>"
        f"<td>{fmt(x['passes_to_target'])}</td>"
        f"<td>{html.escape(fmt_speedup(x))}</td>"
        f"<td>{fmt(x['scoring_passes'], '.2f')}</td><td>{fmt(x['wall_ratio'], '.2f')}</td>"
        f"<td>{html.escape(fmt_speedup(x, 'wall_speedup'))}</td>"
        f"<td>{html.escape(fmt_speedup(x, 'acc_speedup', reached='acc_n_reached'))}</td>"
        f"<td>{fmt(x['oracle_fraction'], '.2f')}</td>"
        f"<td>{ci(x['loss_exponent'], x['loss_exponent_lo'], x['loss_exponent_hi'], '.2f')} "
        f"({fmt(x['exponent_range'][0], '.2g')}–{fmt(x['exponent_range'][1], '.2g')})</td></tr>"
        for x in r["summary"]
    )
    rates = ", ".join(f"{html.escape(k)} {fmt(v, 'g')}" for k, v in r["lr"].items())
    grid = r.get("lr_grid")
    grid_txt = ", ".join(fmt(v, "g") for v in grid) if isinstance(grid, list | tuple) else "—"
    head = (
        "<tr><th>strategy</th><th>seeds</th><th>test loss</th><th>test acc</th>"
        "<th>passes to uniform's loss</th><th>speed-up</th><th>scoring passes</th>"
        "<th>wall ratio</th><th>wall-clock speed-up</th>"
        "<th>speed-up at acc − 0.3 pt</th><th>oracle gain recovered</th>"
        f"<th>loss exponent x, {_m('L ∝ passes^{-x}')} [CI] (fit range)</th></tr>"
    )
    return f"""<h2>{html.escape(r["title"])}</h2>
<p>{rich_text(r["description"])}; budget {fmt(r["budget_passes"], "g")} passes (backward +
scoring), SGD, each strategy at its best learning rate of {{{grid_txt}}} (tuned on an
independent draw of the task: {rates}), {fmt(r["seeds"], "g")} seeds
(<code>specurate bench</code>). Speed-up = uniform's passes / the strategy's passes to reach
uniform's final test loss, paired by seed: geometric mean [90% t CI] over the seeds that reach
it, (reached/compared); a seed that never reaches it is censored at its budget, and "all ≤ B"
bounds the speed-up over every seed. Wall ratio includes the strategy's own work. The oracle
sees the exact current loss of every example for free (reference only).</p>
{_table(head, rows)}
{_rules_html(r.get("lr_rules"))}
{_figure(plot)}"""


def _rules_html(rules: dict[str, Any] | None) -> str:
    """Best vs best under each learning-rate rule, and whether the leader moves."""
    if not rules:
        return ""
    names = list(rules)
    first = rules[names[0]]["summary"]
    by = {rule: {x["strategy"]: x for x in rules[rule]["summary"]} for rule in names}
    head = "".join(
        f"<th>{html.escape(n)}: lr</th><th>{html.escape(n)}: speed-up</th>" for n in names
    )
    body = ""
    for x in first:
        cells = ""
        for rule in names:
            y = by[rule].get(x["strategy"])
            cells += (
                "<td>—</td><td>—</td>"
                if y is None
                else f"<td>{fmt(y['lr'])}</td><td>{html.escape(fmt_speedup(y))}</td>"
            )
        body += f"<tr><td>{html.escape(x['strategy'])}</td>{cells}</tr>"
    verdict = rule_verdict({rule: rules[rule].get("leader") for rule in names})
    verdict = verdict[0].upper() + verdict[1:] + "."
    return f"""<p>Learning-rate rules. <b>margin</b>: a rate counts only if twice it also trains
(a factor-2 distance from the edge of stability); <b>best</b>: the best rate that trains on every
tuning seed. The margin rule penalizes a strategy whose best rate sits next to an unstable one,
uniform's stability edge included. The leader is the fastest strategy among those that reach
uniform's final loss on every seed; the free-look oracle is a reference, not a rival.
{rich_text(verdict)}</p>
{_table(f"<tr><th>strategy</th>{head}</tr>", body)}"""


def _separation_html(r: dict[str, Any], plot: Path | None) -> str:
    """The static-vs-dynamic verdict, its two tables and its figure."""
    c = r["config"]
    budgets = c["budgets"]

    def cell(v: Any, spec: str = ".3g") -> str:
        return "—" if v is None else html.escape(separation_cell(v, False, spec))

    head = "".join(f"<th>{b} steps</th>" for b in budgets)
    free = r.get("unbound", {})
    rows = "".join(
        f"<tr><td>{html.escape(separation_label(n))}</td>"
        + "".join(
            f"<td>{html.escape(separation_cell(v, b in free.get(n, ())))}</td>"
            for b, v in zip(budgets, points, strict=True)
        )
        + f"<td>{cell(r['exponent'].get(n), '.3f')}</td>"
        f"<td>{cell(r['exponent_late'].get(n), '.3f')}</td>"
        f"<td>{fmt(r['max_weight'].get(n), '.3g')}</td>"
        f"<td>{cell(r['wall_speedup'][n][-1] if n in r['wall_speedup'] else None)}</td></tr>"
        for n, points in r["speedup"].items()
    )
    verdict = "".join(f"<li>{rich_text(v)}</li>" for v in r["verdict"])
    table_head = (
        f"<tr><th>strategy</th>{head}<th>α, all budgets</th><th>α, last decade</th>"
        f"<th>largest weight</th><th>wall-clock speed-up @ {budgets[-1]}</th></tr>"
    )
    uniform = (c["a"] - 1) / c["b"]
    return f"""<h2>Static vs dynamic curation: the paper's central claim, in real training</h2>
<ul>{verdict}</ul>
<p>A truly mode-local model (a torch embedding: one parameter per mode) trained by SGD on fresh
samples: {c["modes"]} modes with frequencies {_m(f"p_k ∝ k^{{-{c['b']:g}}}")} and energies
∝ {_m(f"k^{{-{c['a']:g}}}")}, batches of {c["batch"]}, rate {c["lr"]:g}, {c["seeds"]} seeds. A
strategy's weight on mode k is {_m("q_k/p_k")}. <b>static C = c</b>: for each budget,
the best allocation any static rule bounded by c can use (solved exactly, with the true energies:
an upper bound on every static rule); <b>greedy</b>: the same solve repeated during training on
the losses the training batches show, with no bound; <b>oracle</b>: greedy on the exact losses;
<b>frontier</b>: specurate's frontier rule with a growing bound, <b>frontier-fixed</b> with a fixed
bound {c["cap0"]:g}; <b>loss</b>: loss-proportional; <b>balanced</b>: static balancing at the
greedy rule's largest weight. Speed-up: the steps uniform needs to reach the strategy's loss at
the budget, over the budget (90% t CI over seeds). α: the loss exponent,
{_m("L ∝ steps^{-α}")}; Theorem 1 says a bounded rule's α returns to uniform's
(a−1)/b = {uniform:.3f}. Wall-clock speed-up counts each strategy's own planning time.</p>
{_table(table_head, rows)}
<p class="note">* the bound does not bind at this budget: the same run as the unbounded rule.</p>
{_figure(plot)}"""
