"""The promotion gate: is a candidate fit to replace production?

Figures come from the evaluation stage's metrics (FD-EffLite0 against real test clips, lower is
better; conditional accuracy of the frozen item classifier, higher is better). With no production
model yet, the candidate must beat evaluation's trivial baselines (uniform noise, the mean frame
held still) instead."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from seaweed_apt.config import PromotionGateConfig

FD, ACCURACY = "fd_efflite0_apt1", "conditional_accuracy_apt1"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    candidate: str
    production: str | None
    checks: list[dict] = field(default_factory=list)

    @property
    def reason(self) -> str:
        failed = [c["check"] for c in self.checks if not c["passed"]]
        if self.promote:
            return "passed: " + "; ".join(c["check"] for c in self.checks)
        return "refused: " + "; ".join(failed)

    def as_dict(self) -> dict:
        return asdict(self) | {"reason": self.reason}


def _check(name: str, value: float, sense: str, bound: float) -> dict:
    passed = value <= bound if sense == "<=" else value >= bound
    return {"check": f"{name} {value:.4g} {sense} {bound:.4g}", "passed": bool(passed),
            "value": float(value), "bound": float(bound)}


def decide(candidate: str, candidate_metrics: dict, production: str | None,
           production_metrics: dict | None, config: PromotionGateConfig) -> GateDecision:
    missing = [k for k in (FD, ACCURACY) if k not in candidate_metrics]
    if missing:
        raise ValueError(f"candidate metrics lack {missing}: run the evaluation stage first")
    fd, accuracy = candidate_metrics[FD], candidate_metrics[ACCURACY]
    if production == candidate:
        return GateDecision(True, candidate, production,
                            [{"check": "already production", "passed": True}])
    if production is None:
        trivial_fd = candidate_metrics["fd_efflite0_trivial_best"]
        trivial_accuracy = candidate_metrics["conditional_accuracy_trivial_best"]
        checks = [
            _check("FD-EffLite0 below the best trivial baseline's", fd, "<=",
                   trivial_fd * (1 - config.fd_margin_fraction)),
            _check("conditional accuracy within the margin of the best trivial baseline's",
                   accuracy, ">=", trivial_accuracy - config.accuracy_margin),
        ]
    else:
        checks = [
            _check(f"FD-EffLite0 not worse than production {production}'s", fd, "<=",
                   production_metrics[FD] * (1 + config.fd_margin_fraction)),
            _check(f"conditional accuracy not worse than production {production}'s", accuracy,
                   ">=", production_metrics[ACCURACY] - config.accuracy_margin),
        ]
    return GateDecision(all(c["passed"] for c in checks), candidate, production, checks)


def gate_and_promote(registry, candidate: str, config: PromotionGateConfig) -> GateDecision:
    """Decide on `candidate` against the registry's production model; promote only on a pass
    (a refusal leaves the production pointer as it was)."""
    production = registry.production()
    production_metrics = registry.get(production).metrics if production else None
    decision = decide(candidate, registry.get(candidate).metrics, production, production_metrics,
                      config)
    if decision.promote:
        registry.promote(candidate, decision.reason)
    return decision
