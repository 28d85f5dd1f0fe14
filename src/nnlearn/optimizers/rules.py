r"""The first-order rules as element-wise transforms (:mod:`.transforms`): each rescales
the gradient $g_t$ into a descent direction $u_t$ (or, for momentum, a step), with its own
state, written once as the equation below and lowered onto :mod:`nnlearn.lowering.loops`.

The Keras-style classes (:mod:`.first_order`) are these chained with
:func:`~.transforms.scale_by_learning_rate`: for instance
``Adam = chain(scale_by_adam(...), scale_by_learning_rate(alpha))``.  Keras's default
hyperparameters unless a paper fixes them.
"""

from __future__ import annotations

import numpy as np

from ._arguments import fraction, nonnegative, smallest_normal
from .transforms import ElementwiseTransform

__all__ = ["scale_by_momentum", "scale_by_adagrad", "scale_by_adadelta", "scale_by_rms",
           "scale_by_adam", "scale_by_nadam", "ScaleByMomentum", "ScaleByAdagrad",
           "ScaleByAdadelta", "ScaleByRms", "ScaleByAdam", "ScaleByNadam"]


# -- momentum (Polyak 1964; Nesterov 1983) -----------------------------------------------------
def heavy_ball(u, velocity, mu, tiny):
    velocity = velocity * mu + u
    velocity *= abs(velocity) >= tiny                     # flush denormals
    return velocity, velocity


def nesterov_momentum(u, velocity, mu, tiny):
    velocity = velocity * mu + u
    velocity *= abs(velocity) >= tiny
    return u + velocity * mu, velocity


class ScaleByMomentum(ElementwiseTransform):
    r"""Momentum on steps (after the learning rate: $u_t = -\alpha_t g_t$), Keras's
    velocity:

    $$v_t = \mu v_{t-1} + u_t; \qquad u \leftarrow v_t \quad \text{(heavy ball, Polyak 1964)}$$
    $$u \leftarrow u_t + \mu v_t \quad \text{(Nesterov 1983)}$$

    Nesterov's form is Sutskever et al. (2013)'s $v_{t+1} = \mu v_t - \alpha
    g(W_t + \mu v_t)$ written for the look-ahead point $W + \mu v$ (Bengio et al. 2012),
    so the gradient is the one at the current parameters.  Placed after the rate, the
    velocity is a sum of past steps: a schedule changes the new steps only."""

    slots = ("velocity",)

    def __init__(self, momentum: float = 0.9, nesterov: bool = False):
        self.momentum = fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.rule = nesterov_momentum if self.nesterov else heavy_ball

    def numbers(self, state, dtype):
        return (self.momentum, smallest_normal(dtype))


def scale_by_momentum(momentum: float = 0.9, nesterov: bool = False) -> ScaleByMomentum:
    r"""Momentum on steps: $v \leftarrow \mu v + u$, then $u \leftarrow v$ (or $u + \mu v$,
    Nesterov); goes after :func:`~.transforms.scale_by_learning_rate`."""
    return ScaleByMomentum(momentum, nesterov)


# -- Adagrad (Duchi et al. 2011) ------------------------------------------------------------
def adagrad(u, accumulator, eps):
    accumulator = accumulator + u * u
    return u / np.sqrt(accumulator + eps), accumulator


class ScaleByAdagrad(ElementwiseTransform):
    r"""Adagrad (Duchi et al. 2011), diagonal form:

    $$G_t = G_{t-1} + g_t^2; \qquad u_t = \frac{g_t}{\sqrt{G_t + \epsilon}}$$

    $G_0$ = ``initial_accumulator_value`` (Keras: 0.1)."""

    slots = ("accumulator",)
    rule = staticmethod(adagrad)

    def __init__(self, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7):
        self.initial_accumulator_value = nonnegative(initial_accumulator_value,
                                                     "initial_accumulator_value")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def initial_value(self, slot):
        return self.initial_accumulator_value

    def numbers(self, state, dtype):
        return (self.epsilon,)


def scale_by_adagrad(initial_accumulator_value: float = 0.1,
                     epsilon: float = 1e-7) -> ScaleByAdagrad:
    r"""Adagrad's $u = g / \sqrt{G + \epsilon}$, $G$ the sum of squared gradients."""
    return ScaleByAdagrad(initial_accumulator_value, epsilon)


