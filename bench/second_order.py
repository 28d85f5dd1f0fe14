"""Iterations and seconds to the noise floor of the sin regression, for every method of
the ``second-order`` experiment.

The 1-3-1 sigmoid net on 100 points of sin(pi x) + N(0, 0.25^2), weights from N(0, 1),
float64, full batch, trained through ``fit`` (one epoch = one iteration).  "Reached" is
the first iteration whose training MSE is at most 1.1 x 0.0625 (the noise variance);
seconds are wall-clock time inside ``fit`` until then (best of ``--repeats`` runs); the
time per iteration is over the whole run.

    python bench/second_order.py [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse

from nnlearn.experiments import second_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    best: dict = {}
    for _ in range(args.repeats):
        _, summary = second_order.compare("sin", seed=args.seed)
        for name, s in summary.items():
            kept = best.setdefault(name, s)
            if s["total_seconds"] < kept["total_seconds"]:
                best[name] = s
    print(f"sin regression 1-3-1, 100 points, noise 0.25: iterations and seconds until "
          f"MSE <= {second_order.SIN_TARGET:.5f}, best of {args.repeats}")
    print(f"  {'method':<10s} {'iterations':>10s} {'seconds':>9s} {'ms/iter':>8s} "
          f"{'final MSE':>10s} (after)")
    for name, s in best.items():
        reached = s["iterations"] is not None
        per_iteration = 1e3 * s["total_seconds"] / s["total_iterations"]
        print(f"  {name:<10s} {s['iterations'] if reached else '-':>10} "
              f"{s['seconds'] if reached else float('nan'):9.3f} {per_iteration:8.3f} "
              f"{s['final_loss']:10.5f} ({s['total_iterations']} iterations)")


if __name__ == "__main__":
    main()
