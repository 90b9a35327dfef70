"""The promotion gate: is a candidate fit to replace production?

Figures come from the evaluation stage's metrics, all on the test prompts (FD-EffLite0 against real
test clips, lower is better; conditional accuracy of the frozen item classifier, higher is better;
the share of clips moving along the captioned axis; per-class accuracy). With no production model
yet, the candidate must beat evaluation's trivial baselines (uniform noise, the mean frame held
still) on FD and accuracy, and always-one-axis on motion, instead. Whatever production is, no
class may collapse: every class keeps a share of its own teacher's accuracy on that class."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from seaweed_apt.config.deployment import PromotionGateConfig
from seaweed_apt.registry.registry import ProductionMoved, is_known, metric_text

logger = logging.getLogger(__name__)

FD, ACCURACY = "fd_efflite0_apt1", "conditional_accuracy_apt1"
MOTION, CLASS_RATIO = "motion_axis_accuracy_apt1", "class_accuracy_ratio_min_apt1"


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


def _check(name: str, value, sense: str, bound, bound_is: str) -> dict:
    """One comparison; a figure or bound that is unknown (missing, or null as a NaN is stored)
    fails it, saying so, rather than passing or raising."""
    if not (is_known(value) and is_known(bound)):
        return {"check": f"{name} {metric_text(value, '.4g')} {sense} "
                         f"{metric_text(bound, '.4g')} ({bound_is}): unknown",
                "passed": False, "value": None, "bound": None}
    passed = value <= bound if sense == "<=" else value >= bound
    return {"check": f"{name} {value:.4g} {sense} {bound:.4g} ({bound_is})",
            "passed": bool(passed), "value": float(value), "bound": float(bound)}


def _reference(figure: str, trivial: str, candidate_metrics: dict, production: str | None,
               production_metrics: dict | None) -> tuple[str, object, bool]:
    """(who, value, from production): production's figure where it has one, else the best
    trivial baseline's (a production model with a null figure must not block every candidate)."""
    if production is not None and is_known((production_metrics or {}).get(figure)):
        return f"production {production}'s", production_metrics[figure], True
    who = "the best trivial baseline's" if production is None else \
        f"production {production}'s unknown, so the best trivial baseline's"
    return who, candidate_metrics.get(trivial), False


def decide(candidate: str, candidate_metrics: dict, production: str | None,
           production_metrics: dict | None, config: PromotionGateConfig) -> GateDecision:
    """Raises ValueError when the candidate's metrics lack the gate's figures (evaluation did
    not run); a figure that is there but null is a failed check, not an error."""
    missing = [k for k in (FD, ACCURACY, MOTION, CLASS_RATIO) if k not in candidate_metrics]
    if missing:
        raise ValueError(f"candidate metrics lack {missing}: run the evaluation stage first (an "
                         "evaluation older than the motion and per-class figures lacks them too)")
    fd, accuracy = candidate_metrics[FD], candidate_metrics[ACCURACY]
    fd_margin, accuracy_margin = config.fd_margin_fraction, config.accuracy_margin
    if production == candidate:
        return GateDecision(True, candidate, production,
                            [{"check": "already production", "passed": True}])
    who, reference_fd, from_production = _reference(
        FD, "fd_efflite0_trivial_best", candidate_metrics, production, production_metrics)
    known = is_known(reference_fd)
    fd_bound = reference_fd * (1 + fd_margin if from_production else 1 - fd_margin) \
        if known else None
    fd_bound_is = f"{who} {metric_text(reference_fd, '.4g')} " \
        f"{'plus' if from_production else 'less'} {fd_margin:.0%}"
    who, reference_accuracy, _ = _reference(
        ACCURACY, "conditional_accuracy_trivial_best", candidate_metrics, production,
        production_metrics)
    accuracy_bound = reference_accuracy - accuracy_margin if is_known(reference_accuracy) \
        else None
    checks = [
        _check("FD-EffLite0", fd, "<=", fd_bound, fd_bound_is),
        _check("conditional accuracy", accuracy, ">=", accuracy_bound,
               f"{who} {metric_text(reference_accuracy, '.3g')} less {accuracy_margin:.3g}"),
        _motion_check(candidate_metrics, production, production_metrics, config),
        _class_collapse_check(candidate_metrics, config),
    ]
    return GateDecision(all(c["passed"] for c in checks), candidate, production, checks)


def _motion_check(candidate_metrics: dict, production: str | None,
                  production_metrics: dict | None, config: PromotionGateConfig) -> dict:
    """Motion following may fall by `motion_axis_margin` below production's; with no production
    figure it must beat always-one-axis (`motion_axis_chance`) by that margin."""
    margin = config.motion_axis_margin
    reference = (production_metrics or {}).get(MOTION) if production is not None else None
    if is_known(reference):
        bound, bound_is = reference - margin, f"production {production}'s " \
            f"{reference:.3g} less {margin:.3g}"
    else:
        chance = candidate_metrics.get("motion_axis_chance")
        # Where the prompts name one axis nearly always, chance plus the margin passes 1: the
        # bound is then a perfect score.
        bound = min(chance + margin, 1.0) if is_known(chance) else None
        bound_is = f"always one axis, {metric_text(chance, '.3g')}, plus {margin:.3g} (at most 1)"
    return _check("motion along the captioned axis", candidate_metrics[MOTION], ">=", bound,
                  bound_is)


def _class_collapse_check(candidate_metrics: dict, config: PromotionGateConfig) -> dict:
    """Every item class keeps `class_accuracy_ratio_min` of its own teacher's accuracy on that
    class: the smallest such share (`class_accuracy_ratio_min_apt1`) is the one checked."""
    worst = candidate_metrics.get("class_accuracy_ratio_min_class") or "?"
    return _check(f"accuracy on the class APT keeps least of its teacher's ({worst}), as a "
                  "share of the teacher's", candidate_metrics[CLASS_RATIO], ">=",
                  config.class_accuracy_ratio_min, "no class collapses")


def gate_and_promote(registry, candidate: str, config: PromotionGateConfig) -> GateDecision:
    """Decide on `candidate` against the registry's production model; promote only on a pass
    (a refusal leaves the production pointer as it was). The promotion happens only if
    production is still the model the decision compared with; if another promotion moved it
    meanwhile, the candidate is judged again against the new one.

    Raises:
        RegistryError: production cannot be read or resolved (a store error, a pointer naming
            a version without a manifest): never taken for "no production model".
        ValueError: the candidate's metrics lack the gate's figures.
    """
    while True:
        production = registry.production()
        production_metrics = registry.get(production).metrics if production else None
        decision = decide(candidate, registry.get(candidate).metrics, production,
                          production_metrics, config)
        if not decision.promote:
            return decision
        try:
            registry.promote(candidate, decision.reason, expected=production)
            return decision
        except ProductionMoved as moved:
            logger.warning("gate: %s; judging %s again", moved, candidate)
