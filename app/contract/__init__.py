"""The contract: request models, validation errors as field errors, presenters, and the operations
both front doors use (the HTTP API in app/web, the auditor's command line in app/cli.py).

HTTP-free: nothing here imports Starlette. JSON pointers into request bodies are built here and
only here; the domain (app/territoriality) reports typed locations (which physician, which field).
"""
