"""The Chinese edition's catalogs (locales/zh_CN/LC_MESSAGES/<page>.po) against the English they translate.

Run just these:   .venv/bin/python -m pytest tests/test_translations.py -q
After an English edit: `make translations` first (it merges the new English into the catalogs).

- test_catalog_is_complete: no message is untranslated or fuzzy. It FAILS until the whole book is
  translated; that is the contract (issue 13), not a bug. A message with nothing to translate
  (only code, maths, numbers or a bare {doc} link, e.g. "$B$" or "`x`") may stay empty: Sphinx then
  shows the English, which is the same.
- test_translation_keeps_code_maths_and_links: each translation keeps its message's inline code,
  `$...$` maths, {term}/{doc}/{ref} targets (the English key), link targets and numbers, exactly.
- test_translation_uses_the_terms: a message whose English has a term of locales/zh_CN/terms.yml is
  translated with that term's Chinese form (or an allowed variant), never with a forbidden one.
- test_translation_has_no_forbidden_words: 变压器, 您, an instruction opening with 请, ...
- test_translation_spacing: one half-width space between Chinese and Latin letters, digits, inline
  code or maths; none next to full-width punctuation; full-width punctuation after Chinese; no
  line break between two Chinese characters (the browser would show it as a space).
- the glossary: its Chinese column agrees with terms.yml, and the Chinese glossary page shows the
  same terms.

Only translated, non-fuzzy messages are checked for their content. Every failure names the
catalog, the message (its first words) and what is wrong.
"""
import collections
import pathlib
import re
import string
import unicodedata

import pytest
import yaml
from babel.messages.pofile import read_po

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locales" / "zh_CN"
CATALOGS = sorted((LOCALE / "LC_MESSAGES").rglob("*.po"))
CATALOG_IDS = [p.relative_to(LOCALE / "LC_MESSAGES").with_suffix("").as_posix() for p in CATALOGS]
TERMS_FILE = yaml.safe_load((LOCALE / "terms.yml").read_text(encoding="utf-8"))
TERMS = TERMS_FILE["terms"]
FORBIDDEN = TERMS_FILE["forbidden"]

# ---- reading MyST inline syntax --------------------------------------------------------------
ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
CODE = re.compile(r"(`+)(.+?)\1", re.S)
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$]+?)\$", re.S)
LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
DIMENSION = re.compile(r"\b\d-D\b")          # "2-D": 二维 in Chinese
EMPHASIS = re.compile(r"\*+")

CJK = "\u3400-\u4dbf\u4e00-\u9fff"
FULL_PUNCT = "，。：；？！、（）“”‘’《》【】…"
LATIN_MARK = "L"        # what inline code and maths become in the prose: Latin, so they need spaces too
NEUTRAL_MARK = "\u25c6"  # a bare {doc} link: its text is the target page's (translated) title


class Parsed:
    """A message split into what must be kept (code, maths, targets, numbers) and its prose."""

    def __init__(self, text):
        self.roles, self.code, self.maths, self.links = (collections.Counter() for _ in range(4))

        def role(m):
            name, content = m.group(1), m.group(2)
            explicit = EXPLICIT.match(content)
            target = explicit.group(2) if explicit else content
            self.roles[(name, target.strip())] += 1
            if explicit:
                return explicit.group(1)
            return NEUTRAL_MARK if name in ("doc", "ref", "numref") else content

        def code(m):
            self.code[m.group(2).strip()] += 1
            return LATIN_MARK

        def maths(m):
            self.maths[(m.group(1) or m.group(2)).strip()] += 1
            return LATIN_MARK

        def link(m):
            self.links[m.group(2)] += 1
            return m.group(1) or NEUTRAL_MARK

        def autolink(m):
            self.links[m.group(1)] += 1
            return LATIN_MARK

        text = ROLE.sub(role, text)
        text = CODE.sub(code, text)
        text = MATH.sub(maths, text)
        text = LINK.sub(link, text)
        text = AUTOLINK.sub(autolink, text)
        self.prose = EMPHASIS.sub("", text)
        self.numbers = collections.Counter(n.replace(",", "") for n in NUMBER.findall(DIMENSION.sub("", self.prose)))

    def has_words(self):
        """Whether there is anything to translate: a word of two or more letters outside code and maths."""
        return re.search(rf"[A-Za-z]{{2}}|[{CJK}]", self.prose.replace(LATIN_MARK, " ")) is not None


