"""Helpers for pages in real Chromium (the ``page`` fixture, tests/conftest.py)."""

from __future__ import annotations

from typing import Any

__all__ = ["RANGE", "open_dashboard", "root", "set_range", "wait_dom"]

#: the range input of a Slider (format with the model id)
RANGE = '[data-wsbridge-model="{}"] input[type=range]'


def open_dashboard(page: Any, url: str) -> None:
    """Load a dashboard page and wait until its client holds the document."""
    page.goto(url)
    page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq >= 0")


def root(model: Any) -> str:
    """The CSS selector of ``model``'s view (a wsbridge model, or anything with an ``id``)."""
    return f'[data-wsbridge-model="{model.id}"]'


def wait_dom(page: Any, js: str, *args: Any) -> None:
    """Wait until ``js`` (a function of the args) is truthy in the page."""
    page.wait_for_function(f"(args) => ({js})(...args)", arg=list(args), timeout=10_000)


def set_range(page: Any, selector: str, value: float) -> None:
    """Move a native range input as a user would (input events, then change)."""
    page.locator(selector).evaluate(
        """(el, v) => { el.value = String(v);
             el.dispatchEvent(new Event('input', {bubbles: true}));
             el.dispatchEvent(new Event('change', {bubbles: true})); }""",
        value,
    )
