from web.auth import password  # noqa: F401  (routes: the one-time password link)
from web.auth.routes import bp

__all__ = ["bp"]
