"""The dashboard wing: the page for the team and leadership, and the shares reports.

``router`` serves the page (``static/``), its snapshot and stream, and the shares exports;
``snapshot`` builds the page's JSON document, ``charts`` lays out and draws the shares chart,
``exports`` writes the shares CSV. The composition root needs only ``dashboard_router``.
"""

from capacity.dashboard.router import dashboard_router

__all__ = ["dashboard_router"]
