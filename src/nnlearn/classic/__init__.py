"""Classic neurons (McCulloch & Pitts 1943 to Hopfield 1982) and linear models, in plain
NumPy."""

from .linear import Lasso, LinearRegression, LogisticRegression, Ridge, SoftmaxRegression
from .neurons import (AND, BLUEBERRY_BIRD, NAND, NOT, OR, XOR, Adaline, HebbNeuron,
                      HopfieldNetwork, MCPNetwork, MCPNeuron, Perceptron, separating_line)

__all__ = ["MCPNeuron", "MCPNetwork", "AND", "OR", "NOT", "NAND", "XOR", "BLUEBERRY_BIRD",
           "HebbNeuron", "Perceptron", "Adaline", "HopfieldNetwork", "separating_line",
           "LinearRegression", "LogisticRegression", "SoftmaxRegression", "Ridge", "Lasso"]
