"""Values from deliveries are text for a web page, never markup: escape them before GX renders.

GX's Data Docs templates insert a result's values (unexpected examples, observed values,
exception messages) into the HTML as they are. Everything else on a page (suite names, column
names, kwargs) comes from the repository's ``expectations/`` files.
"""

from __future__ import annotations

import html
from typing import Any


def escape_values(value: Any) -> Any:
    """``value`` with every string in it (in dicts, lists, tuples, keys too) HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escape_values(k): escape_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(escape_values(v) for v in value)
    return value


def escape_result(suite_result: Any) -> Any:
    """Escape, in place, the delivered values each expectation result of ``suite_result`` holds.

    ``suite_result`` is GX's ``ExpectationSuiteValidationResult``; returned for chaining.
    """
    for result in suite_result.results:
        result.result = escape_values(dict(result.result or {}))
        if result.exception_info:
            result.exception_info = escape_values(result.exception_info)
    return suite_result
