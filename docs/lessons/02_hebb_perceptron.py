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
# The units of lesson 1 compute logic gates, but only after someone has worked out
# their weights. Learning means finding the weights from examples: pairs of an input
# and the output we want for it. This lesson follows the first two answers. Donald Hebb
# (1949) proposed a rule for how synapses might change in the brain, and it can be run
# as a learning algorithm: strengthen a connection whenever the units on both sides are
# active together. Frank Rosenblatt (1958) built the perceptron, a threshold unit
# trained by correcting its mistakes, and proved that it finds a separating line
# whenever one exists. Marvin Minsky and Seymour Papert (1969) then showed precisely
# which problems have no such line, XOR among them, which is the limit that multilayer
# networks (lesson 5) overcome.
#
# ## Hebb's rule
#
# "When an axon of cell A is near enough to excite a cell B and repeatedly or
# persistently takes part in firing it, some growth process or metabolic change takes
# place" (Hebb 1949), so that A becomes more effective at firing B. As a learning rule for
# one unit with inputs $x_i$, bias input 1, and target output $t$, each training pair
# changes the weights by the product of input and target:
#
# $$
# w_i \leftarrow w_i + x_i\, t, \qquad b \leftarrow b + t .
# $$
#
# One pass over the training pairs, starting from zero weights, and the unit classifies
# by the sign of $w \cdot x + b$. The rule uses only quantities available at the synapse,
# which is what made it plausible biologically; it never looks at what the unit
# actually outputs.
#
# ## Why bipolar values
#
# With binary values (0 and 1) Hebb's rule learns almost nothing: a pair with target 0
# changes no weight, and a pair with input 0 changes no weight either. On AND only the
# pair $(1, 1) \to 1$ produces a change, and the resulting unit fires for every input
# (exercise 1). With *bipolar* values, $-1$ and $+1$, every pair counts: "both off"
# contributes as much as "both on". The worked example of the course, AND with bipolar
# inputs and targets:

# %%
import numpy as np

from nnlearn import classic, datasets, experiments

X = [[1, 1], [1, -1], [-1, 1], [-1, -1]]   # bipolar inputs
t = [1, -1, -1, -1]                        # AND, bipolar targets
hebb = classic.HebbNeuron("bipolar").fit(X, t)
print(hebb.table())
print("predictions:", hebb.predict(X).tolist())

# %% [markdown]
# Read the table row by row. The first pair, target $+1$, adds its input $(1, 1, 1)$ to
# the zero weights. The second, target $-1$, subtracts $(1, -1, 1)$, giving $(0, 2, 0)$:
# the line $x_2 = 0$. The third subtracts $(-1, 1, 1)$ and the fourth subtracts $(-1,
# -1, 1)$, ending at $w = (2, 2)$, $b = -2$: the line $x_1 + x_2 = 1$, which separates
# $(1, 1)$ from the other three corners. The predictions equal the targets. The
# experiment draws the line after each pair:

# %%
result = experiments.run("hebb-and", quick=True)
print("What to notice:", experiments.get("hebb-and").notice)
result.figures["lines"]

# %% [markdown]
# Each panel shows the four training points (red: target $+1$), the pair just presented
# (ringed), the line before the step (dashed) and after it (solid), and the side where
# the unit fires (shaded). The line moves with every pair. After the third pair it is
# already the right line, $x_1 + x_2 = 1$, and classifies all four points; the fourth
# pair changes the weights anyway, from $(1, 1, -1)$ to $(2, 2, -2)$, the same line with
# doubled weights. Hebb's rule adds, it never checks whether the unit was already right.
#
# ## The perceptron
#
# Rosenblatt's perceptron is a threshold unit with the bias folded in, $x = (x_1, \dots,
# x_n, 1)$, that outputs $+1$ when $w \cdot x > 0$ and learns only from mistakes. Present
# the samples one at a time; when a sample with target $t \in \{-1, +1\}$ lies on the
# wrong side, $t\, w \cdot x \le 0$, move the weights towards it:
#
# $$
# w \leftarrow w + \eta\, t\, x \qquad \text{only if } t\, w \cdot x \le 0 .
# $$
#
# The correction increases $t\, w \cdot x$ by $\eta \lVert x \rVert^2 > 0$, so it turns the
# line towards classifying that sample correctly. The same rule is gradient descent on
# the *perceptron criterion*, the total amount by which the misclassified samples
# $\mathcal M$ are on the wrong side:
#
# $$
# J_p(w) = -\sum_{i \in \mathcal M} t_i\, w \cdot x_i, \qquad
# \nabla J_p(w) = -\sum_{i \in \mathcal M} t_i\, x_i .
# $$
#
# Stepping against the gradient of one sample's term is exactly the correction above.
# Unlike Hebb's rule it stops changing once every sample is on the right side.
#
# ## The convergence theorem
#
# Rosenblatt's result, in the form Novikoff (1962) proved it: if some unit vector $u$
# separates the data with a margin, $t_i\, u \cdot x_i \ge \gamma > 0$ for every sample,
# and every $\lVert x_i \rVert \le R$, then the perceptron starting from $w = 0$ makes at
# most
#
# $$
# k \le \left(\frac{R}{\gamma}\right)^2
# $$
#
# corrections, in any order of presentation. (Each correction raises $w \cdot u$ by at
# least $\eta\gamma$, while $\lVert w \rVert^2$ grows by at most $\eta^2 R^2$; after $k$
# corrections $k \eta \gamma \le w \cdot u \le \lVert w \rVert \le \sqrt k \eta R$.) On
# linearly separable data training always stops; exercise 3 checks the bound on AND.
#
# Here the perceptron on AND and on XOR:

