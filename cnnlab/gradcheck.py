"""The user-facing numerical gradient check.

``gradcheck(fn, inputs)`` compares the engine's gradients of ``L = sum(c * fn(*inputs))``
(``c`` a fixed random weighting, so every output element matters) with central differences
``(L(x + eps e_i) - L(x - eps e_i)) / 2 eps`` in float64. Inputs larger than
``max_elements`` are checked along random directions t instead: ``<grad L, t>`` against
``(L(x + eps t) - L(x - eps t)) / 2 eps``, which costs two evaluations a direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnlab.autograd import Tensor, grad


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


@dataclass
class GradcheckReport:
    passed: bool
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst_input: int | None = None
    worst_index: tuple | None = None
    analytic: float | None = None
    numerical: float | None = None
    checks: int = 0
    details: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        where = ""
        if self.worst_input is not None:
            where = (
                f"; worst at input {self.worst_input} {self.worst_index}: analytic "
                f"{self.analytic:.6g} vs numerical {self.numerical:.6g}"
            )
        return (
            f"gradcheck {verdict}: {self.checks} checks, max abs error "
            f"{self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}{where}"
        )


def gradcheck(
    fn,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_elements: int = 2048,
    n_directions: int = 8,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Check ``fn``'s analytic gradients against finite differences in float64.

    ``inputs`` is a Tensor or a sequence; floating Tensors with ``requires_grad`` are checked
    (all floating Tensors if none asks). They are copied to float64 first. Elementwise
    checking is used up to ``max_elements`` per input, random directions beyond.
    Returns a :class:`GradcheckReport` (truthy when it passed); raises
    :class:`GradcheckError` on failure unless ``raise_exception=False``.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    floats = [isinstance(x, Tensor) and x.dtype.kind == "f" for x in inputs]
    chosen = [f and x.requires_grad for f, x in zip(floats, inputs)]
    if not any(chosen):
        chosen = floats
    if not any(chosen):
        raise ValueError("gradcheck: no floating Tensor among the inputs")
    args = [
        Tensor(x.array.astype(np.float64), requires_grad=c)
        if c
        else (Tensor(x.array.astype(np.float64)) if f else x)
        for x, f, c in zip(inputs, floats, chosen)
    ]
    rng = np.random.default_rng(seed)
    out = fn(*args)
    weights = rng.standard_normal(out.shape)

    def objective() -> float:
        return float((fn(*args).array * weights).sum())

    targets = [a for a, c in zip(args, chosen) if c]
    analytic = grad((out * Tensor(weights)).sum(), targets)
    report = GradcheckReport(passed=True)
    k = 0
    for i, c in enumerate(chosen):
        if not c:
            continue
        x, g = args[i], analytic[k]
        k += 1
        g = np.zeros(x.shape) if g is None else np.asarray(g, dtype=np.float64)
        if x.numel() <= max_elements:
            for idx in np.ndindex(*x.shape):
                orig = x.array[idx]
                x.array[idx] = orig + eps
                fp = objective()
                x.array[idx] = orig - eps
                fm = objective()
                x.array[idx] = orig
                _record(report, i, idx, float(g[idx]), (fp - fm) / (2 * eps), atol, rtol)
        else:
            orig = x.array.copy()
            for d in range(n_directions):
                t = rng.standard_normal(x.shape)
                x.array = orig + eps * t
                fp = objective()
                x.array = orig - eps * t
                fm = objective()
                x.array = orig
                _record(
                    report,
                    i,
                    ("direction", d),
                    float((g * t).sum()),
                    (fp - fm) / (2 * eps),
                    atol,
                    rtol,
                )
    if not report.passed and raise_exception:
        raise GradcheckError(str(report))
    return report


def _record(report, i, idx, a, n, atol, rtol) -> None:
    err = abs(a - n)
    rel = err / max(abs(n), 1e-12)
    report.checks += 1
    ok = err <= atol + rtol * abs(n)
    if err >= report.max_abs_error:
        report.worst_input, report.worst_index = i, idx
        report.analytic, report.numerical = a, n
    report.max_abs_error = max(report.max_abs_error, err)
    report.max_rel_error = max(report.max_rel_error, rel)
    if not ok:
        report.passed = False
        report.details.append((i, idx, a, n))
