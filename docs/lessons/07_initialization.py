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
# # Lesson 7 - Initialization and normalization
#
# In a deep network the scale of the initial weights decides whether the signal survives:
# too small and every layer's activations shrink towards zero (so do the gradients), too
# large and tanh units saturate. Glorot and Bengio (2010) scale the weights by
# `1 / sqrt(fan_in)` for tanh; He et al. (2015) by `sqrt(2 / fan_in)` for ReLU.
# Standardizing the inputs (zero mean, unit variance) does the same for the first layer.
#
# Experiment: `initialization` (10 layers, after Karpathy's CS231n course).

# %%
from nnlearn import experiments

result = experiments.run("initialization", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("initialization").notice)

# %%
result.figures["comparison"]

# %% [markdown]
# The per-scheme figures share their y-axes, so they can be compared side by side:

# %%
result.figures["0.01_tanh"]

# %%
result.figures["he_relu"]

# %% [markdown]
# The same measurement on a network of your own. Give the mean and std panels fixed
# scales (`ylim=`): on its own automatic scale a spread from 0.85 to 1.35 looks like an
# explosion.

# %%
import numpy as np

import nnlearn as nl
from nnlearn import diagnostics, plot
from nnlearn.layers import Dense

he = [Dense(50, activation="relu", kernel_initializer="he_normal") for _ in range(6)]
model = nl.Sequential([nl.layers.Input(50)] + he, seed=0)
x = nl.preprocessing.StandardScaler().fit_transform(
    np.random.default_rng(0).normal(5.0, 3.0, (200, 50)))
stats = diagnostics.activation_statistics(model, x)
plot.plot_activation_stats(stats, title="6 relu layers, He, standardized inputs",
                           ylim={"mean": (0.0, 1.5), "std": (0.0, 1.5)})
