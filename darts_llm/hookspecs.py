"""Hook specifications that plugins implement.

A plugin is a module or object with functions decorated by :data:`hookimpl`, exposed through the
``darts_llm`` entry-point group of its distribution::

    [project.entry-points.darts_llm]
    my_plugin = "my_package.plugin"
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("darts_llm")
hookimpl = pluggy.HookimplMarker("darts_llm")


@hookspec
def darts_llm_register_encoders(register):
    """Register text encoders.

    Call ``register(name, factory, description="")`` once per encoder; ``factory(**kwargs)`` must return a
    :class:`~darts_llm.encoders.base.TextEncoder`.
    """


@hookspec
def darts_llm_register_models(register):
    """Register forecasting model classes.

    Call ``register(model_class)`` (registered under ``model_class.__name__``) or
    ``register(model_class, name="...")``. ``model_class`` may also be a ``"package.module:ClassName"`` string:
    the module is then imported only when the model is looked up, which keeps ``darts-llm list`` fast.
    """
