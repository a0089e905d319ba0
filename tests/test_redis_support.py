"""The redis-server harness itself: installed, started, restarted on the same port, killed."""

from __future__ import annotations


def test_redis_server_answers_and_restarts_on_its_port(redis_server, redis_url) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    port = redis_server.port
    redis_server.restart()
    assert redis_server.port == port
    assert client.get("k") is None  # persistence is off: a restart starts empty
    redis_server.kill()
    assert not redis_server.ping()
    redis_server.start()
    assert client.ping()
