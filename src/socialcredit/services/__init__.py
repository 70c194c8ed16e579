"""The service layer: every use case of the registry, called alike by the CLI, HTTP and tests."""
