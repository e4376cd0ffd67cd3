"""Jinja2 templates and CSS of verifier's reports, installed as ``verifier.report_templates`` and read
as package resources (``jinja2.PackageLoader``, ``importlib.resources``)."""
