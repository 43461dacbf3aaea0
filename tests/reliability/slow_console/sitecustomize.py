"""Loaded at start-up by every process the scheduler chaos runs (it is put on PYTHONPATH): the
console gateway takes CHAOS_SEND_DELAY seconds per message, as a real provider's round trip
would, so that passes overlap and a kill lands mid-pass. Nothing else changes: the processes run
the real `flask --app app scheduler` and `reminders send-due` code."""
import os
import time

_delay = float(os.environ.get("CHAOS_SEND_DELAY") or 0)
if _delay:
    from sms import gateway as _gateway

    _send_many = _gateway.ConsoleGateway.send_many

    def _slow_send_many(self, messages):
        time.sleep(_delay * len(messages))
        return _send_many(self, messages)

    _gateway.ConsoleGateway.send_many = _slow_send_many
