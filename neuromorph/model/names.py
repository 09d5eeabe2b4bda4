"""Names a data file may give its parameters (model files and network-file populations).

A parameter becomes an entry of the namespace Brian2 resolves the equations in, and the
lowering substitutes its value for every occurrence of the name. A parameter named like a
Brian2 unit (``mV``), constant (``pi``), function (``exp``) or variable (``t``,
``lastspike``) would mean one thing to Brian2 and another to the lowering, so such names
are refused, with Brian2's own identifier rules besides.
"""
from __future__ import annotations

from typing import Annotated

import brian2
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS
from pydantic import StringConstraints

from ..schema import IDENTIFIER_PATTERN, name_check
from .functions import ADDED_TO_BRIAN2

#: Functions neuromorph adds to the Brian2 namespace of every model.
NEUROMORPH_FUNCTIONS = ADDED_TO_BRIAN2
#: Name of the TimedArray that feeds the stimulus into Brian2.
RESERVED = ("neuromorph_stimulus",)
#: Variables Brian2 defines in a group: time, time step, index, size, and the refractory
#: mechanism's ``lastspike`` and ``not_refractory`` (a group variable hides a parameter).
BRIAN2_VARIABLES = ("t", "dt", "t_in_timesteps", "i", "N", "lastspike", "not_refractory")

#: What the names of :data:`RESERVED` are, in messages.
INTERNAL = "name neuromorph uses internally"
#: (what the name is, names): every name a parameter may not take besides Brian2's identifier
#: rules (Python keywords, a leading underscore, ``xi`` and ``xi_*``).
SHADOWED = (("Brian2 unit", tuple(DEFAULT_UNITS)), ("Brian2 constant", tuple(DEFAULT_CONSTANTS)),
            ("Brian2 function", tuple(DEFAULT_FUNCTIONS)), ("neuromorph function", NEUROMORPH_FUNCTIONS),
            ("Brian2 variable", BRIAN2_VARIABLES), (INTERNAL, RESERVED))


def builtin_names() -> frozenset[str]:
    """Every name the code of a model may use without defining it (units, constants, functions, variables)."""
    return frozenset(name for kind, names in SHADOWED if kind != INTERNAL for name in names)


def parameter_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a parameter, or None if it can."""
    for kind, names in SHADOWED:
        if name in names:
            return (f"'{name}' is a {kind}; a parameter may not shadow a unit, "
                    "constant, function or variable: rename it")
    try:
        brian2.Equations.check_identifier(name)
    except (SyntaxError, ValueError) as exc:
        return f"{str(exc).rstrip('.')}; rename it"
    return None


#: A parameter name: an identifier that shadows nothing Brian2 or neuromorph defines.
ParameterName = Annotated[str, StringConstraints(max_length=64, pattern=IDENTIFIER_PATTERN),
                          name_check(parameter_name_problem)]
