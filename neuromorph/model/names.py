"""Names a model file may give its parameters.

A parameter becomes an entry of the namespace Brian2 resolves the equations in, and the
lowering substitutes its value for every occurrence of the name. A parameter named like a
Brian2 unit (``mV``), constant (``pi``), function (``exp``) or special variable (``t``)
would mean one thing to Brian2 and another to the lowering, so such names are refused
with Brian2's own identifier rules.
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

_KINDS = (("unit", DEFAULT_UNITS), ("constant", DEFAULT_CONSTANTS), ("function", DEFAULT_FUNCTIONS),
          ("function", NEUROMORPH_FUNCTIONS), ("name neuromorph uses internally", RESERVED))


def parameter_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a parameter, or None if it can."""
    for kind, names in _KINDS:
        if name in names:
            return (f"'{name}' is the name of a Brian2 {kind}; a parameter may not shadow a unit, "
                    "constant or function: rename it")
    try:
        brian2.Equations.check_identifier(name)
    except (SyntaxError, ValueError) as exc:
        return f"{str(exc).rstrip('.')}; rename it"
    return None


#: A parameter name: an identifier that shadows nothing Brian2 or neuromorph defines.
ParameterName = Annotated[str, StringConstraints(max_length=64, pattern=IDENTIFIER_PATTERN),
                          name_check(parameter_name_problem)]
