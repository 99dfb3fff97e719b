"""The collection section of the HTML report (a Jinja2 template with autoescape: every dataset,
group and tag name is untrusted text and is escaped)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from .results import CollectionResult

TEMPLATE = """
<h3>Collection</h3>
<p class="lle-collection-source">{{ result.source }}: {{ result.records }} records
{%- if result.skipped_unknown %}; skipped (unknown benchmarks):
{%- for name, count in result.skipped_unknown | dictsort %} {{ name }} ({{ count }}){% if not loop.last %},{% endif %}{% endfor %}
{%- endif %}</p>
<table class="lle-table lle-collection">
<thead><tr><th>task_type</th><th>metric</th><th>dataset_name</th><th>average_score</th><th>count</th><th>errors</th></tr></thead>
<tbody>
{%- for row in result.table %}
<tr><td>{{ row.task_type }}</td><td>{{ row.metric }}</td><td>{{ row.dataset_name }}</td><td>{{ fmt(row.average_score) }}</td><td>{{ row.count }}</td><td>{{ row.errors }}</td></tr>
{%- endfor %}
</tbody></table>
<table class="lle-table lle-collection-groups">
<thead><tr><th>level</th><th>name</th><th>micro average (over samples)</th><th>macro average (over datasets)</th><th>count</th><th>datasets</th><th>errors</th></tr></thead>
<tbody>
{%- for row in result.groups if row.kind != "dataset" %}
<tr><td>{{ row.kind }}</td><td>{{ row.name }}</td><td>{{ fmt(row.micro) }}</td><td>{{ fmt(row.macro) }}</td><td>{{ row.count }}</td><td>{{ row.datasets }}</td><td>{{ row.errors }}</td></tr>
{%- endfor %}
</tbody></table>
"""


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(TEMPLATE)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def render_collection(payload: dict[str, Any] | None) -> str:
    """The section for a results JSON's `collection` payload; empty without one."""
    if not payload:
        return ""
    return _template().render(result=CollectionResult.model_validate(payload), fmt=_fmt)
