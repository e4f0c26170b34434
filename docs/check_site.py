"""Check a built site in a real browser: what sphinx-build's own warnings cannot see.

    python docs/check_site.py docs/_build/html

Opens the pages in headless Chromium (Selenium, as the playground's browser tests do) and
checks that every tutorial page came out whole (its pictures, no traceback), that the
formulas were typeset by the MathJax bundled into the site (no network needed), that
Mazur's trace runs inside its frame with the blog's numbers, and that the command-line
page has every command of the parser. Exits 1 with one line per problem.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

TUTORIALS = sorted(p.stem for p in (Path(__file__).parent / "tutorials").glob("[0-9]*.py"))


def browser():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1024"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def typeset(driver, timeout=20.0) -> int:
    """How many formulas MathJax typeset on the open page (0 when it never loaded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        count = len(driver.find_elements(By.CSS_SELECTOR, "mjx-container"))
        if count:
            return count
        time.sleep(0.2)
    return 0


def check(site: Path) -> list[str]:
    from tracegrad.cli import EXAMPLES

    problems = []
    driver = browser()
    try:
        for name in TUTORIALS:
            page = site / "auto_tutorials" / f"{name}.html"
            if not page.is_file():
                problems.append(f"{name}: no page {page}")
                continue
            driver.get(page.as_uri())
            text = driver.find_element(By.TAG_NAME, "body").text
            if "Traceback (most recent call last)" in text:
                problems.append(f"{name}: a traceback is on the page")
            pictures = driver.find_elements(By.CSS_SELECTOR, "img.sphx-glr-single-img, "
                                            "img.sphx-glr-multi-img, div.output_html svg")
            if not pictures:
                problems.append(f"{name}: no figure or drawing on the page")
            if driver.find_elements(By.CSS_SELECTOR, "div.math, span.math") and not typeset(driver):
                problems.append(f"{name}: formulas were not typeset (MathJax did not load)")
        driver.get((site / "auto_tutorials" / "02_mazur.html").as_uri())
        frames = driver.find_elements(By.TAG_NAME, "iframe")
        if not frames:
            problems.append("02_mazur: the trace's frame is missing")
        else:
            driver.switch_to.frame(frames[0])
            if "0.298371109" not in driver.find_element(By.TAG_NAME, "body").text:
                problems.append("02_mazur: the trace's frame lacks E_total = 0.298371109")
            driver.switch_to.default_content()
        driver.get((site / "cli.html").as_uri())
        headings = {h.text.strip("#").strip() for h in driver.find_elements(By.CSS_SELECTOR, "h3")}
        missing = sorted(set(EXAMPLES) - headings)
        if missing:
            problems.append(f"cli: commands missing from the page: {', '.join(missing)}")
    finally:
        driver.quit()
    return problems


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0] if argv else "docs/_build/html").resolve()
    if not (site / "index.html").is_file():
        print(f"error: no built site in {site}: run sphinx-build first", file=sys.stderr)
        return 1
    problems = check(site)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if not problems:
        print(f"site ok: {len(TUTORIALS)} tutorials, formulas, trace frame and CLI page checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
