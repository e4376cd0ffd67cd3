"""Snippet matching accuracy on a delivered tree built at test time: whole modules and functions
copied from installed distributions (click, jinja2, rich, markupsafe, werkzeug — Python, C and
JavaScript), headers stripped, re-indented, comments rewritten, line endings changed, mixed with own
code. Recall of copied lines >= 95%, false positives <= 1% of own lines; deterministic; invariant to
line endings, indentation and comment edits; boilerplate filtered. Nothing third-party is committed:
the copies are made from the installed packages into a temporary directory."""

from __future__ import annotations

import ast
import inspect
import io
import random
import re
import sys
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from verifier.kb import KnowledgeBase, build_kb, match_texts
from verifier.kb.normalize import normalize

DISTS = ["click", "jinja2", "rich", "markupsafe", "werkzeug"]

pytestmark = pytest.mark.slow

OWN_INVENTORY = '''
from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass, asdict
from datetime import datetime, timezone
from pathlib import Path


class StockError(Exception):
    """Raised when a stock movement cannot be applied."""


@dataclass(frozen=True)
class Item:
    id: int
    sku: str
    name: str
    quantity: int
    location: str | None = None


SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    location TEXT
);
CREATE TABLE IF NOT EXISTS movements (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    delta INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class Warehouse:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    def add_item(self, sku: str, name: str, quantity: int = 0, location: str | None = None) -> Item:
        if not sku or not sku.isascii():
            raise StockError(f"bad sku {sku!r}")
        if quantity < 0:
            raise StockError("initial quantity cannot be negative")
        try:
            cur = self.db.execute(
                "INSERT INTO items (sku, name, quantity, location) VALUES (?, ?, ?, ?)",
                (sku, name, quantity, location))
        except sqlite3.IntegrityError:
            raise StockError(f"sku {sku} already registered") from None
        self.db.commit()
        return Item(cur.lastrowid, sku, name, quantity, location)

    def get(self, item_id: int) -> Item | None:
        row = self.db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return Item(**dict(row)) if row else None

    def find_by_sku(self, sku: str) -> Item | None:
        row = self.db.execute("SELECT * FROM items WHERE sku = ?", (sku,)).fetchone()
        return Item(**dict(row)) if row else None

    def move(self, item_id: int, delta: int, reason: str) -> Item:
        item = self.get(item_id)
        if item is None:
            raise StockError(f"no item {item_id}")
        if item.quantity + delta < 0:
            raise StockError(f"only {item.quantity} of {item.sku} in stock")
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db:
            self.db.execute("UPDATE items SET quantity = quantity + ? WHERE id = ?",
                            (delta, item_id))
            self.db.execute("INSERT INTO movements (item_id, delta, reason, at) "
                            "VALUES (?, ?, ?, ?)", (item_id, delta, reason, stamp))
        return self.get(item_id)

    def history(self, item_id: int, limit: int = 50) -> list[dict]:
        rows = self.db.execute(
            "SELECT delta, reason, at FROM movements WHERE item_id = ? ORDER BY id DESC LIMIT ?",
            (item_id, limit)).fetchall()
        return [dict(row) for row in rows]

    def low_stock(self, threshold: int) -> list[Item]:
        rows = self.db.execute("SELECT * FROM items WHERE quantity < ? ORDER BY quantity, sku",
                               (threshold,)).fetchall()
        return [Item(**dict(row)) for row in rows]

    def relocate(self, item_id: int, location: str) -> Item:
        if not location.strip():
            raise StockError("location must not be blank")
        with self.db:
            changed = self.db.execute("UPDATE items SET location = ? WHERE id = ?",
                                      (location.strip().upper(), item_id)).rowcount
        if not changed:
            raise StockError(f"no item {item_id}")
        return self.get(item_id)


def import_csv(warehouse: Warehouse, path: Path) -> tuple[int, list[str]]:
    added, problems = 0, []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                quantity = int(row.get("quantity") or 0)
                warehouse.add_item(row["sku"].strip(), row["name"].strip(), quantity,
                                   (row.get("location") or "").strip() or None)
                added += 1
            except (KeyError, ValueError, StockError) as err:
                problems.append(f"line {number}: {err}")
    return added, problems


def export_csv(warehouse: Warehouse, path: Path) -> int:
    rows = warehouse.db.execute("SELECT * FROM items ORDER BY sku").fetchall()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "sku", "name", "quantity", "location"])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(Item(**dict(row))))
    return len(rows)


def reorder_plan(items: list[Item], target: int, pack: int = 12) -> dict[str, int]:
    plan = {}
    for item in items:
        missing = target - item.quantity
        if missing <= 0:
            continue
        packs = -(-missing // pack)
        plan[item.sku] = packs * pack
    return dict(sorted(plan.items()))


def valuation(items: list[Item], prices: dict[str, float]) -> tuple[float, list[str]]:
    total, unpriced = 0.0, []
    for item in items:
        price = prices.get(item.sku)
        if price is None:
            unpriced.append(item.sku)
            continue
        total += round(price * item.quantity, 2)
    return round(total, 2), sorted(unpriced)


def parse_command(line: str) -> tuple[str, list[str]]:
    words = line.strip().split()
    if not words:
        raise StockError("empty command")
    verb, args = words[0].lower(), words[1:]
    known = {"add": 3, "move": 3, "show": 1, "low": 1, "where": 2}
    if verb not in known:
        raise StockError(f"unknown command {verb}")
    if len(args) < known[verb]:
        raise StockError(f"{verb} needs {known[verb]} arguments, got {len(args)}")
    return verb, args


def run_command(warehouse: Warehouse, line: str) -> str:
    verb, args = parse_command(line)
    if verb == "add":
        item = warehouse.add_item(args[0], args[1], int(args[2]))
        return f"added #{item.id} {item.sku}"
    if verb == "move":
        item = warehouse.move(int(args[0]), int(args[1]), " ".join(args[2:]))
        return f"{item.sku}: {item.quantity} left"
    if verb == "show":
        item = warehouse.get(int(args[0]))
        return "not found" if item is None else f"{item.sku} {item.name} {item.quantity}"
    if verb == "where":
        item = warehouse.relocate(int(args[0]), args[1])
        return f"{item.sku} now at {item.location}"
    low = warehouse.low_stock(int(args[0]))
    return "\\n".join(f"{i.sku:<10} {i.quantity:>5}" for i in low) or "nothing below threshold"
'''

