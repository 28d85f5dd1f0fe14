"""nnlearn._registry: name lookup with close-match suggestions (shared by activations,
losses, initializers, regularizers, optimizers, schedules and metrics), reverse lookup,
and the constructor repr."""

import pytest

from nnlearn._registry import constructor_repr, lookup, name_of
from nnlearn.optimizers import SGD

TABLE = {"relu": "RELU", "leaky_relu": "LEAKY", "tanh": "TANH", "sigmoid": "SIGMOID"}


def test_lookup_finds_names_in_any_case_and_passes_callables_through():
    assert lookup("activation", TABLE, "tanh") == "TANH"
    assert lookup("activation", TABLE, "LeAkY_ReLU") == "LEAKY"

    def custom(x):
        return x

    assert lookup("activation", TABLE, custom) is custom


def test_unknown_name_suggests_close_matches_and_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        lookup("activation", TABLE, "rellu", argument="hidden_activation")
    message = str(info.value)
    assert message.startswith("hidden_activation: unknown activation 'rellu'.")
    assert "Did you mean 'relu'" in message
    assert message.endswith("Known: leaky_relu, relu, sigmoid, tanh.")
    # several close names, best first, joined with "or"
    with pytest.raises(ValueError, match="Did you mean 'leaky_relu' or 'relu'\\?"):
        lookup("activation", TABLE, "leakyrelu")
    # nothing close: no suggestion, the kind stands in for the argument's name
    with pytest.raises(ValueError) as info:
        lookup("activation", TABLE, "softmax")
    assert "Did you mean" not in str(info.value)
    assert str(info.value).startswith("activation: unknown activation 'softmax'.")


@pytest.mark.parametrize("identifier, type_name", [(3, "int"), (None, "NoneType"),
                                                   (["relu"], "list")])
def test_lookup_of_neither_a_name_nor_a_callable_is_a_type_error(identifier, type_name):
    with pytest.raises(TypeError, match=f"loss must be a name \\(str\\) or a callable; "
                                        f"got {type_name}"):
        lookup("activation", TABLE, identifier, argument="loss")


def test_name_of_gives_the_first_registered_name():
    def f():
        pass

    table = {"silu": f, "swish": f, "other": len}
    assert name_of(table, f) == "silu"
    assert name_of(table, len) == "other"
    assert name_of(table, print) is None


def test_constructor_repr_shows_only_the_arguments_off_their_defaults():
    sgd = SGD(0.05, momentum=0.9)
    assert constructor_repr(sgd, sgd.get_config()) == "SGD(learning_rate=0.05, momentum=0.9)"
    default = SGD()
    assert constructor_repr(default, default.get_config()) == "SGD()"
    assert constructor_repr(default, {"learning_rate": 0.01, "nesterov": True}) == \
        "SGD(nesterov=True)"
