"""Built-in verifier probes, registered through the ``verifier.probes`` entry-point group."""
