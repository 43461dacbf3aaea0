"""web.application.App: Flask, deciding "is this hook async?" from a plain function's code flags."""
from __future__ import annotations

import functools

from web.application import App


def test_a_plain_function_is_run_as_it_is_and_anything_async_is_flask_s_to_wrap():
    app = App(__name__)

    def hook():
        return "ran"

    async def coroutine_hook():
        return "ran"

    assert app.ensure_sync(hook) is hook
    bound = functools.partial(coroutine_hook)
    for asynchronous in (coroutine_hook, bound):
        try:
            wrapped = app.ensure_sync(asynchronous)
        except RuntimeError as exc:          # Flask without its async extra says so
            assert "async" in str(exc)
        else:
            assert wrapped is not asynchronous and wrapped() == "ran"
