"""The HTTP layer: request schemas, routes, problem details, middleware. The only code that knows Starlette."""
