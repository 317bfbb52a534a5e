"""What sign-in costs a page view: one database served twice, once open on this machine and once with
`--access` (a real OpenID Connect provider, oidc-provider-mock, and an analyst signed in), and every page
opened from the sidebar in each, alternately, so a busy machine slows both alike. Writes its section of
bench/RESULTS.md.

    python -m bench.signin                       # 100k patients, 5 rounds of every page
    python -m bench.signin --size 0 --runs 3     # the sample clinic, quicker

Each figure is the median of --runs clicks after one warm-up round, timed as bench.pages times a click
(until Streamlit's run has ended and every chart has drawn). With sign-in every run also reads the signed-in
user's role and checks the page against it; the audit trail is written at sign-in, not per page view."""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.pages import after_rerun, settled, write
from bench.run import ROOT, built_database

SECTION = "## What sign-in costs a page view"


def titles(page) -> list[str]:
    """The pages the sidebar offers, by title (a link's last line; the first is its icon's name)."""
    return [text.split("\n")[-1] for text in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]


def measure(source: Path, runs: int) -> tuple[dict[str, dict[str, float]], float]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_command, start_provider, stop_group

    folder = Path(tempfile.mkdtemp(prefix="bench-signin-"))
    provider, servers = None, []
    times: dict[str, dict[str, list[float]]] = {"open": {}, "signed in": {}}
    try:
        open_db, signed_db = folder / "open.duckdb", folder / "signed.duckdb"
        shutil.copy(source, open_db)
        shutil.copy(source, signed_db)
        provider_port, signed_port = free_port(), free_port()
        provider, _ = start_provider([{"sub": "ana", "email": "ana@clinic.example"}], provider_port)
        access = folder / "access.toml"
        access.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{signed_port}/oauth2callback"
cookie_secret = "a-bench-secret-that-is-long-enough-to-sign-cookies"
client_id = "ketamine-outcomes"
client_secret = "bench-client-secret"
server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"

[roles]
analyst = ["ana@clinic.example"]
""")
        server, open_url = start_command("--db", open_db, cwd=folder)
        servers.append(server)
        server, signed_url = start_command("--db", signed_db, "--access", access, cwd=folder, port=signed_port)
        servers.append(server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = {}
            for name, url in (("open", open_url), ("signed in", signed_url)):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                if name == "signed in":
                    page.get_by_role("button", name="Sign in").click()
                    page.locator("input[name=sub]").fill("ana")
                    page.get_by_role("button", name="Authorize").click()
                    page.wait_for_url(f"{url}/", timeout=30_000)
                settled(page)
                pages[name] = page
            every = titles(pages["open"])
            assert titles(pages["signed in"]) == every, "an analyst sees every page"
            for n in range(runs + 1):
                for number, title in enumerate(every):
                    for name, page in pages.items():
                        link = page.get_by_test_id("stSidebarNavLink").nth(number)
                        seconds = after_rerun(page, link.click)
                        if n:
                            times[name].setdefault(title, []).append(seconds)
            browser.close()
    finally:
        for server in servers:
            stop_group(server)
        if provider:
            provider.terminate()
            provider.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
    medians = {name: {title: statistics.median(v) for title, v in by_title.items()} for name, by_title in times.items()}
    return medians, os.getloadavg()[1]


def section(medians: dict[str, dict[str, float]], size: int, runs: int, load: float) -> str:
    served = f"{size:,} patients" if size else "The sample clinic (600 patients)"
    lines = [SECTION, "",
             f"{served}, each page opened from the sidebar: seconds from the click to the last chart drawn "
             f"(median of {runs} after a warm-up round; pages of the two servers opened alternately; "
             f"{time.strftime('%Y-%m-%d')}; load average {load:.1f}; `python -m bench.signin`).", "",
             "| page | open | signed in (analyst) | signed in / open |", "|---|---|---|---|"]
    for title, seconds in medians["open"].items():
        signed = medians["signed in"][title]
        lines.append(f"| {title} | {seconds:.2f} | {signed:.2f} | {signed / seconds:.2f}x |")
    total_open, total_signed = sum(medians["open"].values()), sum(medians["signed in"].values())
    lines.append(f"| every page | {total_open:.2f} | {total_signed:.2f} | {total_signed / total_open:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="patients (0: the sample clinic)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    medians, load = measure(built_database(args.size), args.runs)
    text = section(medians, args.size, args.runs, load)
    write(text, args.out, SECTION)
    print(text)


if __name__ == "__main__":
    main()
