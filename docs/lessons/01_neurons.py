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
# A biological neuron collects signals from other neurons through its dendrites, and
# when the combined stimulation passes a threshold it fires a pulse down its axon to
# the next neurons. Warren McCulloch and Walter Pitts (1943) kept only that much of the
# biology: a unit that adds its inputs, each multiplied by a fixed weight, and outputs 1
# when the sum reaches a threshold and 0 otherwise. They showed that networks of such
# units can compute any logical function, so that a brain made of them could in
# principle carry out any reasoning that logic can express. That paper is the start of
# the field. This lesson builds the logic gates from threshold units, finds the one
# gate a single unit cannot compute, and builds it from two layers. Nothing here learns:
# every weight is chosen by hand, which is the limitation the next lesson removes.
#
# ## The McCulloch-Pitts unit
#
# The unit has binary inputs $x_1, \dots, x_n \in \{0, 1\}$, weights $w_1, \dots, w_n$ and a
# threshold $\theta$:
#
# $$
# y = \begin{cases} 1 & \text{if } \sum_{i=1}^{n} w_i x_i \ge \theta, \\
#                   0 & \text{otherwise.} \end{cases}
# $$
#
# A positive weight makes an input *excitatory* (it pushes the unit towards firing), a
# negative one *inhibitory*. (McCulloch and Pitts used an absolute inhibition, where one
# active inhibitory input prevents firing; a large negative weight does the same here.)
# The threshold sets how much excitation is needed: with two inputs of weight 1, a
# threshold of 2 needs both, a threshold of 1 needs either.
#
# ## Logic gates
#
# That observation gives AND and OR at once, and a negative weight gives NOT:
#
# $$
# \text{AND}: w = (1, 1),\ \theta = 2; \qquad \text{OR}: w = (1, 1),\ \theta = 1; \qquad
# \text{NOT}: w = -1,\ \theta = 0 .
# $$
#
# NAND, "not both", fires unless both inputs are on: $x_1 + x_2 < 2$, which for inputs of
# 0 and 1 is $-x_1 - x_2 \ge -1$, so weights $(-1, -1)$ and threshold $-1$. (Flipping
# AND's signs alone, threshold $-2$, would fire for every input: the unit's test is
# $\ge$, so the strict $<$ has to become $\le 1$ first.) Since NAND alone can build any
# logical circuit, a network of threshold units can compute any Boolean function. A classic
# teaching example is a bird that eats an object only if it is purple *and* round: two
# detector inputs, an AND unit, and the bird eats blueberries but not golf balls,
# violets or hot dogs.

# %%
import numpy as np

from nnlearn import classic, experiments, plot

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
for name in ("AND", "OR", "NAND"):
    gate = getattr(classic, name)
    print(f"{name:>4}: weights {gate.weights}, threshold {gate.threshold:>2}: "
          f"{gate(inputs).astype(int).tolist()}")
print(" NOT: ", classic.NOT(np.array([[0], [1]])).astype(int).tolist())
objects = {"blueberry": [1, 1], "golf ball": [0, 1], "violet": [1, 0], "hot dog": [0, 0]}
print("the bird eats:", [name for name, x in objects.items()
                         if classic.BLUEBERRY_BIRD(np.array([x]))[0]])
# NAND is OR negated (its line is OR's, its side flipped); AND with its signs flipped alone
# would fire for every input
assert np.array_equal(classic.NAND.weights, -classic.OR.weights)
assert classic.NAND.threshold == -classic.OR.threshold
assert (inputs @ -classic.AND.weights >= -classic.AND.threshold).all()

# %% [markdown]
# The truth tables come out as designed: AND fires only for $(1, 1)$, OR for everything
# but $(0, 0)$, NAND for everything but $(1, 1)$, NOT inverts, and the bird eats only the
# blueberry. The weights are not unique: AND also works with weights $(2, 2)$ and
# threshold 3, or $(1, 1)$ and threshold 1.5 (exercise 1).
#
# ## The geometry: a line through the square
#
# For two inputs, the unit fires on one side of the line $w_1 x_1 + w_2 x_2 = \theta$ and
# is silent on the other. A gate is computable by one unit exactly when a line can
# separate the input corners where it should fire from those where it should not: the
# problem must be *linearly separable*. The experiment draws every gate with its line:

