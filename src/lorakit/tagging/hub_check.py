"""One quick look at the Hugging Face hub before a model download, so that offline fails at once.

Without it, ``huggingface_hub`` and ``transformers`` retry a download that cannot work: ``dataset
caption`` printed 36 retry lines over 2 min 24 s before its error, ``dataset tag`` took 23 s. Here a
single HTTP request with a 3-second limit decides: any HTTP answer means the hub is there (the real
download then reports a missing repo or a token problem itself); no answer means offline, said at once
with how to use a local model folder instead. ``HF_HUB_OFFLINE=1`` skips the look. A model already in
the Hugging Face cache is used from there when the hub cannot be reached.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request

from lorakit.errors import ModelError

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 3.0


def hub_endpoint() -> str:
    """The hub address huggingface_hub uses (``HF_ENDPOINT`` or https://huggingface.co)."""
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def hub_offline_flag() -> bool:
    """True when the user said "offline" (``HF_HUB_OFFLINE=1``, also read by huggingface_hub itself)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_unreachable_reason(timeout: float = CHECK_TIMEOUT_S) -> str | None:
    """None when the hub answers (any HTTP status), else why not, in words. One request, no retries."""
    if hub_offline_flag():
        return "HF_HUB_OFFLINE is set"
    endpoint = hub_endpoint().rstrip("/") + "/"
    request = urllib.request.Request(endpoint, method="HEAD", headers={"User-Agent": "lorakit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered: reachable (404/401 are the download's business)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        log.debug("hub check %s failed: %r", endpoint, error)
        return f"{endpoint} cannot be reached ({reason})"


def is_cached(repo_id: str, filename: str) -> bool:
    """True when ``filename`` of ``repo_id`` is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)
    except Exception:  # a malformed repo id: not cached; the download reports the id itself
        return False


def require_hub(repo_id: str, what: str, cached_file: str, local_fix: str) -> bool:
    """Before downloading ``repo_id``: False to download as usual, True to load it from the cache only.

    Raises :class:`ModelError` at once when the hub cannot be reached and the model is not cached.
    ``local_fix`` says what a local model folder must hold and which option takes it.
    """
    reason = hub_unreachable_reason()
    if reason is None:
        return False
    if is_cached(repo_id, cached_file):
        log.info("Hugging Face unreachable (%s): using the cached %s", reason, repo_id)
        return True
    raise ModelError(
        f"The {what} {repo_id} is not downloaded yet and Hugging Face cannot be reached: {reason}.",
        f"Connect to the internet and run it again (it is downloaded once, then works offline), or {local_fix}",
    )