# %%
for gate in ("and", "xor"):
    Xg, yg = datasets.make_logic_gate(gate)
    p = classic.Perceptron(max_epochs=20, random_state=0).fit(Xg, yg)
    print(f"{gate}: converged={p.converged_}, updates={p.n_updates_}, "
          f"accuracy={p.score(Xg, yg):.2f}")

# %%
result = experiments.run("perceptron", quick=True)
perceptron = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("perceptron").notice)
result.figures["perceptron"]

# %% [markdown]
# The first three panels show the final line for each gate. AND and OR end with a line
# that separates the red corners from the blue ones, after 18 and 9 corrections. For XOR
# there is no line to show: after 20 epochs the weights are back at zero, the unit
# fires everywhere (the shading covers the square), and half the corners are wrong.
# The right panel counts the corrections made in each epoch: AND's and OR's fall to
# zero, a clean epoch, and training stops; XOR's stay at four every epoch, because every
# epoch contains at least one mistake and the corrections undo each other.

# %%
assert perceptron["AND"]["converged"] and perceptron["OR"]["converged"]
assert not perceptron["XOR"]["converged"] and min(perceptron["XOR"]["updates_per_epoch"]) > 0

# %% [markdown]
# The steps figure replays every correction on AND:

# %%
result.figures["perceptron-steps"]

# %% [markdown]
# Each panel is one correction: the epoch, the sample presented (ringed), the weights
# after the correction, the line before (dashed) and after (solid), and the side where
# the unit now fires (shaded). Early corrections swing the line across the square, and
# in some panels the unit fires nowhere in view. Each correction fixes the ringed sample
# but can break another, which the next epoch corrects in turn. The eighteenth
# correction, in epoch 8, leaves $w = (3, 2)$, $b = -4$: the line $3x_1 + 2x_2 = 4$, with
# only $(1, 1)$ on the firing side, and the ninth epoch makes no correction.
#
# ## Where it fails
#
# The convergence theorem has a mirror image: when no separating line exists, the
# perceptron never settles. Its weights cycle through a finite set of values forever,
# and stopping it at an arbitrary epoch gives an arbitrary line (the pocket algorithm
# of Gallant (1990) keeps the best weights seen). Minsky and Papert (1969) analysed the
# problem in depth: functions such as XOR, or telling whether a figure is connected,
# are beyond any single layer of such units, however it is trained. Multilayer networks
# could represent them (lesson 1), but there was no rule to train their hidden units;
# the perceptron's rule needs to know each unit's correct output, and a hidden unit has
# none. The answer, backpropagation, needed smooth units and gradients (lessons 3 to 5).
#
# ## Exercises
#
# **Exercise 1 (Hebb with binary values).** Train `HebbNeuron("binary")` on AND with
# inputs and targets in $\{0, 1\}$. Which pairs change the weights, and what does the
# trained unit output?

# %% [markdown] tags=["solution"]
# *Solution.* Only $(1, 1) \to 1$ changes anything: the three pairs with target 0 add
# $x \cdot 0 = 0$. The weights end at $(1, 1)$ with bias 1, so $w \cdot x + b \ge 1 > 0$ for
# every input and the unit fires for all four: it has learned "always 1". (The library
# warns that the rule did not find weights that classify every pair.)

# %% tags=["solution"]
import warnings

binary_inputs = [[1, 1], [1, 0], [0, 1], [0, 0]]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    binary = classic.HebbNeuron("binary").fit(binary_inputs, [1, 0, 0, 0])
print(binary.table())
print("outputs:", binary.predict(binary_inputs).tolist())
assert binary.predict(binary_inputs).tolist() == [1, 1, 1, 1]

