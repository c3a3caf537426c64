"""LTI Pro signing: the documented vectors, and the query a request carries."""

from __future__ import annotations

import time

import pytest

from importer.signing import base_string, now_ms, sign, signed_query

SECRET = "s3cr3t-LTI"
KEY = "KLAIJC9OTI2Hm-vxn3UVHK"
TIMESTAMP = "1634769623355"
USER = "12dd589465Z="
BASE = f"key={KEY}&timestamp={TIMESTAMP}"
SIGNATURE = "3USpHxoh0-VJeU9v60E-7-lw_VY"
SIGNATURE_WITH_USER = "0KLHMSWACeqKN_dioCR8S2o47Is"


def test_base_string_without_user() -> None:
    assert base_string(KEY, TIMESTAMP) == BASE


def test_base_string_appends_raw_user_id_last() -> None:
    # Raw, not URL-encoded: the '=' of the id stays as it is.
    assert base_string(KEY, TIMESTAMP, USER) == f"{BASE}&userId=12dd589465Z="


@pytest.mark.parametrize(
    ("base", "expected"),
    [(BASE, SIGNATURE), (f"{BASE}&userId={USER}", SIGNATURE_WITH_USER)],
    ids=["key-timestamp", "with-user"],
)
def test_documented_vectors(base: str, expected: str) -> None:
    assert sign(SECRET, base) == expected


def test_signed_query_without_user() -> None:
    params, signature = signed_query(KEY, SECRET, timestamp=TIMESTAMP)

    assert list(params.items()) == [("key", KEY), ("timestamp", TIMESTAMP)]
    assert signature == SIGNATURE


def test_signed_query_with_user_keeps_parameter_order() -> None:
    params, signature = signed_query(KEY, SECRET, USER, timestamp=TIMESTAMP)

    assert list(params.items()) == [("key", KEY), ("timestamp", TIMESTAMP), ("userId", USER)]
    assert signature == SIGNATURE_WITH_USER


def test_empty_user_id_is_not_added() -> None:
    params, signature = signed_query(KEY, SECRET, "", timestamp=TIMESTAMP)

    assert list(params) == ["key", "timestamp"]
    assert signature == SIGNATURE


def test_signature_is_27_url_safe_characters_without_padding() -> None:
    for secret in ("s3cr3t-LTI", "", "ключ", "x" * 200):
        for base in (BASE, f"{BASE}&userId={USER}", "key=a&timestamp=0"):
            signature = sign(secret, base)
            assert len(signature) == 27
            assert "=" not in signature
            assert set(signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_signed_query_signs_now_in_milliseconds() -> None:
    before = int(time.time() * 1000)
    params, signature = signed_query(KEY, SECRET)
    after = int(time.time() * 1000)

    assert before <= int(params["timestamp"]) <= after
    assert signature == sign(SECRET, f"key={KEY}&timestamp={params['timestamp']}")


def test_now_ms_is_a_13_digit_string() -> None:
    stamp = now_ms()
    assert stamp.isdigit() and len(stamp) == 13
