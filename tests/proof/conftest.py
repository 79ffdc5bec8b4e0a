"""The proof-of-learning tests report their figures (the judge's accuracy, each training's concept shares) at
the end of the run, so `make test` shows them whether the tests pass or fail."""

from __future__ import annotations

import pytest

_FIGURES = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[_FIGURES] = []


@pytest.fixture(scope="session")
def proof_figures(request) -> list[str]:
    """Append a line here to have it printed in the test summary."""
    return request.config.stash[_FIGURES]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("proof of learning")
        for line in lines:
            terminalreporter.write_line(line)
