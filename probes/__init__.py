"""Built-in verifier probes, registered through the ``verifier.probes`` entry-point group.

The folder ``probes/`` is installed as ``verifier.builtin_probes`` (``package-dir`` in
``pyproject.toml``): inside verifier's namespace, beside the contract they implement
(``verifier.probe``), and never as a top-level package of its own. Its modules import each other
relatively (``from ._http import …``), since the folder does not carry the name it is installed
under; everything else they use is verifier's public contract and toolkit.
"""