OWN_REPORTS = '''
from collections import Counter, defaultdict


def movement_summary(movements):
    by_reason = Counter()
    by_day = defaultdict(int)
    for move in movements:
        by_reason[move["reason"]] += abs(move["delta"])
        by_day[move["at"][:10]] += move["delta"]
    busiest = max(by_day.items(), key=lambda kv: abs(kv[1]), default=(None, 0))
    return {"by_reason": dict(by_reason.most_common()), "busiest_day": busiest[0],
            "net": sum(by_day.values())}


def render_table(rows, columns, widths=None):
    widths = widths or {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    head = "  ".join(c.upper().ljust(widths[c]) for c in columns)
    rule = "  ".join("-" * widths[c] for c in columns)
    body = ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\\n".join([head, rule, *body])


def turnover(opening, closing, shipped):
    average = (opening + closing) / 2
    if average == 0:
        return 0.0 if shipped == 0 else float("inf")
    return round(shipped / average, 3)


def aging_buckets(items, today, edges=(30, 90, 180)):
    buckets = {f"<={edge}d": [] for edge in edges}
    buckets[f">{edges[-1]}d"] = []
    for item in items:
        age = (today - item["received"]).days
        for edge in edges:
            if age <= edge:
                buckets[f"<={edge}d"].append(item["sku"])
                break
        else:
            buckets[f">{edges[-1]}d"].append(item["sku"])
    return buckets
'''

OWN_JS = '''
export function formatQuantity(value, unit = "pcs") {
  if (!Number.isFinite(value)) {
    throw new TypeError(`quantity must be a number, got ${value}`);
  }
  const rounded = Math.round(value * 100) / 100;
  return `${rounded.toLocaleString("zh-CN")} ${unit}`;
}

export async function loadItems(baseUrl, { signal } = {}) {
  const response = await fetch(`${baseUrl}/api/items`, { signal });
  if (!response.ok) {
    throw new Error(`items request failed: ${response.status}`);
  }
  const items = await response.json();
  return items
    .filter((item) => item.quantity >= 0)
    .sort((a, b) => a.sku.localeCompare(b.sku));
}

export function renderRows(table, items) {
  table.replaceChildren();
  for (const item of items) {
    const row = table.insertRow();
    row.insertCell().textContent = item.sku;
    row.insertCell().textContent = item.name;
    row.insertCell().textContent = formatQuantity(item.quantity);
    if (item.quantity < 5) row.classList.add("low");
  }
  return items.length;
}
'''


