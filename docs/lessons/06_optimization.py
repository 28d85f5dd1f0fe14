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
# # Lesson 6 - Optimization
#
# Plain gradient descent zig-zags in narrow valleys. Momentum (Polyak 1964) and Nesterov's
# accelerated gradient (Nesterov 1983; Sutskever et al. 2013) add velocity; Adagrad (Duchi
# et al. 2011), RMSprop (Hinton's lecture 6e) and Adam (Kingma & Ba 2015) scale each
# coordinate by its gradient history. Second-order and quasi-Newton methods - conjugate
# gradient (Fletcher & Reeves 1964), L-BFGS (Liu & Nocedal 1989), Levenberg-Marquardt
# (Levenberg 1944; Marquardt 1963) - use curvature; Rprop (Riedmiller & Braun 1993) uses
# only the gradient's sign.
#
# Experiments: `optimizers`, `second-order`.

# %%
from nnlearn import experiments

result = experiments.run("optimizers", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("optimizers").notice)

# %%
result.figures["bowl_paths"]

# %%
result.figures["network_loss"]

# %% [markdown]
# Your own comparison on the same network: one line per optimizer.

# %%
import nnlearn as nl
from nnlearn import datasets, plot
from nnlearn.layers import Dense

X, y = datasets.make_spiral(200, noise=0.05, random_state=0)
curves = {}
for name, optimizer in {"SGD": nl.optimizers.SGD(0.05),
                        "momentum": nl.optimizers.SGD(0.05, momentum=0.9),
                        "Adam": nl.optimizers.Adam(0.01)}.items():
    model = nl.Sequential([Dense(16, activation="tanh"),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    history = model.fit(X, y, epochs=30, batch_size=32, verbose=0, seed=0)
    curves[name] = history.history["loss"]
plot.plot_history(curves, title="spiral, 2-16-2: training loss")

# %%
result = experiments.run("second-order", quick=True)
print("What to notice:", experiments.get("second-order").notice)
result.figures["sin_loss"]

# %%
result.figures["xor_loss"]