# -- Adadelta (Zeiler 2012) -----------------------------------------------------------------
def adadelta(u, mean_square_gradient, mean_square_update, rho, one_minus_rho, eps, tiny):
    eg2 = mean_square_gradient * rho + one_minus_rho * u * u    # E[g^2]_t
    eg2 *= eg2 >= tiny                                          # flush denormals
    dw = np.sqrt(mean_square_update + eps) / np.sqrt(eg2 + eps) * u  # RMS[dW]_{t-1}/RMS[g]_t g
    edw2 = mean_square_update * rho + one_minus_rho * dw * dw   # E[dW^2]_t
    edw2 *= edw2 >= tiny
    return dw, eg2, edw2


class ScaleByAdadelta(ElementwiseTransform):
    r"""Adadelta (Zeiler 2012, Algorithm 1):

    $$E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2; \qquad
      u_t = \frac{\sqrt{E[\Delta W^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}} g_t;
      \qquad E[\Delta W^2]_t = \rho E[\Delta W^2]_{t-1} + (1 - \rho) u_t^2$$

    Zeiler's rule has no learning rate ($\alpha = 1$); $\rho = 0.95$,
    $\epsilon = 10^{-6}$ are the paper's values."""

    slots = ("mean_square_gradient", "mean_square_update")
    rule = staticmethod(adadelta)

    def __init__(self, rho: float = 0.95, epsilon: float = 1e-6):
        self.rho = fraction(rho, "rho")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def numbers(self, state, dtype):
        return (self.rho, 1 - self.rho, self.epsilon, smallest_normal(dtype))


def scale_by_adadelta(rho: float = 0.95, epsilon: float = 1e-6) -> ScaleByAdadelta:
    """Adadelta's direction (Zeiler 2012)."""
    return ScaleByAdadelta(rho, epsilon)


# -- RMSprop (Tieleman & Hinton 2012) -------------------------------------------------------
def rms(u, mean_square, rho, one_minus_rho, eps, tiny):
    mean_square = mean_square * rho + u * u * one_minus_rho    # E[g^2]_t
    mean_square *= mean_square >= tiny                         # flush denormals
    return u / np.sqrt(mean_square + eps), mean_square


class ScaleByRms(ElementwiseTransform):
    r"""RMSprop (Tieleman & Hinton 2012, Coursera lecture 6e), Keras's form:

    $$E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2; \qquad
      u_t = \frac{g_t}{\sqrt{E[g^2]_t + \epsilon}}$$"""

    slots = ("mean_square",)
    rule = staticmethod(rms)

    def __init__(self, rho: float = 0.9, epsilon: float = 1e-7):
        self.rho = fraction(rho, "rho")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def numbers(self, state, dtype):
        return (self.rho, 1 - self.rho, self.epsilon, smallest_normal(dtype))


def scale_by_rms(rho: float = 0.9, epsilon: float = 1e-7) -> ScaleByRms:
    """RMSprop's direction (Tieleman & Hinton 2012)."""
    return ScaleByRms(rho, epsilon)


# -- Adam (Kingma & Ba 2015), AMSGrad (Reddi et al. 2018), Nadam (Dozat 2016) --------------------
# The bias corrections enter as reciprocals, 1 / (1 - beta^t), computed once per step: one
# division per element instead of three (the loop is bound by divisions; same to rounding).
def adam(u, m, v, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, inverse_correction_1,
         inverse_correction_2, eps, tiny):
    m = m * beta_1 + u * one_minus_beta_1                      # m_t
    v = v * beta_2 + u * u * one_minus_beta_2                  # v_t
    m *= abs(m) >= tiny                                        # flush denormals
    v *= v >= tiny
    return m * inverse_correction_1 / (np.sqrt(v * inverse_correction_2) + eps), m, v


def adam_amsgrad(u, m, v, v_max, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                 inverse_correction_1, inverse_correction_2, eps, tiny):
    m = m * beta_1 + u * one_minus_beta_1
    v = v * beta_2 + u * u * one_minus_beta_2
    m *= abs(m) >= tiny
    v *= v >= tiny
    v_max = np.maximum(v_max, v)                               # Reddi et al.'s max
    return (m * inverse_correction_1 / (np.sqrt(v_max * inverse_correction_2) + eps), m, v,
            v_max)


