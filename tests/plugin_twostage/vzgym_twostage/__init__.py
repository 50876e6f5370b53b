"""A two-stage test game, loaded only through the ``vzgym`` entry point (see test_plugin_stages)."""
