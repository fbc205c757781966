"""The docs render the current diff of each variant against ppo_gae.py."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "docs"))

import render_diffs  # noqa: E402


def test_rendered_diffs_are_current():
    for page, script in render_diffs.PAGES.items():
        path = os.path.join(ROOT, "docs", page)
        with open(path) as f:
            text = f.read()
        assert f"<!-- diff:{script} -->" in text, f"docs/{page} has no diff block"
        assert render_diffs.render(page) == text, f"docs/{page} is stale: run python docs/render_diffs.py"
        assert "```diff\n--- ppo_gae.py" in text
