"""A page opened without its token explains what is missing, in the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wsbridge as wb
from tests.helpers.common import http_get


@pytest.fixture
def guarded() -> Iterator[wb.Bridge]:
    with wb.Bridge(port=0, token="s3cret-token-value") as bridge:
        bridge.dashboard("main", wb.Label("hi"))
        yield bridge


@pytest.mark.parametrize("path", ["", "d/main"])
def test_a_page_without_its_token_explains_the_token(guarded: wb.Bridge, path: str) -> None:
    resp = http_get(guarded.url + path)
    assert resp.status == 403
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "token" in resp.body and "?token=" in resp.body
    assert "s3cret-token-value" not in resp.body
    assert "<title>" in resp.body  # a page, not Tornado's bare "403: Forbidden"


def test_a_wrong_token_says_so_too(guarded: wb.Bridge) -> None:
    resp = http_get(guarded.url + "d/main?token=wrong")
    assert resp.status == 403 and "token" in resp.body
    assert "wrong" not in resp.body  # what was given is not echoed back


def test_the_right_token_still_opens_it(guarded: wb.Bridge) -> None:
    bearer = {"Authorization": "Bearer s3cret-token-value"}
    assert http_get(guarded.url + "d/main", headers=bearer).status == 200


def test_other_errors_keep_their_pages(guarded: wb.Bridge) -> None:
    bearer = {"Authorization": "Bearer s3cret-token-value"}
    missing = http_get(guarded.url + "d/nothing-here", headers=bearer)
    assert missing.status == 404 and "?token=" not in missing.body
