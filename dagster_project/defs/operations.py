"""Operations: tell someone when a run fails.

`notify_on_run_failure` watches every job of this code location. It logs each failed run (job, run
id, failed steps, error) and, when `AHW_ALERT_WEBHOOK_URL` is set, posts it there as JSON. The
global freshness policy on the marts is applied in `definitions.py`.
"""

import dagster as dg

from dagster_project.core.settings import get_settings
from dagster_project.serve.notify import FailedStep, RunFailure, WebhookError, post_json


@dg.run_failure_sensor(
    name="notify_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs every failed run (job, run id, failed steps, error) and posts it as JSON to "
    "AHW_ALERT_WEBHOOK_URL when that is set.",
)
def notify_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    def step_error(event: dg.DagsterEvent) -> str:
        data = event.step_failure_data
        # A dg.Failure carries a message written for people; other errors, their exception text.
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        return data.error.message if data.error is not None else (event.message or "")

    failure = RunFailure(
        job_name=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        error=context.failure_event.message or "",
        failed_steps=[
            FailedStep(step_key=event.step_key or "", error=step_error(event))
            for event in context.get_step_failure_events()
        ],
    )
    context.log.error(failure.summary())
    url = get_settings().alert_webhook_url
    if url is None:
        return
    try:
        status = post_json(url, failure.payload())
    except WebhookError as exc:
        # Raising would make the sensor retry this run forever while the webhook is down.
        context.log.error(f"Could not notify about run {failure.run_id}: {exc}")
        return
    context.log.info(f"Run {failure.run_id} failure posted to the alert webhook (HTTP {status}).")
