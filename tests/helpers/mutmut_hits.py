"""A pytest plugin for mutation runs (`mutmut run`, configured in pyproject.toml): count the code a
test reaches through `python -m tutor_cli` subprocesses as reached by that test.

mutmut learns which tests reach a function by recording calls in the test process; most of tutor's
tests run the real CLI in a subprocess, whose calls it would never see, and it would then skip
their mutants as "no tests". While mutmut collects these figures (MUTANT_UNDER_TEST=stats), this
plugin has every Python subprocess write the functions it reached to a file at exit, and adds
them to the running test's before mutmut reads them. Outside a mutation run it does nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

HITS = "TUTOR_MUTMUT_HITS"
SITECUSTOMIZE = f'''
import atexit, os

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("{HITS}"):

    def _write_hits():
        try:
            from mutmut.state import state
        except ImportError:
            return
        with open(os.environ["{HITS}"], "a", encoding="utf-8") as hits:
            hits.writelines(name + "\\n" for name in state()._stats)

    atexit.register(_write_hits)
'''


def _collecting() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


def pytest_configure(config: pytest.Config) -> None:
    if not _collecting() or HITS in os.environ:
        return
    folder = Path(tempfile.mkdtemp(prefix="tutor-mutmut-"))
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    os.environ[HITS] = str(folder / "hits.txt")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut's own teardown hook files the test's hits: add the subprocesses' hits."""
    if not _collecting() or HITS not in os.environ:
        return
    path = Path(os.environ[HITS])
    if not path.exists():
        return
    from mutmut.state import state

    state()._stats.update(line for line in path.read_text(encoding="utf-8").splitlines() if line)
    path.unlink()
