"""The README's first commands tell a newcomer the truth: the test command needs root and says what it installs."""

from __future__ import annotations

import re

from conftest import REPO


def test_the_readme_says_scripts_test_needs_root_and_names_every_package_it_installs():
    readme = (REPO / "README.md").read_text()
    before, after = readme.split("```sh\nscripts/test\n```", 1)
    assert "**as root, or with sudo**" in before.rstrip().rsplit("\n\n", 1)[-1]  # said right above the command
    said = after.split("\n\n", 2)[1]
    script = (REPO / "scripts" / "test").read_text()
    packages = re.findall(r"\[[\w-]+\]=([\w-]+)", script.split("declare -A needs=(", 1)[1].split(")", 1)[0])
    assert packages and all(f"`{package}`" in said for package in packages), (packages, said)
    octoprint = re.search(r'"octoprint==([\d.]+)"', script)
    assert octoprint and f"OctoPrint {octoprint.group(1)}" in said.replace("\n", " ")
