"""The Dramatiq broker: Redis (embedded unless EXPORTER_REDIS_URL), set up once per process
before any actor is declared."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from exporter import services
from exporter.settings import Settings


def setup(settings: Settings) -> RedisBroker:
    broker = RedisBroker(url=services.redis_url(settings))
    dramatiq.set_broker(broker)
    return broker
