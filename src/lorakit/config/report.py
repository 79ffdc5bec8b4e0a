"""The result of validating a config: problems and warnings, each naming the field and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lorakit.errors import ConfigError

if TYPE_CHECKING:
    from lorakit.config.schema import TrainConfig


@dataclass
class ConfigWarning:
    """Legal but probably unintended: what, where, and what to change."""

    field: str | None
    problem: str
    fix: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"code": "warning", "message": self.problem, "fix": self.fix, "field": self.field}

    def __str__(self) -> str:
        return self.problem if not self.fix else f"{self.problem}\n  Fix: {self.fix}"


@dataclass
class ValidationReport:
    """All problems (a run must not start) and warnings (a run may start) found in a config."""

    problems: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, field: str | None, problem: str, fix: str) -> None:
        self.problems.append(ConfigError(problem, fix, field=field))

    def warn(self, field: str | None, problem: str, fix: str) -> None:
        self.warnings.append(ConfigWarning(field, problem, fix))

    def raise_if_problems(self, source: str = "The config") -> None:
        """Raise one ConfigError listing every problem (warnings do not raise)."""
        if len(self.problems) == 1:  # one problem: its own words and fix, not a pointer to a list of one
            only = self.problems[0]
            raise ConfigError(f"{source}: {only.problem}", only.fix, field=only.field, issues=[only])
        if self.problems:
            count = len(self.problems)
            raise ConfigError(
                f"{source} has {count} problem{'s' if count != 1 else ''}: {self.problems[0].problem}"
                + (" ..." if count > 1 else ""),
                "Fix each setting listed; `lorakit config validate FILE` shows them all.",
                issues=list(self.problems),
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
        }


Check = Callable[["TrainConfig", str | None, ValidationReport], None]
CHECKS: list[Check] = []


def check(func: Check) -> Check:
    """Register a cross-field check: ``func(cfg, family, report)``; family is None when still 'auto'."""
    CHECKS.append(func)
    return func
