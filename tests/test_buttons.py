"""Button data: versioned, short, parsed strictly."""

from __future__ import annotations

import pytest

from bot import buttons


def test_round_trip_and_strict_parsing() -> None:
    data = buttons.decode(buttons.encode("rq", 42, "x"))
    assert data is not None and data.action == "rq" and data.args == ("42", "x")
    assert data.int_arg() == 42 and data.int_arg(1) is None and data.int_arg(5) is None
    assert buttons.decode("v0:rq:42") is None
    assert buttons.decode("rq") is None
    assert buttons.decode("v1:" + "x" * 70) is None


@pytest.mark.parametrize("value", ["99999999999", "2147483648", "-1", "1e3", "٣"])
def test_out_of_range_ids_name_nothing(value: str) -> None:
    data = buttons.decode(f"v1:cp:{value}")
    assert data is not None and data.int_arg() is None


def test_encode_refuses_long_data() -> None:
    with pytest.raises(ValueError):
        buttons.encode("x", "y" * 80)
