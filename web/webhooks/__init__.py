from web.webhooks.routes import bp

__all__ = ["bp"]