# -- making the delivered tree ----------------------------------------------------------------------
@dataclass
class _File:
    path: str
    blocks: list[tuple[str, bool]] = field(default_factory=list)  # (text, copied)

    def add(self, text: str, copied: bool) -> None:
        self.blocks.append((text.strip("\n") + "\n", copied))

    def render(self, newline: str = "\n") -> tuple[str, set[int], set[int]]:
        """Text plus the physical line numbers of copied and own lines."""
        lines, copied, own = [], set(), set()
        for text, is_copy in self.blocks:
            for line in text.split("\n")[:-1] + [""]:
                lines.append(line)
                (copied if is_copy else own).add(len(lines))
        return newline.join(lines), copied, own


def _strip_python_header(source: str) -> str:
    tree = ast.parse(source)
    first = tree.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        return "\n".join(source.splitlines()[first.end_lineno:])
    return source


def _rewrite_python_comments(source: str) -> str:
    """Replace every comment with other words and put a new comment line above each def."""
    out = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    comments = {tok.start: tok for tok in tokens if tok.type == tokenize.COMMENT}
    for number, line in enumerate(lines, start=1):
        for (row, col), tok in comments.items():
            if row == number:
                line = line[:col] + "# reviewed by our team, see ticket 4711" + line[tok.end[1]:]
        stripped = line.lstrip()
        if stripped.startswith(("def ", "async def ")):
            out.append(line[:len(line) - len(stripped)] + "# helper used by the report layer\n")
        out.append(line)
    return "".join(out)


