"""microsite: the ECS lab's backend, a small JSON service over PostgreSQL.

One process, one uvloop event loop, uvicorn (httptools protocol) serving a raw ASGI
adapter over the routes, asyncpg connections in a small pool of the service's own.
`python -m microsite` runs it.
"""

SERVICE_NAME = "microsite"
__version__ = "1.0.0"
