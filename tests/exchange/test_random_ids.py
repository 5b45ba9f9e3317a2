"""Decision and dead-letter ids: random, 128 bits in hex, never repeated."""

import re

from gateway.exchange.auditing import random_ids

HEX_128 = re.compile(r"[0-9a-f]{32}")


def test_ids_are_128_bits_of_hex() -> None:
    ids = random_ids(block=4)
    assert all(HEX_128.fullmatch(ids()) for _ in range(10))


def test_ids_do_not_repeat_across_blocks() -> None:
    ids = random_ids(block=8)
    drawn = [ids() for _ in range(1000)]  # 125 blocks
    assert len(set(drawn)) == len(drawn)


def test_two_sources_draw_different_ids() -> None:
    first, second = random_ids(), random_ids()
    assert {first() for _ in range(300)}.isdisjoint({second() for _ in range(300)})