def load(path):
    with open(path, "rb") as f:
        return read_po(f, locale="zh_CN")


def messages(path):
    """The catalog's messages, header left out."""
    return [m for m in load(path) if m.id]


def short(text, n=70):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n] + "…"


def where(path, message):
    return f"{path.relative_to(ROOT)}: msgid {short(message.id)!r}"


def translated(path):
    """(message, parsed msgid, parsed msgstr) for every translated, non-fuzzy message."""
    return [(m, Parsed(m.id), Parsed(m.string)) for m in messages(path) if m.string and not m.fuzzy]


def term_exemptions(message):
    """Terms a translator comment ``# term-ok: <term>: <reason>`` exempts for this message."""
    return {c.split(":", 2)[1].strip() for c in message.user_comments if c.strip().startswith("term-ok:")}


def contains(text, form):
    if re.search(r"[A-Za-z]", form):
        return form.lower() in text.lower()
    return form in text


def report(problems):
    return f"{len(problems)} problem(s):\n" + "\n".join(problems[:60]) + ("\n…" if len(problems) > 60 else "")


# ---- the catalogs exist and are complete ---------------------------------------------------------

def toc_documents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                docs.append(re.sub(r"\.(md|ipynb)$", "", str(node["file"])))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    return docs


def test_every_page_has_a_catalog():
    missing = [d for d in toc_documents() if d not in CATALOG_IDS]
    assert not missing, (f"no catalog locales/zh_CN/LC_MESSAGES/<page>.po for {missing}: "
                         "run `make translations` and commit the new catalogs")


def test_terms_file_is_well_formed():
    problems = []
    for key, entry in TERMS.items():
        if not entry.get("en") or not entry.get("zh"):
            problems.append(f"{key}: needs `en` (patterns) and `zh`")
            continue
        flags = 0 if entry.get("case") else re.I
        if not any(re.search(pattern, key, flags) for pattern in entry["en"]):
            problems.append(f"{key}: none of its patterns {entry['en']} matches the term itself")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_catalog_is_complete(path):
    """0 untranslated and 0 fuzzy messages. Fails until the translation is finished (by design)."""
    untranslated = [m for m in messages(path) if not m.string and not m.fuzzy and Parsed(m.id).has_words()]
    fuzzy = [m for m in messages(path) if m.fuzzy]
    problems = ([f"untranslated: {short(m.id)!r}" for m in untranslated]
                + [f"fuzzy (the English changed; check the translation, then delete the '#, fuzzy' line): "
                   f"{short(m.id)!r}" for m in fuzzy])
    assert not problems, (f"{path.relative_to(ROOT)}: {len(untranslated)} untranslated and {len(fuzzy)} fuzzy "
                          f"of {len(messages(path))} messages\n" + "\n".join(problems[:25])
                          + ("\n…" if len(problems) > 25 else ""))


# ---- what a translation must keep ----------------------------------------------------------------

def _diff(kind, source, target):
    lost, added = source - target, target - source
    out = []
    if lost:
        out.append(f"{kind} missing: {sorted(lost.elements())}")
    if added:
        out.append(f"{kind} not in the English: {sorted(added.elements())}")
    return out


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_keeps_code_maths_and_links(path):
    problems = []
    for message, en, zh in translated(path):
        found = (_diff("inline code", en.code, zh.code) + _diff("maths", en.maths, zh.maths)
                 + _diff("role targets", en.roles, zh.roles) + _diff("link targets", en.links, zh.links))
        lost_numbers = en.numbers - zh.numbers
        if lost_numbers:
            found.append(f"numbers missing: {sorted(lost_numbers.elements())}")
        problems += [f"{where(path, message)}: {f}" for f in found]
    assert not problems, report(problems)


