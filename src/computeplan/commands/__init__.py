"""Command layer shared by the CLI and the web API.

One module per command. Each exposes a function taking plain keyword arguments (named like the
CLI options, in snake case) that validates them, calls the numerical core and returns a result
object with ``to_dict()``: the CLI renders it as a table or prints its JSON, the web API returns
the same JSON. Shells only parse and render; all input rules live here.
"""
