"""The ``cnnlab`` command line: one module per subcommand, parsing only."""
