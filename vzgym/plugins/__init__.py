"""Plugin system: pluggy hook specs, the ``hookimpl`` marker and the plugin manager.

Write a plugin::

    from vzgym.plugins import hookimpl

    @hookimpl
    def register_envs(register):
        register("my-game", "my_pkg.game:MyGame", description="One line.")

and expose the module in your package's ``pyproject.toml``::

    [project.entry-points.vzgym]
    my_game = "my_pkg.plugin"
"""

from vzgym.plugins.hookspecs import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
