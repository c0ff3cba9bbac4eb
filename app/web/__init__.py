"""The HTTP layer: routes, reading bodies, problem details over HTTP, middleware, the hardened
protocol. The only code that knows Starlette."""
