"""One module per command: each holds ``X_config``, ``X`` and its ``XResult``.

Tasks turn the layers below (features, models, evaluate, decide) into what a command
answers; pipeline, serve, report and the CLI call them.
"""