# %%
result = experiments.run("mcp-gates", quick=True)
gates = result.numbers
print(result.summary())
print("\nWhat to notice:", experiments.get("mcp-gates").notice)
result.figures["gates"]

# %% [markdown]
# In the top row each panel shows the four input corners, red where the gate fires and
# blue where it does not, the threshold line in black and the side where the unit fires
# shaded. For AND the line cuts off the corner $(1, 1)$; for OR it cuts off $(0, 0)$ from
# the other three; NAND's line is OR's own, $x_1 + x_2 = 1$ (weights $(-1, -1)$ and
# threshold $-1$ are OR's negated), with the firing side flipped: it cuts off $(1, 1)$,
# and the two corners on the line fire for both gates. NOT, bottom left, has a single
# input: the line becomes a point, $x = 0$, and the unit fires on its left.
#
# ## XOR needs two layers
#
# Exclusive or fires when exactly one input is on: $(0, 1)$ and $(1, 0)$, on one diagonal
# of the square, against $(0, 0)$ and $(1, 1)$ on the other. No line separates the two
# diagonals, so no single threshold unit computes XOR (exercise 2 checks every small
# integer choice of weights and threshold). Written in logic, though, XOR is a
# combination of gates we have,
#
# $$
# x_1 \oplus x_2 = (x_1 \lor x_2) \land \lnot(x_1 \land x_2) =
# \text{AND}\big(\text{OR}(x_1, x_2),\ \text{NAND}(x_1, x_2)\big) ,
# $$
#
# so two layers of units compute it: an OR unit and a NAND unit read the inputs, and an
# AND unit reads them. The bottom-middle panel shows how: the OR unit fires on and above
# the line $x_1 + x_2 = 1$ (purple hatching), the NAND unit on and below it (green), and
# the AND unit fires where both do, which among the four corners are exactly $(0, 1)$
# and $(1, 0)$. The hidden units have re-described the input so that the output unit's
# job becomes linearly separable.

# %%
print("XOR, two layers:", classic.XOR(inputs).astype(int).tolist())
assert gates["truth_tables"]["XOR"] == [0, 1, 1, 0]
plot.draw_network([2, 2, 1])

# %% [markdown]
# The diagram is the 2-2-1 network: two inputs, two hidden units (OR and NAND), one
# output unit (AND), and the bias units (+1) that carry the thresholds as weights. The
# same 2-2-1 shape, with smooth units and learned weights, is the network of lesson 5.
#
# ## Thresholds as biases
#
# Moving the threshold to the left-hand side turns it into one more weight, attached to
# an input that is always 1:
#
# $$
# \sum_{i=1}^{n} w_i x_i \ge \theta \iff \sum_{i=1}^{n} w_i x_i + b \cdot 1 \ge 0,
# \qquad b = -\theta .
# $$
#
# That is what the "+1" units of the diagram are, and why every later lesson writes a
# unit as $w \cdot x + b$ compared with zero. It matters for learning: a rule that
# adjusts weights can then adjust the threshold too, without a separate rule, simply by
# treating $b$ as the weight of the constant input.
#
# ## A unit of your own
#
# `MCPNeuron(weights, threshold)` makes any unit. Weights $(1, 1)$ with threshold 1 is OR;
# the same weights with threshold 2 would be AND:

# %%
neuron = classic.MCPNeuron(weights=[1, 1], threshold=1)
print(neuron(inputs).astype(int).tolist())

# %% [markdown]
# ## Where it fails
#
# A McCulloch-Pitts network can represent any Boolean function, but someone has to
# design it: the weights and thresholds come from the designer's understanding of the
# problem, and a new problem needs a new design. For a problem with hundreds of inputs,
# such as recognizing a handwritten digit from its pixels, nobody can write the weights
# down. The units are also all-or-nothing, so a small change of a weight either changes
# nothing or flips an output; there is no gradual improvement to follow. Both limits are
# lifted in the next lessons: Hebb's and Rosenblatt's rules learn the weights from
# examples (lesson 2), and smooth units make gradual improvement possible (lessons 3
# to 5).
#
# ## Exercises
#
# **Exercise 1 (other weights for AND).** Find two more (weights, threshold) pairs that
# compute AND, and one that computes OR with unequal weights. Check them.

