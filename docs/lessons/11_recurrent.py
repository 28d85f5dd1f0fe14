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
# # Lesson 11 - Recurrent networks
#
# A recurrent network "can use current and previous inputs, in time": it reads a sequence
# one step at a time and carries a state from step to step (Elman 1990). Trained by
# backpropagation through time (Werbos 1990) it is "extremely hard to train" over long
# delays: the gradient through T steps is a product of T Jacobians and vanishes or
# explodes (Hochreiter 1991; Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio
# 2013). The LSTM's key idea (Hochreiter & Schmidhuber 1997; Gers et al. 2000) is to let
# the cell state through, potentially forgetting past inputs via a sigmoid gate; the GRU
# (Cho et al. 2014) gates its state the same way.
#
# Experiments: `rnn-sine`, `vanishing-gradients` (quick sizes here).

# %%
from nnlearn import experiments

result = experiments.run("rnn-sine", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("rnn-sine").notice)
result.figures["forecast"]

# %%
result = experiments.run("vanishing-gradients", quick=True)
print(result.summary())
print("\nWhat to notice:", experiments.get("vanishing-gradients").notice)
result.figures["gradient_through_time"]

# %%
result.figures["adding_problem"]

# %%
result.figures["clipping"]
