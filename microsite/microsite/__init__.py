"""microsite: the ECS lab's backend, a small JSON service over PostgreSQL.

One process, one asyncio event loop (uvloop when installed), an HTTP/1.1 server built on
httptools' parser and an asyncpg connection pool. `python -m microsite` runs it.
"""

SERVICE_NAME = "microsite"
__version__ = "1.0.0"