# %% [markdown]
# **Exercise 2 (the perceptron rule by hand).** Run the perceptron update with $\eta = 1$
# from $w = 0$ on AND with targets $\pm 1$ (inputs $x = (x_1, x_2, 1)$, cyclic order), and
# compare the final weights with `Perceptron`.

# %% [markdown] tags=["solution"]
# *Solution.* The loop below is the rule as written: correct when $t\, w \cdot x \le 0$,
# stop after an epoch without corrections. It makes the same 18 corrections and ends at
# the same $w = (3, 2)$, $b = -4$ as the library.

# %% tags=["solution"]
Xa = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
ta = np.array([-1, -1, -1, 1])
w, corrections = np.zeros(3), 0
for epoch in range(100):
    changed = False
    for x_i, t_i in zip(Xa, ta):
        if t_i * (w @ x_i) <= 0:
            w += t_i * x_i
            corrections += 1
            changed = True
    if not changed:
        break
model = classic.Perceptron(max_epochs=100).fit(Xa[:, :2], [0, 0, 0, 1])
print(f"by hand: w = {w[:2]}, b = {w[2]}, {corrections} corrections")
print(f"library: w = {model.coef_[0]}, b = {model.intercept_[0]}, {model.n_updates_} updates")
assert np.allclose(w, [*model.coef_[0], model.intercept_[0]]) and corrections == model.n_updates_

# %% [markdown]
# **Exercise 3 (Novikoff's bound on AND).** For AND with bias input, $R = \max \lVert x_i
# \rVert = \sqrt 3$. Take the separating direction $u = (2, 2, -3) / \sqrt{17}$ and compute
# its margin $\gamma = \min_i t_i\, u \cdot x_i$. Is the bound $(R / \gamma)^2$ respected by
# the 18 corrections?

# %% [markdown] tags=["solution"]
# *Solution.* $u \cdot x$ is $-3/\sqrt{17}$ for $(0, 0)$, $-1/\sqrt{17}$ for $(0, 1)$ and
# $(1, 0)$, and $1/\sqrt{17}$ for $(1, 1)$; with the targets, $\gamma = 1/\sqrt{17}$. The
# bound is $3 \times 17 = 51 \ge 18$. The bound holds for every separating $u$, so the best
# one gives the tightest bound; it is a worst case, and the actual count is often far
# smaller.

# %% tags=["solution"]
u = np.array([2.0, 2.0, -3.0]) / np.sqrt(17)
gamma = np.min(ta * (Xa @ u))
R = np.max(np.linalg.norm(Xa, axis=1))
bound = (R / gamma) ** 2
print(f"gamma = {gamma:.4f}, R = {R:.4f}, bound (R/gamma)^2 = {bound:.1f}, "
      f"corrections made: {corrections}")
assert gamma > 0 and corrections <= bound

# %% [markdown]
# **Exercise 4 (XOR cycles).** Run the perceptron on XOR for 50 epochs and record the
# weights at the end of each epoch. Show that they repeat.

# %% [markdown] tags=["solution"]
# *Solution.* With cyclic presentation the weights after an epoch depend only on the
# weights before it, and they stay in a small bounded set (integers of small size), so
# they must repeat, and from the first repetition on they cycle for ever. Here they
# return to zero after every epoch: the four corrections of each epoch cancel out.

# %% tags=["solution"]
Xx, yx = datasets.make_logic_gate("xor")
tx = np.where(np.asarray(yx) > 0, 1, -1)
Xb = np.hstack([np.asarray(Xx, dtype=float), np.ones((4, 1))])
w, seen = np.zeros(3), []
for epoch in range(50):
    for x_i, t_i in zip(Xb, tx):
        if t_i * (w @ x_i) <= 0:
            w += t_i * x_i
    seen.append(tuple(w))
print("distinct end-of-epoch weights:", sorted(set(seen)))
assert len(set(seen)) < 50

# %% [markdown]
# ## Sources
#
# - D. O. Hebb, *The Organization of Behavior*, Wiley, 1949.
# - F. Rosenblatt, "The perceptron: a probabilistic model for information storage and
#   organization in the brain", *Psychological Review* 65, 386-408, 1958.
# - A. B. J. Novikoff, "On convergence proofs on perceptrons", Symposium on the
#   Mathematical Theory of Automata, 1962.
# - M. Minsky & S. Papert, *Perceptrons*, MIT Press, 1969.
# - S. I. Gallant, "Perceptron-based learning algorithms", *IEEE Transactions on Neural
#   Networks* 1, 1990 (the pocket algorithm).
# - L. Fausett, *Fundamentals of Neural Networks*, 1994 (the Hebb net tables).