def _reindent(source: str, unit: str) -> str:
    """Leading groups of four spaces become ``unit`` (two spaces or a tab)."""
    out = []
    for line in source.split("\n"):
        body = line.lstrip(" ")
        spaces = len(line) - len(body)
        out.append(unit * (spaces // 4) + " " * (spaces % 4) + body)
    return "\n".join(out)


def _transform_python(source: str, unit: str) -> str:
    result = _reindent(_rewrite_python_comments(_strip_python_header(source)), unit)
    compile(result, "<copied>", "exec")  # still valid Python: a realistic copy
    return result


def _transform_c_like(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "/* adapted for the inventory service */", source, flags=re.S)
    source = re.sub(r"(?m)//.*$", "// ours now", source)
    return _reindent(source.replace("\t", "    "), "  ")


def _function(obj) -> str:
    return textwrap.dedent(inspect.getsource(obj))


def _delivery() -> list[tuple[_File, str]]:
    """The delivered files and the newline each is written with."""
    import click.termui
    import click.utils
    import jinja2.filters
    import jinja2.utils
    import markupsafe
    import rich.cells
    import rich.text
    import werkzeug

    jinja_utils = _transform_python(Path(jinja2.utils.__file__).read_text(), "  ")
    rich_cells = _transform_python(Path(rich.cells.__file__).read_text(), "\t")
    speedups = (Path(markupsafe.__file__).parent / "_speedups.c").read_text()
    debugger = (Path(werkzeug.__file__).parent / "debug/shared/debugger.js").read_text()
    functions = [click.utils.echo, click.termui.confirm, jinja2.filters.do_truncate,
                 jinja2.filters.do_wordwrap, rich.text.Text.wrap, rich.text.Text.divide]
    files = []
    whole = _File("src/inventory/textutil.py")
    whole.add(jinja_utils, True)
    files.append((whole, "\n"))
    cells = _File("src/inventory/cells.py")
    cells.add(rich_cells, True)
    files.append((cells, "\r\n"))
    mixed = _File("src/inventory/service.py")
    own_parts = OWN_INVENTORY.split("\n\n\n")
    for at, part in enumerate(own_parts):
        mixed.add(part, False)
        if at < len(functions):
            mixed.add(_transform_python(_function(functions[at]), "  "), True)
    files.append((mixed, "\n"))
    reports = _File("src/inventory/reports.py")
    reports.add(OWN_REPORTS, False)
    files.append((reports, "\n"))
    native = _File("native/escape.c")
    native.add(_transform_c_like(speedups), True)
    files.append((native, "\r\n"))
    web = _File("web/app.js")
    web.add(OWN_JS, False)
    web.add(_transform_c_like(debugger), True)
    files.append((web, "\n"))
    return files


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    build_kb(out, python_envs=[sys.prefix], only=DISTS, jobs=2)
    return out


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> dict[str, tuple[str, set[int], set[int]]]:
    root = tmp_path_factory.mktemp("delivery")
    out = {}
    for spec, newline in _delivery():
        text, copied, own = spec.render(newline)
        path = root / spec.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        out[spec.path] = (path.read_bytes().decode("utf-8"), copied, own)
    return out


def _effective(path: str, text: str) -> set[int]:
    return set(normalize(text, path).numbers)


# -- the tests ------------------------------------------------------------------------------------
def test_recall_and_false_positives(kb_path: Path, delivery):
    found = match_texts(kb_path, [(path, text) for path, (text, _, _) in delivery.items()])
    copied_total = copied_hit = own_total = own_hit = 0
    for path, (text, copied, own) in delivery.items():
        effective = _effective(path, text)
        matched = set(found[path].line_numbers) if path in found else set()
        copied_total += len(effective & copied)
        copied_hit += len(effective & copied & matched)
        own_total += len(effective & own)
        own_hit += len(effective & own & matched)
    assert copied_total > 1000 and own_total > 200
    recall = copied_hit / copied_total
    false_positive = own_hit / own_total
    print(f"recall {recall:.4f} ({copied_hit}/{copied_total}), false positives "
          f"{false_positive:.4f} ({own_hit}/{own_total})")
    assert recall >= 0.95, f"recall {recall:.3f}"
    assert false_positive <= 0.01, f"false positives {false_positive:.3f}"
    assert "src/inventory/reports.py" not in found  # purely own code
    components = {m.component for fm in found.values() for m in fm.matches}
    assert components == {"click", "Jinja2", "rich", "MarkupSafe", "Werkzeug"}
    textutil = found["src/inventory/textutil.py"].matches
    assert textutil[0].kb_file == "jinja2/utils.py" and textutil[0].license
    cells = found["src/inventory/cells.py"]
    assert {m.kb_file for m in cells.matches} == {"rich/cells.py"}
    for fm in found.values():
        assert fm.matched_lines == len(fm.line_numbers) <= fm.effective_lines
        assert fm.matched_lines == sum(m.matched_lines for m in fm.matches)
        for m in fm.matches:
            assert m.matched_lines >= 10 and m.lines[0] <= m.lines[1]
            assert m.kb_lines[0] <= m.kb_lines[1]


def test_deterministic_and_order_independent(kb_path: Path, delivery):
    items = [(path, text) for path, (text, _, _) in delivery.items()]
    first = match_texts(kb_path, items)
    again = match_texts(kb_path, list(reversed(items)))
    assert [fm.to_json() for fm in first.values()] == [fm.to_json() for fm in again.values()]
    assert list(first) == sorted(first)


def test_invariant_to_line_endings_indentation_and_comments(kb_path: Path, delivery):
    items = [(path, text) for path, (text, _, _) in delivery.items()]
    base = match_texts(kb_path, items)
    variants = []
    for path, text in items:
        text = text.replace("\r\n", "\n")
        if path.endswith(".py"):
            text = re.sub(r"(?m)# reviewed by our team, see ticket 4711", "# 已审阅", text)
            text = _reindent(text.replace("\t", "    ").replace("  ", "    "), "\t")
        else:
            text = text.replace("/* adapted for the inventory service */", "/**/")
        variants.append((path, text.replace("\n", "\r\n")))
    changed = match_texts(kb_path, variants)

    def shape(result):
        return {path: (fm.matched_lines, sorted((m.component, m.kb_file, m.kb_lines,
                                                  m.matched_lines) for m in fm.matches))
                for path, fm in result.items()}
    assert shape(changed) == shape(base)


def test_min_lines_is_honoured(kb_path: Path):
    import click.utils
    short = []
    for _name, func in sorted(inspect.getmembers(click.utils, inspect.isfunction)):
        if func.__module__ == "click.utils":
            source = textwrap.dedent(inspect.getsource(func))
            if 6 <= len(normalize(source, "a.py").lines) <= 9:
                short.append(source)
    assert short, "click.utils has no function of 6-9 effective lines"
    source = short[0]
    size = len(normalize(source, "a.py").lines)
    assert match_texts(kb_path, [("a.py", source)]) == {}
    hit = match_texts(kb_path, [("a.py", source)], min_lines=5)
    assert hit["a.py"].matched_lines == size


#: Words for tables of short rows (tables written here, not taken from any package).
_WORDS = ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
          "juniper", "kestrel", "lagoon", "marble", "nectar", "onyx", "prairie", "quartz", "raven")


def test_a_table_of_short_rows_copied_with_one_row_changed_is_found(tmp_path: Path):
    # from the misses of bench/kb_accuracy_misses.py: a list of option names (mypy's options.py)
    # copied 10 rows at a time with one changed was not found when one in three of the grams of
    # data alone was kept (12 of these 30 tables were not found then): its rows are too short for the
    # exact stream's window
    lib = tmp_path / "lib"
    lib.mkdir()
    items, truth = [], {}
    for seed in range(30):
        rng = random.Random(seed)
        names = [f"{rng.choice(_WORDS)}{rng.randrange(1, 9)}" for _ in range(14)]
        rows = "".join(f'    "{name}",\n' for name in names)
        (lib / f"settings_{seed}.py").write_text(
            f"def setting_names():\n    return sorted(SETTINGS)\n\n\nSETTINGS = [\n{rows}]\n\n\n"
            "def is_setting(name):\n    return name in SETTINGS\n")
        copied = names[2:12]
        copied[4] = "changed_name"
        rows = "".join(f'    "{name}",\n' for name in copied)
        path = f"own_{seed}.py"
        items.append((path, "import sys\n\n\ndef main(argv):\n    print(argv)\n    return 0\n\n\n"
                            f"KNOWN = [\n{rows}]\n\n\nif __name__ == '__main__':\n"
                            "    sys.exit(main(sys.argv))\n"))
        truth[path] = set(range(10, 20))
    kb = tmp_path / "kb.sqlite"
    build_kb(kb, [lib], jobs=1)
    found = match_texts(kb, items)
    missed = {path: sorted(lines - set(found[path].line_numbers if path in found else ()))
              for path, lines in truth.items()}
    assert not any(missed.values()), {p: m for p, m in missed.items() if m}
    # the own function before the table is not taken in (a run's end may walk a line or two into
    # what follows: bench_kb_accuracy.py counts those as false positives around the copies)
    assert not any(set(found[path].line_numbers) & {4, 5, 6} for path in truth)


def test_kb_is_small(kb_path: Path):
    info = KnowledgeBase.open(kb_path).info()
    assert info["components"] == len(DISTS)
    assert info["kb_ratio"] <= 0.10, info["kb_ratio"]


def test_boilerplate_fingerprints_are_ignored(tmp_path: Path):
    boilerplate = "\n".join(
        f"    parser.add_argument('--option-{n}', type=int, default={n}, help='value {n}')"
        for n in range(14))
    boilerplate = f"def build_parser(parser):\n{boilerplate}\n    return parser\n"
    sources = []
    for n in range(12):
        root = tmp_path / f"lib{n}"
        root.mkdir()
        unique = "\n".join(f"    total_{n}_{i} = compute_{n}(value, {i} * {n + 1}) + offset_{i}"
                           for i in range(14))
        (root / "cli.py").write_text(f"{boilerplate}\n\ndef work_{n}(value):\n{unique}\n")
        sources.append(root)
    kb = tmp_path / "kb.sqlite"
    build_kb(kb, sources, jobs=1)
    query = [("tool.py", "import argparse\n\n" + boilerplate)]
    assert match_texts(kb, query) == {}  # in 12 components: boilerplate, not a copy
    assert match_texts(kb, query, max_df=12)["tool.py"].matched_lines == 16
    unique_copy = (sources[3] / "cli.py").read_text().split("\n\n\n")[1]
    (hit,) = match_texts(kb, [("w.py", unique_copy)])["w.py"].matches
    assert hit.component == "lib3"