# ---- terms and words -----------------------------------------------------------------------------

def terms_in(english):
    """The terms an English text uses. A match inside a longer term's match does not count: in
    "rotary position embedding" the term is RoPE (旋转位置编码), not embedding (嵌入)."""
    spans = collections.defaultdict(list)
    for key, entry in TERMS.items():
        flags = 0 if entry.get("case") else re.I
        for pattern in entry["en"]:
            spans[key] += [m.span() for m in re.finditer(pattern, english, flags)]
    inside = lambda a, b: b[0] <= a[0] and a[1] <= b[1] and a != b  # noqa: E731
    return [key for key, found in spans.items()
            if any(not any(inside(span, other) for k, others in spans.items() if k != key for other in others)
                   for span in found)]


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_uses_the_terms(path):
    problems = []
    for message, en, zh in translated(path):
        exempt = term_exemptions(message)
        for key in terms_in(en.prose):
            if key in exempt:
                continue
            entry = TERMS[key]
            forms = [entry["zh"], *entry.get("variants", [])]
            if not any(contains(zh.prose, form) for form in forms):
                problems.append(f"{where(path, message)}: the English has '{key}', the translation has none "
                                f"of {forms}")
            for bad in entry.get("forbidden", []):
                if bad in zh.prose and bad not in message.id:   # quoting the English's own example is fine
                    problems.append(f"{where(path, message)}: '{key}' is {entry['zh']}, not {bad}")
    assert not problems, report(problems)


def test_terms_found_in_english():
    assert set(terms_in("the rotary position embedding of each token")) == {"RoPE", "token"}
    assert "attention" in terms_in("multi-head attention, and attention")
    assert set(terms_in("multi-head attention")) == {"multi-head attention"}
    assert terms_in("a keyboard, ahead") == []


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_has_no_forbidden_words(path):
    problems = []
    for message, _, zh in translated(path):
        for rule in FORBIDDEN:
            found = re.search(rule["zh"], zh.prose) if rule.get("regex") else (rule["zh"] in zh.prose and rule["zh"])
            if found and not (not rule.get("regex") and rule["zh"] in message.id):   # the English quotes it
                problems.append(f"{where(path, message)}: {rule['why']} (in {short(zh.prose, 50)!r})")
    assert not problems, report(problems)


SPACING = [
    (re.compile(rf"[{CJK}][A-Za-z0-9]|[A-Za-z0-9][{CJK}]"),
     "no space between Chinese and a Latin word, a number, inline code or maths (write `KV 缓存`, `第 3 章`)"),
    (re.compile(rf"[ \t][{FULL_PUNCT}]|[{FULL_PUNCT}][ \t]"),
     "a space next to full-width punctuation"),
    (re.compile(rf"[{CJK}][,;:?!]|[{CJK}]\.(?!\.)"),
     "half-width punctuation after Chinese (use ，。：；？！)"),
    (re.compile(rf"[{CJK}]\(|\)[{CJK}]"),
     "half-width brackets against Chinese (use （）, or a space around a shape such as (T, S))"),
    (re.compile(rf"[{CJK}{FULL_PUNCT}]\n[{CJK}]|[{CJK}]\n[{CJK}{FULL_PUNCT}]"),
     "a line break between Chinese characters (the page shows it as a space: join the lines)"),
]
SHAPE = re.compile(r"\([^()\n]*\)")   # (批量大小, 词数): half-width inside, as d2l writes shapes


def spacing_problems(prose):
    """(what is wrong, where) for each spacing rule the prose of a translation breaks."""
    found = []
    for pattern, what in SPACING:
        # A shape such as (批量大小, 词数) keeps its half-width comma (d2l's style).
        text = SHAPE.sub(f" {LATIN_MARK} ", prose) if "half-width punctuation" in what else prose
        m = pattern.search(text)
        if m:
            found.append((what, text[max(0, m.start() - 8): m.end() + 8].replace("\n", "⏎")))
    return found


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_spacing(path):
    problems = [f"{where(path, message)}: {what}: …{context}…"
                for message, _, zh in translated(path) for what, context in spacing_problems(zh.prose)]
    assert not problems, report(problems)


