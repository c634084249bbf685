"""``cnnlab serve``: a browser lab for your own model.

:mod:`cnnlab.serve.api` does the work (plain functions on the lab's packages),
:mod:`cnnlab.serve.app` maps routes to it (Flask), ``static/`` is the one page.
"""
