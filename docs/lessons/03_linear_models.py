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
# # Lesson 3 - Linear models and gradient descent
#
# A linear model predicts `y = w x + b`. Its cost, the mean squared error, is a bowl in
# (w, b); gradient descent walks down the bowl by steps `-lr * gradient`. Widrow and
# Hoff's (1960) Adaline/LMS rule is the same step taken one sample at a time. The normal
# equation gives the bottom of the bowl directly (least squares, Gauss and Legendre).
#
# Experiment: `linear-regression`.

# %%
from nnlearn import classic, datasets, experiments, plot

X, y = datasets.make_line(100, random_state=0)
exact = classic.LinearRegression(solver="normal").fit(X, y)
gd = classic.LinearRegression(solver="gd", learning_rate=0.01, n_epochs=1000,
                              initial_weights=[1.0, -0.5]).fit(X, y)
print("normal equation: a =", exact.coef_, "b =", exact.intercept_)
print("gradient descent: a =", gd.coef_, "b =", gd.intercept_)

# %% [markdown]
# The cost falls quickly at first and then slowly: the learning rate times a gradient
# that shrinks near the minimum.

# %%
plot.plot_history({"cost": gd.cost_history_})

# %%
result = experiments.run("linear-regression", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("linear-regression").notice)
result.figures["fits"]

# %%
result.figures["cost"]
