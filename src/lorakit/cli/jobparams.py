"""The CLI's side of the job parameters: a command that does what a job kind does checks its options with
that kind's model (``lorakit.jobs.params``), so limits, choices and defaults are declared once.

An option left out is passed as not given (typer default ``None``) and the model's default applies, exactly
as for ``POST /api/jobs``. A bad value is refused with the API's message, the option named in the fix.
Paths are filesystem paths here: without a workspace the models only check their form.

Imported inside each command: pydantic costs ~0.3 s of start-up, and ``lorakit --help`` must stay fast.
"""

from __future__ import annotations

from typing import Any


def checked(kind: str, values: dict[str, Any], command: str, names: dict[str, str] | None = None):
    """``values`` (options left at None dropped) as the params model ``kind``, e.g. ``"ResizeParams"``.

    ``command`` (``"lora resize"``) and ``names`` (a field -> how the command spells it, e.g.
    ``{"source": "FILE"}``; default ``--field-name``) only word the fix. Raises a ``JobParamsError``
    (shown as problem + fix, exit 2) with the problem text ``validate_params`` gives the API, less its
    ``params.`` prefix.
    """
    from lorakit.jobs import params as P

    model = getattr(P, kind)
    given = {key: value for key, value in values.items() if value is not None}
    try:
        return P.validate_params(model, given, None, prefix="")
    except P.JobParamsError as error:
        # Each problem starts with its field ("rank: ...", "sources.0.0: ..."): name them as the command does.
        fields = [part.split(":", 1)[0].split(".")[0] for part in error.problem.split("; ")]
        options = [(names or {}).get(f) or "--" + f.replace("_", "-") for f in fields if f in model.model_fields]
        wrong = " and ".join(dict.fromkeys(options)) or "the options"
        raise P.JobParamsError(
            error.problem,
            f"Correct {wrong} and run the command again (`lorakit {command} --help` lists the options).",
            field=error.field,
        ) from None
