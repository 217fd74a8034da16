"""Every relative link in README.md, CHANGELOG.md and docs/*.md resolves: to
a file or folder of the repository, and an #anchor to a heading of the page
it names (GitHub's anchors: lower case, punctuation dropped, spaces to -)."""

import glob
import os
import re

import pytest

from conftest import ROOT

PAGES = sorted([os.path.join(ROOT, "README.md"), os.path.join(ROOT, "CHANGELOG.md")]
               + glob.glob(os.path.join(ROOT, "docs", "*.md")))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def strip_code(text):
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path):
    out = set()
    with open(path) as f:
        text = re.sub(r"^```.*?^```", "", f.read(), flags=re.S | re.M)
    for line in text.split("\n"):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(a)
    return out


def links(page):
    with open(page) as f:
        text = strip_code(f.read())
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_pages_have_links():
    assert len(PAGES) >= 10
    assert sum(len(links(p)) for p in PAGES) > 40


@pytest.mark.parametrize("page", PAGES, ids=lambda p: os.path.relpath(p, ROOT))
def test_relative_links_resolve(page):
    bad = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(dest):
            bad.append("%s: no such file" % target)
        elif anchor and (not dest.endswith(".md") or anchor not in anchors(dest)):
            bad.append("%s: no heading #%s in %s" % (target, anchor, os.path.relpath(dest, ROOT)))
    assert not bad, "%s:\n  %s" % (os.path.relpath(page, ROOT), "\n  ".join(bad))


def test_readme_is_a_landing_page():
    with open(os.path.join(ROOT, "README.md")) as f:
        lines = f.read().split("\n")
    assert len(lines) <= 250
    text = "\n".join(lines)
    assert "make demo" in text and "make test" in text