def _punct(c):
    return c in string.punctuation or unicodedata.category(c).startswith("P")


def broken_emphasis(text):
    """The ``**bold**`` and ``*italic*`` pairs Markdown will not render: CommonMark's flanking rules
    fail at, e.g., "**你在自学。**每一页", where the closing ``**`` follows punctuation and precedes a
    letter. Write "**你在自学**。每一页" instead."""
    text = CODE.sub("`c`", text)
    found = []
    for stars in (2, 1):
        runs = []
        for m in re.finditer(r"(?<!\*)\*{%d}(?!\*)" % stars, text):
            prev = text[m.start() - 1] if m.start() else " "
            nxt = text[m.end()] if m.end() < len(text) else " "
            if prev.isspace() and nxt.isspace():
                continue                    # a lone star between spaces is literal text
            runs.append((m, prev, nxt))
        for k, (m, prev, nxt) in enumerate(runs):
            left = not nxt.isspace() and (not _punct(nxt) or prev.isspace() or _punct(prev))
            right = not prev.isspace() and (not _punct(prev) or nxt.isspace() or _punct(nxt))
            if (k % 2 == 0 and not left) or (k % 2 == 1 and not right):
                found.append(text[max(0, m.start() - 10): m.end() + 10])
    return found


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_emphasis_renders(path):
    problems = [f"{where(path, message)}: Markdown will not render this bold or italic (put the punctuation "
                f"outside the stars, e.g. **你在自学**。 or *观察要点*：): …{context}…"
                for message, _, _ in translated(path) for context in broken_emphasis(message.string)]
    assert not problems, report(problems)


def markdown_blocks(text):
    """The top-level block types CommonMark makes of a text, e.g. ['paragraph'] or ['ordered_list']."""
    from markdown_it import MarkdownIt

    return [t.type.replace("_open", "") for t in MarkdownIt("commonmark").parse(text)
            if t.level == 0 and t.nesting in (0, 1)]


@pytest.mark.parametrize("path", CATALOGS, ids=CATALOG_IDS)
def test_translation_is_one_paragraph(path):
    """Sphinx parses each translation as Markdown and silently keeps the English when the result is not
    one paragraph: "1. 线性投影" is a numbered list (write "1\\. 线性投影"), "- 注意" a bullet list."""
    problems = []
    for message, _, _ in translated(path):
        blocks = markdown_blocks(message.string)
        if blocks != ["paragraph"]:
            problems.append(f"{where(path, message)}: Markdown reads the translation as {blocks}, not one "
                            f"paragraph, so the page keeps the English (escape it: msgstr \"1\\\\. 线性投影\" in the .po file)")
    assert not problems, report(problems)


# ---- the glossary ----------------------------------------------------------------------------------

GLOSSARY = ROOT / "book" / "glossary.md"
GLOSSARY_CATALOG = LOCALE / "LC_MESSAGES" / "book" / "glossary.po"


