"""Render `diff -u ppo_gae.py <variant>` into the docs pages between their diff markers.

    python docs/render_diffs.py          # rewrite the pages
    python docs/render_diffs.py --check  # exit 1 if a page is stale
"""

import difflib
import os
import re
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
PAGES = {"reward_horizon.md": "ppo_reward_horizon.py", "avg_reward.md": "ppo_avg_reward.py"}


def diff_against_gae(script: str) -> str:
    def lines(name):
        with open(os.path.join(ROOT, name)) as f:
            return f.read().splitlines()

    return "\n".join(difflib.unified_diff(lines("ppo_gae.py"), lines(script), "ppo_gae.py", script, n=1,
                                          lineterm=""))


def render(page: str) -> str:
    with open(os.path.join(DOCS, page)) as f:
        text = f.read()
    script = PAGES[page]
    block = f"<!-- diff:{script} -->\n```diff\n{diff_against_gae(script)}\n```\n<!-- /diff -->"
    return re.sub(rf"<!-- diff:{re.escape(script)} -->.*?<!-- /diff -->", lambda _: block, text, flags=re.S)


def main():
    stale = []
    for page in PAGES:
        if not os.path.exists(os.path.join(DOCS, page)):
            continue
        new = render(page)
        with open(os.path.join(DOCS, page)) as f:
            if f.read() == new:
                continue
        stale.append(page)
        if "--check" not in sys.argv:
            with open(os.path.join(DOCS, page), "w") as f:
                f.write(new)
    if stale and "--check" in sys.argv:
        print(f"stale diff in docs/{', docs/'.join(stale)}: run python docs/render_diffs.py")
        sys.exit(1)


if __name__ == "__main__":
    main()
