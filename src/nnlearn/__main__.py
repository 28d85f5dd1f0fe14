"""``python -m nnlearn demo``: the command line (argparse for now)."""

from __future__ import annotations

import argparse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="nnlearn", description="nnlearn command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train seed 004's MNIST network and print "
                                            "its test accuracy")
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--batch-size", type=int, default=128)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    xor = commands.add_parser("xor", help="train the seeds' XOR network with the engine")
    xor.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import main as demo_main

        demo_main(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  verbose=args.verbose)
    else:
        from .experiments.xor import main as xor_main

        xor_main(seed=args.seed)


if __name__ == "__main__":
    main()
