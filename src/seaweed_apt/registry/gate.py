"""The promotion gate: is a candidate fit to replace production?

Figures come from the evaluation stage's metrics (FD-EffLite0 against real test clips, lower is
better; conditional accuracy of the frozen item classifier, higher is better). With no production
model yet, the candidate must beat evaluation's trivial baselines (uniform noise, the mean frame
held still) instead."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from seaweed_apt.config.deployment import PromotionGateConfig

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


def _check(name: str, value: float, sense: str, bound: float, bound_is: str) -> dict:
    passed = value <= bound if sense == "<=" else value >= bound
    return {"check": f"{name} {value:.4g} {sense} {bound:.4g} ({bound_is})",
            "passed": bool(passed), "value": float(value), "bound": float(bound)}


def decide(candidate: str, candidate_metrics: dict, production: str | None,
           production_metrics: dict | None, config: PromotionGateConfig) -> GateDecision:
    missing = [k for k in (FD, ACCURACY) if k not in candidate_metrics]
    if missing:
        raise ValueError(f"candidate metrics lack {missing}: run the evaluation stage first")
    fd, accuracy = candidate_metrics[FD], candidate_metrics[ACCURACY]
    fd_margin, accuracy_margin = config.fd_margin_fraction, config.accuracy_margin
    if production == candidate:
        return GateDecision(True, candidate, production,
                            [{"check": "already production", "passed": True}])
    if production is None:
        reference = "the best trivial baseline's"
        reference_fd = candidate_metrics["fd_efflite0_trivial_best"]
        reference_accuracy = candidate_metrics["conditional_accuracy_trivial_best"]
        fd_bound = reference_fd * (1 - fd_margin)
        fd_bound_is = f"{reference} {reference_fd:.4g} less {fd_margin:.0%}"
    else:
        reference = f"production {production}'s"
        reference_fd = production_metrics[FD]
        reference_accuracy = production_metrics[ACCURACY]
        fd_bound = reference_fd * (1 + fd_margin)
        fd_bound_is = f"{reference} {reference_fd:.4g} plus {fd_margin:.0%}"
    checks = [
        _check("FD-EffLite0", fd, "<=", fd_bound, fd_bound_is),
        _check("conditional accuracy", accuracy, ">=", reference_accuracy - accuracy_margin,
               f"{reference} {reference_accuracy:.3g} less {accuracy_margin:.3g}"),
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
