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
# # Lesson 9 - Model selection
#
# Hyperparameters (learning rate, penalty strength, size) are chosen on data the model
# was not trained on: a validation split or k-fold cross-validation (Stone 1974). Random
# search over log-scaled ranges finds good values with fewer trials than a grid (Bergstra
# & Bengio 2012); search coarse first, then fine. And before any long run, check that the
# network can overfit a tiny subset.
#
# Experiments: `learning-rate-search`, `overfit-small`.

# %%
import nnlearn as nl
from nnlearn import datasets, experiments
from nnlearn import model_selection as ms
from nnlearn.layers import Dense


def build(learning_rate, l2):
    model = nl.Sequential([Dense(16, activation="relu",
                                 kernel_regularizer=nl.regularizers.L2(l2)),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer=nl.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


X, y = datasets.make_spiral(200, noise=0.1, random_state=0)
X_train, X_val, y_train, y_val = ms.train_test_split(X, y, stratify=y,
                                                     random_state=0)
trial = ms.ModelTrial(build, X_train, y_train, validation_data=(X_val, y_val),
                      epochs=20)
results = ms.RandomSearch(trial, {"learning_rate": ms.log_uniform(1e-4, 1.0),
                                  "l2": ms.log_uniform(1e-5, 1e-1)},
                          n_iter=6, random_state=0).run()
print(results.best_params_, round(results.best_score_, 3))

# %%
result = experiments.run("learning-rate-search", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("learning-rate-search").notice)
result.figures["search"]

# %%
result = experiments.run("overfit-small", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("overfit-small").notice)
result.figures["loss"]