# %% [markdown] tags=["solution"]
# *Solution.* Any line that cuts off the corner $(1, 1)$ alone works for AND: $w = (2,
# 2)$ with $\theta = 3$, or $w = (1, 1)$ with $\theta = 1.5$. For OR the line must cut off
# $(0, 0)$ alone: $w = (1, 2)$ with $\theta = 1$ works, since each input alone reaches the
# threshold.

# %% tags=["solution"]
target_and, target_or = [0, 0, 0, 1], [0, 1, 1, 1]
for weights, threshold, target in (([2, 2], 3, target_and), ([1, 1], 1.5, target_and),
                                   ([1, 2], 1, target_or)):
    out = classic.MCPNeuron(weights, threshold)(inputs).astype(int).tolist()
    print(weights, threshold, out)
    assert out == target

# %% [markdown]
# **Exercise 2 (no single unit computes XOR).** Try every integer weight pair and
# threshold from $-3$ to $3$ and count the units whose truth table is XOR's. Then prove
# that the count must be zero.

# %% [markdown] tags=["solution"]
# *Solution.* The search finds none. Proof: XOR needs $0 < \theta$ (from $(0, 0)$ silent),
# $w_1 \ge \theta$ and $w_2 \ge \theta$ (from $(1, 0)$ and $(0, 1)$ firing), and $w_1 + w_2 <
# \theta$ (from $(1, 1)$ silent). Adding the middle two gives $w_1 + w_2 \ge 2\theta >
# \theta$, contradicting the last. No weights exist, integer or not.

# %% tags=["solution"]
found = 0
for w1 in range(-3, 4):
    for w2 in range(-3, 4):
        for theta in range(-3, 4):
            if classic.MCPNeuron([w1, w2], theta)(inputs).astype(int).tolist() == [0, 1, 1, 0]:
                found += 1
print("units computing XOR:", found)
assert found == 0

# %% [markdown]
# **Exercise 3 (XOR the other way).** XOR is also $(x_1 \land \lnot x_2) \lor (\lnot x_1
# \land x_2)$. Build it as a two-layer network with `MCPNetwork`: two hidden units, each
# firing for one of the two corners, and an OR on top.

# %% [markdown] tags=["solution"]
# *Solution.* "$x_1$ and not $x_2$" is one unit with weights $(1, -1)$ and threshold 1:
# only $(1, 0)$ reaches 1. Its mirror image has weights $(-1, 1)$. The output OR fires
# when either hidden unit does.

# %% tags=["solution"]
only_first = classic.MCPNeuron([1, -1], 1)
only_second = classic.MCPNeuron([-1, 1], 1)
xor = classic.MCPNetwork([[only_first, only_second], [classic.OR]])
print(xor(inputs).astype(int).tolist())
assert xor(inputs).astype(int).tolist() == [0, 1, 1, 0]

# %% [markdown]
# **Exercise 4 (majority of three).** Design one unit with three inputs that fires when
# at least two of them are on, and check all eight input patterns.

# %% [markdown] tags=["solution"]
# *Solution.* Weights $(1, 1, 1)$ and threshold 2: the sum counts the active inputs. The
# majority function is linearly separable (a plane cuts the cube's four corners with
# two or more ones from the other four), so one unit suffices.

# %% tags=["solution"]
cube = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)])
majority = classic.MCPNeuron([1, 1, 1], 2)(cube).astype(int)
print(np.column_stack([cube, majority]))
assert majority.tolist() == [int(row.sum() >= 2) for row in cube]

# %% [markdown]
# ## Sources
#
# - W. S. McCulloch & W. Pitts, "A logical calculus of the ideas immanent in nervous
#   activity", *Bulletin of Mathematical Biophysics* 5, 115-133, 1943.
# - M. Minsky & S. Papert, *Perceptrons*, MIT Press, 1969 (what one layer of threshold
#   units can and cannot compute).
# - L. Fausett, *Fundamentals of Neural Networks*, Prentice Hall, 1994, ch. 1-2 (the
#   gates as McCulloch-Pitts units).
