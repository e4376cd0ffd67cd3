"""A probe written outside verifier's ``probes/``, as a third party would ship it in its own package:
it imports only the public contract (``verifier.probe``) and toolkit (``verifier.probekit``), and
declares its own presentation. ``tests/test_probe_third_party.py`` registers it through a
``*.dist-info/entry_points.txt`` on the path of a real ``verifier run``."""
