"""Operations: the run-failure notification (against a real HTTP server on loopback) and the
global freshness policy on the marts."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from dagster_project.defs.operations import notify_on_run_failure
from dagster_project.serve.notify import WebhookError, post_json

SECRET_PATH = "/hooks/T000-secret-token"


class _Receiver(BaseHTTPRequestHandler):
    """Records every POST body; answers with the status the test asks for."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
        )
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A real HTTP server on a free loopback port; yields it (its `received` list and `status`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.status = [], 200
    server.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@dg.op
def load_events():
    raise dg.Failure(description="raw.events has no rows: put files in <landing>/events/ and rerun.")


@dg.op
def build_marts(events):
    pass


@dg.job
def broken_refresh():
    build_marts(load_events())


@pytest.fixture(scope="module")
def failed_run():
    """A real failed run of a tiny job: yields the failure context the sensor receives."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = broken_refresh.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        records = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        failure_event = records[0].event_log_entry.dagster_event
        yield lambda: dg.build_run_status_sensor_context(
            sensor_name="notify_on_run_failure",
            dagster_event=failure_event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()


def test_failed_run_is_posted_as_json(failed_run, webhook, monkeypatch):
    monkeypatch.setenv("AHW_ALERT_WEBHOOK_URL", webhook.url)
    context = failed_run()
    notify_on_run_failure(context)

    assert len(webhook.received) == 1
    request = webhook.received[0]
    assert request["path"] == SECRET_PATH
    assert request["content_type"] == "application/json"
    payload = request["body"]
    assert payload["job_name"] == "broken_refresh"
    assert payload["run_id"] == context.dagster_run.run_id
    assert [s["step_key"] for s in payload["failed_steps"]] == ["load_events"]
    assert "raw.events has no rows" in payload["failed_steps"][0]["error"]
    assert "broken_refresh" in payload["text"] and "load_events" in payload["text"]


def _logged_errors(capfd) -> list[str]:
    """Error lines of the Dagster log (the sensor's log writes to stderr)."""
    return [line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]


def test_without_webhook_the_failure_is_only_logged(failed_run, webhook, monkeypatch, capfd):
    monkeypatch.delenv("AHW_ALERT_WEBHOOK_URL", raising=False)
    notify_on_run_failure(failed_run())
    assert webhook.received == []
    errors = _logged_errors(capfd)
    assert len(errors) == 1
    assert "broken_refresh" in errors[0] and "load_events" in errors[0] and "raw.events has no rows" in errors[0]


def test_unreachable_webhook_is_logged_without_leaking_the_token(failed_run, monkeypatch, capfd):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AHW_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}{SECRET_PATH}")
    notify_on_run_failure(failed_run())
    errors = " ".join(_logged_errors(capfd))
    assert "unreachable" in errors and "AHW_ALERT_WEBHOOK_URL" in errors
    assert "secret-token" not in errors


def test_webhook_refusal_raises_a_clear_error(webhook):
    webhook.status = 500
    with pytest.raises(WebhookError, match="HTTP 500") as raised:
        post_json(webhook.url, {"text": "x"}, timeout=5)
    assert "secret-token" not in str(raised.value)
    assert len(webhook.received) == 1


def test_every_mart_carries_the_freshness_policy(monkeypatch):
    from dagster_project.definitions import defs

    monkeypatch.setenv("AHW_FRESHNESS_HOURS", "30")
    graph = defs().resolve_asset_graph()
    policies = {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    models = {key for key in policies if graph.get(key).group_name == "models"}
    marts = {key for key in policies if key.path[0] == "marts"} - models
    assert {dg.AssetKey(["marts", "mart_account_health"]), dg.AssetKey(["marts", "dim_accounts"])} <= marts
    assert {key: p.fail_window.to_timedelta() for key, p in policies.items() if key in marts} == {
        key: dt.timedelta(hours=30) for key in marts
    }
    # the models retrain weekly; raw events follow the freshness SLA (warn, then fail)
    assert dg.AssetKey(["models", "churn_model"]) in models
    assert {key: policies[key].fail_window.to_timedelta() for key in models} == {
        key: dt.timedelta(days=8) for key in models
    }
    events = policies[dg.AssetKey(["raw", "events"])]
    assert (events.warn_window.to_timedelta(), events.fail_window.to_timedelta()) == (
        dt.timedelta(hours=36),
        dt.timedelta(hours=72),
    )
    others = [key for key, p in policies.items() if key not in marts | models and p is not None]
    assert others == [dg.AssetKey(["raw", "events"])]
