"""The executor's helpers that need no database."""

from __future__ import annotations

from runner.engine.executor import natural_order


def test_tenant_ids_sort_naturally() -> None:
    ids = ["10", "2", "1", "11", "a10", "a2", "b", "a", "ab_1", "ab-1", "3e"]
    assert natural_order(ids) == ["1", "2", "3e", "10", "11", "a", "a2", "a10", "ab-1", "ab_1", "b"]


def test_ids_with_equal_numbers_keep_a_total_order() -> None:
    # '01' and '1' are different tenants: the order must not depend on the input order.
    assert natural_order(["1", "01", "x"]) == natural_order(["x", "01", "1"]) == ["01", "1", "x"]
