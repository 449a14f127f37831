# Written out by cargo xtask (xtask/src/testbed/mod.rs, results_callback) for the testbed runs
# that assert on module results: every task result, one JSON line each, in KEEL_RESULTS_FILE.
# The upgrade report keeps each step's outcome, not the whole result (e.g. gluster_service's
# `systemd`), so the checks read the results themselves here rather than the console output.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: keel_results
type: notification
short_description: every task result as a JSON line in KEEL_RESULTS_FILE (Keel's testbed checks)
description: every task result as a JSON line in KEEL_RESULTS_FILE (Keel's testbed checks)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "keel_results"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("KEEL_RESULTS_FILE")
        if not path:
            return
        task = result._task
        line = {
            "host": result._host.get_name(),
            "task": task.get_name(),
            "action": getattr(task, "resolved_action", None) or task.action,
            "args": task.args,
            "status": status,
            "result": result._result,
        }
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
