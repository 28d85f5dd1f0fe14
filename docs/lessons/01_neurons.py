# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 - Neurons and logic gates
#
# McCulloch and Pitts (1943) modelled a neuron as a threshold unit: it adds its binary
# inputs, each times a fixed weight, and *fires* (outputs 1) when the sum reaches a
# threshold. One such unit computes AND, OR, NOT or NAND; networks of them compute any
# logical function. Nothing is learned yet: the weights are chosen by hand.
#
# Experiment: `mcp-gates` (`nnlearn experiments run mcp-gates`).

# %%
import numpy as np

from nnlearn import classic, experiments, plot

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
print("AND ", classic.AND(inputs))
print("OR  ", classic.OR(inputs))
print("NAND", classic.NAND(inputs))
print("XOR (two layers)", classic.XOR(inputs))

# %% [markdown]
# A unit of your own: weights (1, 1) and threshold 2 is AND; lower the threshold to 1
# and it becomes OR.

# %%
neuron = classic.MCPNeuron(weights=[1, 1], threshold=1)
print(neuron(inputs))

# %% [markdown]
# The experiment draws, for each gate, the line `w1 x1 + w2 x2 = threshold`: the unit
# fires on the shaded side.

# %%
result = experiments.run("mcp-gates", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("mcp-gates").notice)

# %%
result.figures["gates"]

# %% [markdown]
# XOR has no single line that separates its ones from its zeros, so it needs two layers
# of units: XOR(a, b) = AND(OR(a, b), NAND(a, b)). The diagram of such a 2-2-1 network:

# %%
plot.draw_network([2, 2, 1])
