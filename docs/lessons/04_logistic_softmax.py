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
# # Lesson 4 - Logistic and softmax regression
#
# For a yes/no answer, squash the linear score through the sigmoid
# `1 / (1 + exp(-z))` and read it as a probability (Cox 1958); train by minimising the
# cross-entropy, whose gradient is simply `(p - y) x`. With K classes, the softmax turns
# K scores into K probabilities (multinomial logistic regression).
#
# Experiments: `logistic-regression`, `softmax-regression`.

# %%
from nnlearn import classic, datasets, experiments, plot

hours, passed = datasets.make_study_hours(100, random_state=0)
model = classic.LogisticRegression(learning_rate=0.1, n_epochs=1000)
model.fit(hours / 10, passed)                      # hours in tens
p = model.predict_proba([[2.0], [3.5], [5.0]])[:, 1]
print("P(pass) after 20, 35, 50 hours:", p.round(3))

# %%
result = experiments.run("logistic-regression", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("logistic-regression").notice)
result.figures["probability"]

# %% [markdown]
# Four grades from initial knowledge and study time: softmax regression's regions.

# %%
X, grade = datasets.make_grades(400, random_state=0)
X = X / [100, 50]                                  # both features in [0, 1]
softmax = classic.SoftmaxRegression(learning_rate=0.5, n_epochs=300).fit(X, grade)
plot.plot_decision_boundary(softmax, X, grade, margin=0.05,
                            title="softmax regression: four grades")

# %%
result = experiments.run("softmax-regression", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("softmax-regression").notice)
result.figures["probabilities"]
