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
# # Lesson 8 - Regularization
#
# A flexible model fits the noise of its training data. Penalties keep the weights small:
# ridge / L2 (Hoerl & Kennard 1970) shrinks them all, the lasso / L1 (Tibshirani 1996)
# sets many to exactly zero. For networks, dropout (Srivastava et al. 2014) switches
# random units off during training, and early stopping ends training when the validation
# loss stops improving.
#
# Experiments: `polynomial-regularization`, `dropout-early-stopping`.

# %%
from nnlearn import experiments

result = experiments.run("polynomial-regularization", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("polynomial-regularization").notice)
result.figures["fits"]

# %% [markdown]
# Early stopping with Keras's semantics: `patience=10` stops after ten epochs in a row
# without a better validation loss, and can put the best weights back.

# %%
import nnlearn as nl
from nnlearn import datasets, plot
from nnlearn.layers import Dense, Dropout

X, y = datasets.make_circle(200, noise=0.3, random_state=0)  # shuffled
model = nl.Sequential([Dense(64, activation="relu"), Dropout(0.3),
                       Dense(2, activation="softmax")], seed=0)
model.compile(optimizer=nl.optimizers.Adam(0.01),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = nl.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
history = model.fit(X, y, epochs=200, batch_size=32, validation_split=0.25,
                    verbose=0, seed=0, callbacks=[stop])
print(f"stopped after {len(history.epoch)} epochs;",
      f"best epoch {stop.best_epoch + 1}")
plot.plot_history(history)

# %%
result = experiments.run("dropout-early-stopping", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("dropout-early-stopping").notice)
result.figures["losses"]

# %%
result.figures["decision_boundaries"]
