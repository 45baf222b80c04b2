"""Jinja2 templates, print CSS and the small inline script of the HTML and PDF reports.

Loaded with importlib.resources (auditor.report.html), so they work from an installed wheel.
"""
