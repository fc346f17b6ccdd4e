"""Run-failure notifications: what a failed run says, and the webhook POST (no Dagster imports).

The run-failure sensor in `defs/operations.py` gathers the facts of a failed run and calls these.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field

WEBHOOK_TIMEOUT_SECONDS = 10
# Long tracebacks make unreadable chat messages; the full error stays in the Dagster run log.
MAX_ERROR_CHARS = 2000


class WebhookError(RuntimeError):
    """The alert webhook could not be reached or refused the payload."""


@dataclass(frozen=True)
class FailedStep:
    """One step of a failed run and the first lines of its error."""

    step_key: str
    error: str


@dataclass(frozen=True)
class RunFailure:
    """What a notification says about a failed run."""

    job_name: str
    run_id: str
    error: str
    failed_steps: list[FailedStep] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and chat: job, run id, failed steps and the first error."""
        head = f"Run {self.run_id} of job '{self.job_name}' failed"
        if not self.failed_steps:
            return f"{head}: {_clip(self.error)}"
        steps = ", ".join(s.step_key for s in self.failed_steps)
        return f"{head} at step(s) {steps}: {_clip(self.failed_steps[0].error)}"

    def payload(self) -> dict[str, object]:
        """The JSON body posted to the webhook. `text` makes it readable by chat incoming webhooks."""
        return {
            "text": self.summary(),
            "job_name": self.job_name,
            "run_id": self.run_id,
            "error": _clip(self.error),
            "failed_steps": [{**asdict(s), "error": _clip(s.error)} for s in self.failed_steps],
        }


def post_json(url: str, payload: dict[str, object], timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> int:
    """POST `payload` as JSON to `url`; return the HTTP status. Raise WebhookError naming the URL on failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(
            f"Alert webhook {_redact(url)} answered HTTP {exc.code} {exc.reason}: check AHW_ALERT_WEBHOOK_URL."
        ) from exc
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", exc)
        raise WebhookError(
            f"Alert webhook {_redact(url)} is unreachable ({reason}): check AHW_ALERT_WEBHOOK_URL."
        ) from exc
    except ValueError as exc:  # not a URL at all
        raise WebhookError(f"AHW_ALERT_WEBHOOK_URL ({_redact(url)}) is not a valid http(s) URL.") from exc


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " [...]"


def _redact(url: str) -> str:
    """Scheme and host only: webhook paths often carry a secret token that must not reach the logs."""
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}/..." if parsed.netloc else "<invalid URL>"
