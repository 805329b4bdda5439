"""Start-up freezes what it built out of the cyclic garbage collector's reach (full collections
stalled the event loop ~30 ms each) and shutdown undoes it; garbage made while serving is still
collected."""

from __future__ import annotations

import gc
import weakref

from entrypoints.settings import Settings
from tests.http.conftest import make_client


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_start_up_is_frozen_while_serving_and_thawed_at_shutdown(settings: Settings) -> None:
    assert gc.get_freeze_count() == 0
    with make_client(settings) as client:
        assert client.get("/health").status_code == 200
        # Everything alive at start-up: the app, its container, engine and routes, and the
        # test process itself.
        assert gc.get_freeze_count() > 10_000
        collected: list[bool] = []
        cycle = Cycle()
        weakref.finalize(cycle, collected.append, True)
        del cycle
        gc.collect()
        assert collected == [True]
    assert gc.get_freeze_count() == 0
