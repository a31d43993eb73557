"""The shipped Prometheus alerting rules name only metrics the services expose, and each says
how severe it is and what to do."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from hub.collator.handler import CollatorHandler
from hub.collator.state import CollatorState
from hub.runtime.metrics import ServiceMetrics

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"


def _exposed(tmp_path: Path) -> set[str]:
    """Every sample name a service's /metrics can carry (the runner's and the collator's)."""
    metrics = ServiceMetrics("collator")
    CollatorHandler(CollatorState(tmp_path / "cases.db")).bind_metrics(metrics.registry)
    registry: CollectorRegistry = metrics.registry
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
        names.update(family.name + s for s in suffixes.get(family.type, []))
    return names


def test_every_rule_names_exposed_metrics_and_says_what_to_do(tmp_path: Path) -> None:
    """Each rule's metrics exist (a renamed metric would silence its alert), its severity is
    warning or critical, and it carries a summary and a runbook."""
    exposed = _exposed(tmp_path)
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert len(rules) >= 8
    for rule in rules:
        named = set(re.findall(r"\bmash_[a-z0-9_]+", rule["expr"]))
        assert named, rule["alert"]
        assert named <= exposed, (rule["alert"], named - exposed)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]
    alerts = {r["alert"] for r in rules}
    assert {"MashStoreUnavailable", "MashKeysUnusable", "MashKeyExpiresSoon"} <= alerts


def test_the_check_catches_a_metric_no_service_exposes(tmp_path: Path) -> None:
    """The name check is not vacuous: a misspelt metric is not among those exposed."""
    exposed = _exposed(tmp_path)
    assert "mash_errors_total" in exposed and "mash_time_to_package_seconds_bucket" in exposed
    assert "mash_error_total" not in exposed