class ScaleByAdam(ElementwiseTransform):
    r"""Adam (Kingma & Ba 2015, Algorithm 1):

    $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t; \qquad
      v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2$$
    $$u_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}, \qquad
      \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}$$

    ``amsgrad=True`` (Reddi et al. 2018) divides by the running maximum of $v$ instead
    (bias-corrected the same way).  ``epsilon_hat=True`` is the paper's "efficient" form
    (section 2, as scikit-learn writes it): $u_t = \frac{\sqrt{1 - \beta_2^t}}{1 -
    \beta_1^t} \frac{m_t}{\sqrt{v_t} + \hat\epsilon}$, epsilon added to $\sqrt{v}$ rather
    than to $\sqrt{\hat v}$."""

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, epsilon_hat: bool = False):
        self.beta_1 = fraction(beta_1, "beta_1")
        self.beta_2 = fraction(beta_2, "beta_2")
        self.epsilon = nonnegative(epsilon, "epsilon")
        self.amsgrad, self.epsilon_hat = bool(amsgrad), bool(epsilon_hat)
        self.slots = ("m", "v", "v_max") if self.amsgrad else ("m", "v")
        self.rule = adam_amsgrad if self.amsgrad else adam

    def numbers(self, state, dtype):
        t = state.count
        correction_1, correction_2 = 1 - self.beta_1 ** t, 1 - self.beta_2 ** t
        if self.epsilon_hat:  # the corrections in the step: epsilon added to sqrt(v)
            correction_1, correction_2 = correction_1 / np.sqrt(correction_2), 1.0
        return (self.beta_1, 1 - self.beta_1, self.beta_2, 1 - self.beta_2, 1 / correction_1,
                1 / correction_2, self.epsilon, smallest_normal(dtype))


def scale_by_adam(beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                  amsgrad: bool = False, epsilon_hat: bool = False) -> ScaleByAdam:
    r"""Adam's direction $\hat m / (\sqrt{\hat v} + \epsilon)$ (Kingma & Ba 2015)."""
    return ScaleByAdam(beta_1, beta_2, epsilon, amsgrad, epsilon_hat)


def nadam(u, m, v, c_m, c_g, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
          inverse_correction_2, eps, tiny):
    m = m * beta_1 + u * one_minus_beta_1
    v = v * beta_2 + u * u * one_minus_beta_2
    m *= abs(m) >= tiny
    v *= v >= tiny
    # m_hat = c_m m + c_g g: the two coefficients of Dozat's Nesterov momentum
    return (c_m * m + c_g * u) / (np.sqrt(v * inverse_correction_2) + eps), m, v


class ScaleByNadam(ElementwiseTransform):
    r"""Nadam (Dozat 2016): Adam with Nesterov momentum and the momentum schedule
    $\mu_t = \beta_1 (1 - \frac12 0.96^{0.004 t})$:

    $$\hat m_t = \frac{\mu_{t+1} m_t}{1 - \prod_{i \le t+1} \mu_i}
      + \frac{(1 - \mu_t) g_t}{1 - \prod_{i \le t} \mu_i}; \qquad
      u_t = \frac{\hat m_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}$$

    The product $\prod_{i \le t} \mu_i$ is its scalar state (``mu_product``)."""

    slots = ("m", "v")
    scalars = ("mu_product",)
    rule = staticmethod(nadam)

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7):
        self.beta_1 = fraction(beta_1, "beta_1")
        self.beta_2 = fraction(beta_2, "beta_2")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def initial_scalars(self):
        return {"mu_product": 1.0}

    def mu(self, t: int) -> float:
        """The momentum schedule mu_t."""
        return self.beta_1 * (1 - 0.5 * 0.96 ** (0.004 * t))

    def numbers(self, state, dtype):
        t = state.count
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        product_t = state.scalars["mu_product"] * mu_t   # the stored product ends at t - 1
        c_m = mu_next / (1 - product_t * mu_next)
        c_g = (1 - mu_t) / (1 - product_t)
        return (c_m, c_g, self.beta_1, 1 - self.beta_1, self.beta_2, 1 - self.beta_2,
                1 / (1 - self.beta_2 ** t), self.epsilon, smallest_normal(dtype))

    def end_step(self, state):
        state.scalars["mu_product"] *= self.mu(state.count)


def scale_by_nadam(beta_1: float = 0.9, beta_2: float = 0.999,
                   epsilon: float = 1e-7) -> ScaleByNadam:
    """Nadam's direction (Dozat 2016)."""
    return ScaleByNadam(beta_1, beta_2, epsilon)
