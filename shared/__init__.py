"""Contracts and common code shared by the four services.

Events, the CloudEvents envelope and topic names are defined here and nowhere
else; the services import them.
"""
