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
# # Lesson 5 - Multilayer networks and backpropagation
#
# A hidden layer of nonlinear units lets a network draw curved boundaries. Training it
# needs each weight's share of the error: backpropagation (Rumelhart, Hinton & Williams
# 1986) applies the chain rule from the loss back to every weight, layer by layer. With
# enough hidden units one layer approximates any continuous function (Cybenko 1989;
# Hornik et al. 1989).
#
# Experiments: `logic-gates` (one neuron vs the 2-2-1 XOR network), `sin-regression`.

# %%
import numpy as np

import nnlearn as nl
from nnlearn import experiments, plot
from nnlearn.layers import Dense

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
y = np.array([0, 1, 1, 0])
model = nl.Sequential([Dense(4, activation="tanh"),
                       Dense(1, activation="sigmoid")], seed=0)
model.compile(optimizer=nl.optimizers.Adam(0.05), loss="binary_crossentropy",
              metrics=["accuracy"])
history = model.fit(X, y, epochs=300, batch_size=4, verbose=0)
print("predictions:", model.predict(X).ravel().round(3))

# %%
plot.plot_history(history, title="XOR with a 2-4-1 network")

# %%
plot.plot_decision_boundary(model, X, y, title="2-4-1 network: XOR")

# %% [markdown]
# The gradients are computed by reverse-mode automatic differentiation on a tape:

# %%
w = nl.Tensor(np.array([0.5, -0.3]), requires_grad=True)
loss = nl.sigmoid((w * nl.as_tensor(np.array([1.0, 2.0]))).sum())
loss.backward()
print("d loss / d w =", w.grad)

# %%
result = experiments.run("logic-gates", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("logic-gates").notice)
result.figures["decision_regions"]

# %%
result = experiments.run("sin-regression", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("sin-regression").notice)
result.figures["fit"]