def glossary_entries():
    """(English term, its definition as written) for every entry of book/glossary.md's glossary."""
    text = GLOSSARY.read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}[^\n]*\n(.*?)\n```", text, re.S).group(1)
    entries, term = [], None
    for line in block.splitlines():
        if line and not line[0].isspace() and not line.startswith(":"):
            term = line.strip()
        elif line.strip() and term:
            entries.append((term, line.strip()))
            term = None
    return entries


def chinese_column(definition):
    """The glossary's Chinese rendering: what comes before the first '. ' of the definition."""
    return definition.split(". ", 1)[0]


def test_glossary_is_read():
    entries = glossary_entries()
    assert len(entries) >= 60, f"read only {len(entries)} glossary entries from {GLOSSARY.name}"


@pytest.mark.parametrize("term, definition", glossary_entries(), ids=[t for t, _ in glossary_entries()])
def test_glossary_chinese_column_follows_the_terms(term, definition):
    """The glossary's Chinese is the recommended form of terms.yml (the translators' term list)."""
    assert term in TERMS, (f"glossary term {term!r} has no entry in locales/zh_CN/terms.yml: add its Chinese "
                           "form, variants and English patterns there (from the Chinese term list)")
    assert TERMS[term]["zh"] in chinese_column(definition), (
        f"glossary term {term!r}: the Chinese column {chinese_column(definition)!r} lacks the recommended "
        f"{TERMS[term]['zh']!r} of locales/zh_CN/terms.yml")


def test_zh_glossary_shows_the_same_terms():
    """On the Chinese glossary page each headword is the glossary's Chinese term with its English key.

    The English glossary writes 'term' then '中文. definition'; the Chinese page writes
    '中文（term）' then the definition. Untranslated headwords are test_catalog_is_complete's business.
    """
    strings = {m.id: m.string for m in messages(GLOSSARY_CATALOG)}
    problems = []
    for term, definition in glossary_entries():
        headword = strings.get(term)
        if headword is None:
            problems.append(f"{term!r} is not in {GLOSSARY_CATALOG.name}: run `make translations`")
            continue
        if not headword:
            continue
        zh = TERMS.get(term, {}).get("zh", chinese_column(definition))
        if zh.lower() not in headword.lower() or term.lower() not in headword.lower():
            problems.append(f"headword of {term!r} is {headword!r}: it should hold {zh!r} and {term!r}, "
                            f"e.g. {zh}（{term}）")
    assert not problems, "\n".join(problems)


# ---- the checks themselves -------------------------------------------------------------------------

def test_parser_finds_what_must_be_kept():
    p = Parsed("A {term}`token <token>` and {term}`bias`, `x @ W`, $y = xW$, [kit](../kit.zip), "
               "{doc}`../notebooks/01_linear_projection`, 1,346 messages in 2-D.")
    assert p.roles == {("term", "token"): 1, ("term", "bias"): 1, ("doc", "../notebooks/01_linear_projection"): 1}
    assert p.code == {"x @ W": 1} and p.maths == {"y = xW": 1} and p.links == {"../kit.zip": 1}
    assert p.numbers == {"1346": 1}
    assert Parsed("$B$").has_words() is False and Parsed("{doc}`glossary`").has_words() is False
    assert Parsed("`d_model` or $D$").has_words() is True


@pytest.mark.parametrize("text, bad", [
    ("这是KV 缓存", True), ("这是 KV 缓存", False), ("形状为 `x`的数组", True), ("第 3 章", False),
    ("它 ，然后", True), ("注意力, 然后", True), ("注意力（attention）", False), ("注意力(attention)", True),
    ("第一行\n第二行", True), ("形状为 (批量大小, 词数) 的数组", False), ("{term}`词元 <token>`的嵌入", False),
])
def test_spacing_rules(text, bad):
    hits = spacing_problems(Parsed(text).prose)
    assert bool(hits) is bad, (text, hits)


@pytest.mark.parametrize("text, broken", [
    ("**你在自学。**每一页", True), ("**你在自学**。每一页", False), ("这本书：**`q_proj` 做什么？**", False),
    ("向量是**行**，由", False), ("**Run it yourself**", False), ("*观察要点：*每个点", True),
    ("*观察要点*：每个点", False), ("是*哪些*权重", False), ("`a * b` 与 2 * 3", False),
])
def test_emphasis_rule(text, broken):
    assert bool(broken_emphasis(text)) is broken


@pytest.mark.parametrize("text, blocks", [
    ("1. 线性投影", ["ordered_list"]), ("1\\. 线性投影", ["paragraph"]), ("**练习 1：投影**。`x1` 包含", ["paragraph"]),
    ("- 注意", ["bullet_list"]),
])
def test_markdown_blocks(text, blocks):
    assert markdown_blocks(text) == blocks
