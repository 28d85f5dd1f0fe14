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
# # Lesson 2 - Hebb and the perceptron
#
# Learning enters with Hebb (1949): a connection strengthens when the neurons on both
# sides are active together, `w <- w + x * t`. Rosenblatt's perceptron (1958) corrects
# the weights only when it makes a mistake, `w <- w + lr (t - y) x`, and converges in a
# finite number of steps on any linearly separable problem. Minsky and Papert (1969)
# showed what it cannot do: XOR.
#
# Experiments: `hebb-and`, `perceptron`.

# %%
from nnlearn import classic, datasets, experiments

X = [[1, 1], [1, -1], [-1, 1], [-1, -1]]   # bipolar inputs
t = [1, -1, -1, -1]                        # AND, bipolar targets
hebb = classic.HebbNeuron("bipolar").fit(X, t)
print(hebb.table())

# %%
result = experiments.run("hebb-and", quick=True)
print("What to notice:", experiments.get("hebb-and").notice)
result.figures["lines"]

# %% [markdown]
# The perceptron on AND (separable) and on XOR (not separable):

# %%
for gate in ("and", "xor"):
    X, y = datasets.make_logic_gate(gate)
    p = classic.Perceptron(max_epochs=20, random_state=0).fit(X, y)
    print(f"{gate}: converged={p.converged_}, updates={p.n_updates_}, "
          f"accuracy={p.score(X, y):.2f}")

# %%
result = experiments.run("perceptron", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("perceptron").notice)
result.figures["perceptron"]

# %% [markdown]
# Each correction of the perceptron learning AND: the sample presented is ringed, the line
# before the correction is dashed, and the side where the unit fires is shaded.

# %%
result.figures["perceptron-steps"]
